"""OpenTelemetry tracing (when SWITCHBOARD_OTEL_ENDPOINT is set). (Filled in by the telemetry work: issue 12.)"""

from __future__ import annotations


def current_carrier() -> dict[str, str] | None:
    """The current trace context as W3C headers (`traceparent`, `tracestate`), to store in a run's row so the
    worker's spans join the creating request's trace; None when tracing is off."""
    return None
