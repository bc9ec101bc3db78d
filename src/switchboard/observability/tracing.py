"""Tracing's hooks in the code that runs requests and runs: they do nothing unless tracing is on (`observability.otel`
sets it up when `SWITCHBOARD_OTEL_ENDPOINT` is set, and `activate`s it here).

One trace follows a run from the request that created it to the worker that executes it, in whatever process:
the request's context is stored in the run's row (`current_carrier`, W3C `traceparent`), and the worker's span
for the execution (`run_span`) is its child. Off, `current_carrier` and `run_span` return at their first line and
no log processor is installed. Only the OpenTelemetry API is imported here, not the SDK."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from opentelemetry import trace
from opentelemetry.trace import SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

if TYPE_CHECKING:
    from switchboard.engine.queue import Claimed

_PROPAGATOR = TraceContextTextMapPropagator()
_tracer: trace.Tracer | None = None  # this process's, while tracing is on


def activate(tracer: trace.Tracer | None) -> None:
    """Turn the hooks on (with the tracer of the process's provider) or off (None)."""
    global _tracer
    _tracer = tracer


def active(tracer: trace.Tracer) -> bool:
    return _tracer is tracer


def current_carrier() -> dict[str, str] | None:
    """The current trace context as W3C headers (`traceparent`, `tracestate`), to store in a run's row so the
    worker's spans join the creating request's trace; None when tracing is off or no span is current."""
    if _tracer is None:
        return None
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    return carrier or None


def _carrier(stored: Any) -> dict[str, str] | None:
    if isinstance(stored, str):  # JSONB read back by a plain-text statement
        stored = json.loads(stored)
    return stored if isinstance(stored, dict) else None


def _ignore(status: object) -> None:
    pass


@contextmanager
def run_span(claimed: Claimed) -> Iterator[Callable[[object], None]]:
    """The span of one execution of a run, a child of the request that created it (its stored context). Yields
    what to call with the status the execution left the run in (None: its lease was lost)."""
    tracer = _tracer
    if tracer is None:
        yield _ignore
        return
    carrier = _carrier(claimed.trace_context)
    parent = _PROPAGATOR.extract(carrier) if carrier else None
    attributes: dict[str, str | int] = {
        "switchboard.run.id": str(claimed.run_id),
        "switchboard.run.attempt": claimed.attempt,
    }
    if claimed.agent is not None:
        attributes["switchboard.agent"] = claimed.agent
    name = f"run {claimed.agent}" if claimed.agent else "run"
    with tracer.start_as_current_span(name, context=parent, kind=SpanKind.CONSUMER, attributes=attributes) as span:

        def ended(status: object) -> None:
            span.set_attribute("switchboard.run.status", str(status) if status is not None else "lease_lost")

        yield ended


def add_trace_ids(_: Any, __: str, event: Any) -> Any:
    """structlog processor: the current span's trace and span ids (installed only while tracing is on)."""
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        event["trace_id"] = format(context.trace_id, "032x")
        event["span_id"] = format(context.span_id, "016x")
    return event
