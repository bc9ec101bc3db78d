"""A fake OpenAI-compatible Chat Completions server on loopback, scripted by the test.

It speaks the real protocol (`POST /v1/chat/completions`, JSON or server-sent events when `stream` is true,
`data: [DONE]` at the end, OpenAI's error body on failures) so the real OpenAI SDK, through Pydantic AI, talks
to it exactly as it would to a provider. Each request takes the next step of the script:

    with fake_openai_server([call("list_orders"), reply("You have one order.")]) as fake:
        ... point the model's base URL at fake.base_url ...
    fake.requests[1].tool_results()  # what the tools returned, as the model saw it

A step is a `Reply` (text and/or tool calls), a `Fail` (an HTTP error status), a `Cut` (a streamed reply that
stops part-way: the connection dropped, or the stream ended early), or a function of the recorded request
returning one of those. When the script runs out, `default` answers (a 500 unless given), so a test
that expected fewer model calls fails loudly rather than hanging.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.fixtures.server import serve_in_thread

JSONObject: TypeAlias = dict[str, Any]


@dataclass(frozen=True)
class ToolCall:
    """A tool call the fake model makes. `arguments` may be a raw string to send malformed JSON."""

    name: str
    arguments: Mapping[str, Any] | str = field(default_factory=dict)
    id: str | None = None

    def arguments_json(self) -> str:
        return self.arguments if isinstance(self.arguments, str) else json.dumps(dict(self.arguments))


@dataclass(frozen=True)
class Reply:
    """A successful completion: optional text and any tool calls."""

    text: str | None = None
    tool_calls: Sequence[ToolCall] = ()
    input_tokens: int = 10
    output_tokens: int = 5
    cached_tokens: int = 0  # of the input tokens, read from the provider's prompt cache

    @property
    def finish_reason(self) -> str:
        return "tool_calls" if self.tool_calls else "stop"


@dataclass(frozen=True)
class Fail:
    """An HTTP error in OpenAI's error shape. `retry_after_ms` sets `retry-after-ms` (the SDK honours it)."""

    status: int
    message: str = "The fake server failed on purpose."
    type: str = "server_error"
    code: str | None = None
    retry_after_ms: int | None = None


@dataclass(frozen=True)
class Cut:
    """A streamed `reply` that stops after `after` chunks. `drop`: the connection is closed mid-body (the client
    reads an incomplete chunked body); otherwise the body ends cleanly but early: no `finish_reason`, no [DONE].
    A request that is not streamed gets a 500 instead."""

    reply: Reply
    after: int = 3
    drop: bool = True


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the fake received it."""

    method: str
    path: str
    headers: Mapping[str, str]  # lower-cased names
    body: JSONObject

    @property
    def stream(self) -> bool:
        return bool(self.body.get("stream"))

    @property
    def model(self) -> str | None:
        model = self.body.get("model")
        return model if isinstance(model, str) else None

    @property
    def messages(self) -> list[JSONObject]:
        messages = self.body.get("messages", [])
        return [m for m in messages if isinstance(m, dict)] if isinstance(messages, list) else []

    @property
    def tools(self) -> dict[str, JSONObject]:
        """The offered tools' function definitions by name (`description`, `parameters`, …)."""
        offered: dict[str, JSONObject] = {}
        for tool in self.body.get("tools") or []:
            function = tool.get("function", {}) if isinstance(tool, dict) else {}
            if isinstance(function, dict) and isinstance(function.get("name"), str):
                offered[function["name"]] = function
        return offered

    def user_prompts(self) -> list[str]:
        return [str(m.get("content")) for m in self.messages if m.get("role") == "user"]

    def tool_results(self) -> dict[str, str]:
        """The `tool` messages' contents by tool call id."""
        return {str(m.get("tool_call_id")): str(m.get("content")) for m in self.messages if m.get("role") == "tool"}

    def last_message(self) -> JSONObject:
        return self.messages[-1] if self.messages else {}


