"""A fake OpenTelemetry collector on a loopback port: it takes OTLP/HTTP (protobuf) trace exports at /v1/traces, as
a real collector does, and keeps the spans it was sent."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.fixtures.server import serve_in_thread


@dataclass(frozen=True)
class ReceivedSpan:
    name: str
    trace_id: str  # hex, as in log lines
    span_id: str
    parent_span_id: str
    attributes: dict[str, Any]
    resource: dict[str, Any]


def _values(attributes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for attribute in attributes:
        kind = attribute.value.WhichOneof("value")
        values[attribute.key] = getattr(attribute.value, kind) if kind else None
    return values


@dataclass
class Collector:
    url: str = ""
    spans: list[ReceivedSpan] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wait_for(self, found: Callable[[ReceivedSpan], bool], timeout: float = 30.0) -> ReceivedSpan:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                for span in self.spans:
                    if found(span):
                        return span
            time.sleep(0.05)
        raise AssertionError(f"no such span among {[s.name for s in self.spans]}")


@contextmanager
def otlp_collector() -> Iterator[Collector]:
    collector = Collector()

    async def export(request: Request) -> Response:
        assert request.headers["content-type"] == "application/x-protobuf"
        body = ExportTraceServiceRequest()
        body.ParseFromString(await request.body())
        received = [
            ReceivedSpan(
                name=span.name,
                trace_id=span.trace_id.hex(),
                span_id=span.span_id.hex(),
                parent_span_id=span.parent_span_id.hex(),
                attributes=_values(span.attributes),
                resource=_values(resource_spans.resource.attributes),
            )
            for resource_spans in body.resource_spans
            for scope_spans in resource_spans.scope_spans
            for span in scope_spans.spans
        ]
        with collector.lock:
            collector.spans.extend(received)
        answer = ExportTraceServiceResponse().SerializeToString()
        return Response(answer, media_type="application/x-protobuf")

    app = Starlette(routes=[Route("/v1/traces", export, methods=["POST"])])
    with serve_in_thread(app, "otlp-collector") as url:
        collector.url = url
        yield collector
