"""A webhook receiver on loopback: records every request (raw body and headers) and answers as the test says,
request by request. It speaks real HTTP; the tests verify what arrives with the `standardwebhooks` library."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.fixtures.server import serve_in_thread


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float


@dataclass
class Answer:
    status: int = 200
    body: str = "ok"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering (a hanging receiver)


@dataclass
class WebhookSink:
    url: str
    received: list[Received] = field(default_factory=list)
    # Answers for the requests to come, in order; afterwards `default`.
    script: list[Answer] = field(default_factory=list)
    default: Answer = field(default_factory=Answer)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def at(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.path == path]

    def wait_for(self, count: int, path: str = "/hook", timeout: float = 15.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.at(path)
            if len(got) >= count:
                return got
            time.sleep(0.02)
        raise AssertionError(f"{len(self.at(path))} requests to {path}, expected {count}: {self.received!r}")


@contextmanager
def webhook_sink(answer: Callable[[Received], Answer | None] | None = None) -> Iterator[WebhookSink]:
    sink = WebhookSink(url="")

    async def receive(request: Request) -> Response:
        got = Received(request.url.path, dict(request.headers), await request.body(), time.monotonic())
        with sink.lock:
            sink.received.append(got)
            reply = (answer(got) if answer else None) or (sink.script.pop(0) if sink.script else sink.default)
        if reply.delay:
            await asyncio.sleep(reply.delay)
        return Response(reply.body, status_code=reply.status, headers=reply.headers)

    app = Starlette(routes=[Route("/{path:path}", receive, methods=["POST", "GET"])])
    with serve_in_thread(app, "webhook-sink") as url:
        sink.url = url
        yield sink