Outcome: TypeAlias = Reply | Fail | Cut
Step: TypeAlias = Reply | Fail | Cut | Callable[[RecordedRequest], Outcome]


def reply(text: str) -> Reply:
    return Reply(text=text)


def call(name: str, arguments: Mapping[str, Any] | str | None = None, *, id: str | None = None) -> Reply:
    return Reply(tool_calls=[ToolCall(name=name, arguments=arguments if arguments is not None else {}, id=id)])


def fail(status: int, message: str | None = None, *, retry_after_ms: int | None = None) -> Fail:
    kind = {429: "rate_limit_exceeded", 401: "invalid_request_error"}.get(status, "server_error")
    return Fail(
        status=status,
        message=message or f"The fake server answered {status} on purpose.",
        type=kind,
        code=kind if status == 429 else None,
        retry_after_ms=retry_after_ms,
    )


class FakeOpenAI:
    """The server's state: the script still to play and every request received. Thread-safe: the server
    runs in its own thread while the test reads `requests`."""

    def __init__(self, script: Iterable[Step] = (), *, default: Step | None = None) -> None:
        self._script: list[Step] = list(script)
        self._default: Step = default if default is not None else fail(500, "The fake's script is exhausted.")
        self._requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self.url = ""  # set once serving: http://127.0.0.1:<port>

    @property
    def base_url(self) -> str:
        """What an OpenAI client takes as its base URL."""
        return f"{self.url}/v1"

    def server_settings(self) -> dict[str, Any]:
        """Settings for a Switchboard whose model is this fake, each request answered once: no retries by the
        SDK or by the run, so the script plays exactly as written."""
        return {
            "model": "openai-chat:fake-model",
            "llm_base_url": self.base_url,
            "llm_api_key": "test-key",
            "llm_max_retries": 0,
            "model_retries": 0,
        }

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    @property
    def completion_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path == "/v1/chat/completions"]

    def add(self, *steps: Step) -> None:
        with self._lock:
            self._script.extend(steps)

    def replay(self, script: Iterable[Step], *, default: Step | None = None) -> None:
        """Play `script` from now on (what was left of the last one is dropped), then `default` (the script-is-
        exhausted 500 unless given): for a test that plays many short scripts against one server."""
        with self._lock:
            self._script = list(script)
            self._default = default if default is not None else fail(500, "The fake's script is exhausted.")

    @property
    def remaining(self) -> int:
        with self._lock:
            return len(self._script)

    def _next(self, request: RecordedRequest) -> Outcome:
        with self._lock:
            self._requests.append(request)
            step = self._script.pop(0) if self._script else self._default
        return step(request) if callable(step) else step

    def _next_id(self, prefix: str) -> str:
        with self._lock:
            return f"{prefix}-{next(self._ids)}"

    # --- HTTP -----------------------------------------------------------------------------------------

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/v1/chat/completions", self._completions, methods=["POST"]),
                Route("/v1/models", self._models, methods=["GET"]),
            ]
        )

    async def _models(self, request: Request) -> Response:
        return JSONResponse({"object": "list", "data": [{"id": "fake-model", "object": "model", "owned_by": "fake"}]})

    async def _completions(self, request: Request) -> Response:
        try:
            body = json.loads(await request.body())
        except json.JSONDecodeError:
            body = None
        if not isinstance(body, dict):
            return _error_response(
                Fail(status=400, message="Body must be a JSON object.", type="invalid_request_error")
            )
        recorded = RecordedRequest(
            method=request.method,
            path=request.url.path,
            headers={name.lower(): value for name, value in request.headers.items()},
            body=body,
        )
        outcome = self._next(recorded)
        cut = outcome if isinstance(outcome, Cut) else None
        if cut is not None:
            if not recorded.stream:
                return _error_response(fail(500, "The fake cuts only streamed replies."))
            outcome = cut.reply
        if isinstance(outcome, Fail):
            return _error_response(outcome)
        assert isinstance(outcome, Reply)
        model = recorded.model or "fake-model"
        completion_id = self._next_id("chatcmpl")
        calls = [(c, c.id or self._next_id("call")) for c in outcome.tool_calls]
        if recorded.stream:
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            chunks = _chunks(outcome, calls, completion_id, model, include_usage)
            body_bytes = _sse(chunks) if cut is None else _cut_sse(chunks, cut)
            return StreamingResponse(body_bytes, media_type="text/event-stream")
        return JSONResponse(_completion(outcome, calls, completion_id, model))


def _usage(outcome: Reply) -> JSONObject:
    usage: JSONObject = {
        "prompt_tokens": outcome.input_tokens,
        "completion_tokens": outcome.output_tokens,
        "total_tokens": outcome.input_tokens + outcome.output_tokens,
    }
    if outcome.cached_tokens:
        usage["prompt_tokens_details"] = {"cached_tokens": outcome.cached_tokens}
    return usage


def _completion(outcome: Reply, calls: list[tuple[ToolCall, str]], completion_id: str, model: str) -> JSONObject:
    message: JSONObject = {"role": "assistant", "content": outcome.text}
    if calls:
        message["tool_calls"] = [
            {"id": call_id, "type": "function", "function": {"name": c.name, "arguments": c.arguments_json()}}
            for c, call_id in calls
        ]
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": outcome.finish_reason, "logprobs": None}],
        "usage": _usage(outcome),
    }


def _chunks(
    outcome: Reply, calls: list[tuple[ToolCall, str]], completion_id: str, model: str, include_usage: bool
) -> Iterator[JSONObject]:
    created = int(time.time())

    def chunk(delta: JSONObject, finish_reason: str | None = None) -> JSONObject:
        return {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}],
        }

    yield chunk({"role": "assistant", "content": ""})
    if outcome.text:
        # Word by word, as a model streams tokens.
        for piece in _pieces(outcome.text):
            yield chunk({"content": piece})
    for index, (tool_call, call_id) in enumerate(calls):
        opening = {
            "index": index,
            "id": call_id,
            "type": "function",
            "function": {"name": tool_call.name, "arguments": ""},
        }
        yield chunk({"tool_calls": [opening]})
        arguments = tool_call.arguments_json()
        middle = len(arguments) // 2
        for part in (arguments[:middle], arguments[middle:]):
            if part:
                yield chunk({"tool_calls": [{"index": index, "function": {"arguments": part}}]})
    yield chunk({}, outcome.finish_reason)
    if include_usage:
        yield {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [],
            "usage": _usage(outcome),
        }


def _pieces(text: str) -> list[str]:
    return re.findall(r"\S+\s*|\s+", text)


async def _sse(chunks: Iterator[JSONObject]) -> AsyncIterator[bytes]:
    for item in chunks:
        yield f"data: {json.dumps(item)}\n\n".encode()
    yield b"data: [DONE]\n\n"


class DroppedConnection(Exception):
    """Raised inside a streamed body: uvicorn closes the connection without ending the chunked body."""


async def _cut_sse(chunks: Iterator[JSONObject], cut: Cut) -> AsyncIterator[bytes]:
    for item in itertools.islice(chunks, cut.after):
        yield f"data: {json.dumps(item)}\n\n".encode()
    if cut.drop:
        raise DroppedConnection("the fake drops the connection mid-stream on purpose")


def _error_response(failure: Fail) -> JSONResponse:
    headers = {"retry-after-ms": str(failure.retry_after_ms)} if failure.retry_after_ms is not None else None
    body = {"error": {"message": failure.message, "type": failure.type, "param": None, "code": failure.code}}
    return JSONResponse(body, status_code=failure.status, headers=headers)


@contextmanager
def fake_openai_server(script: Iterable[Step] = (), *, default: Step | None = None) -> Iterator[FakeOpenAI]:
    """Serve a `FakeOpenAI` under uvicorn on a free loopback port, in a thread, for the `with` block."""
    fake = FakeOpenAI(script, default=default)
    with serve_in_thread(fake.app(), "fake-openai") as url:
        fake.url = url
        yield fake
