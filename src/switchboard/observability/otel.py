"""OpenTelemetry's SDK, set up when `SWITCHBOARD_OTEL_ENDPOINT` is set (or an app is handed a span processor):
the provider (OTLP/HTTP exporter, batched), FastAPI's spans, a span per database statement, and Pydantic AI's own
instrumentation (`invoke_agent`, `chat`, `execute_tool` spans with the GenAI attributes; prompts and replies only
with `SWITCHBOARD_OTEL_CAPTURE_CONTENT`). The hooks in the request and run code are in `observability.tracing`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from opentelemetry.context import Context
from opentelemetry.metrics import NoOpMeterProvider
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import Decision, ParentBased, Sampler, SamplingResult, TraceIdRatioBased
from opentelemetry.trace import Link, SpanKind, TraceState
from opentelemetry.util.types import Attributes

from switchboard import __version__
from switchboard.observability import tracing

if TYPE_CHECKING:
    from fastapi import FastAPI
    from sqlalchemy.ext.asyncio import AsyncEngine

    from switchboard.observability.settings import TelemetrySettings

# Probes and scrapes come every few seconds: not traces anyone wants.
UNTRACED_PATHS = r"/(health|ready|metrics)(\?|$)"


class _TracesNotStatements(Sampler):
    """Samples the traces that start (`ratio` of them), and drops a client span that would start one: a database
    statement outside any trace (a worker's claim poll, lease renewal, sweep, a batch of request logs) is noise."""

    def __init__(self, ratio: float) -> None:
        self.ratio = TraceIdRatioBased(ratio)

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: TraceState | None = None,
    ) -> SamplingResult:
        if kind == SpanKind.CLIENT:
            return SamplingResult(Decision.DROP)
        return self.ratio.should_sample(parent_context, trace_id, name, kind, attributes, links, trace_state)

    def get_description(self) -> str:
        return f"TracesNotStatements({self.ratio.get_description()})"


def traces_url(endpoint: str) -> str:
    """The collector's OTLP/HTTP traces URL: `/v1/traces` added to a bare base URL, as OTEL_EXPORTER_OTLP_ENDPOINT."""
    _, _, rest = endpoint.partition("://")
    if "/" in rest.rstrip("/"):
        return endpoint
    return endpoint.rstrip("/") + "/v1/traces"


class Tracing:
    """A process's tracing: the provider and what it instruments. `start` and `shutdown` bracket its use."""

    def __init__(self, settings: TelemetrySettings, processor: SpanProcessor | None = None) -> None:
        self.settings = settings
        resource = Resource.create({"service.name": settings.otel_service_name, "service.version": __version__})
        self.provider = TracerProvider(
            resource=resource, sampler=ParentBased(_TracesNotStatements(settings.otel_sample_ratio))
        )
        if processor is None:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            assert settings.otel_endpoint is not None
            processor = BatchSpanProcessor(OTLPSpanExporter(endpoint=traces_url(settings.otel_endpoint)))
        self.provider.add_span_processor(processor)
        self.tracer = self.provider.get_tracer("switchboard", __version__)

    def start(self) -> None:
        """Process-wide: the runs' spans and Pydantic AI's instrumentation of every agent."""
        from pydantic_ai import Agent, InstrumentationSettings

        tracing.activate(self.tracer)
        content = self.settings.otel_capture_content
        Agent.instrument_all(
            InstrumentationSettings(
                tracer_provider=self.provider,
                meter_provider=NoOpMeterProvider(),
                include_content=content,
                include_binary_content=content,
                include_model_request_parameters=content,
            )
        )

    def instrument_app(self, app: FastAPI) -> None:
        from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

        FastAPIInstrumentor.instrument_app(
            app,
            tracer_provider=self.provider,
            meter_provider=NoOpMeterProvider(),
            excluded_urls=UNTRACED_PATHS,
            exclude_spans=["receive", "send"],  # a span per chunk of an event stream says nothing
        )

    def instrument_engine(self, engine: AsyncEngine) -> None:
        """A span per statement, inside whatever trace is current. (`SQLAlchemyInstrumentor().instrument()` would
        also patch `create_engine` for the whole process, and instruments only the first engine it is given.)"""
        from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer

        tracer = self.provider.get_tracer("opentelemetry.instrumentation.sqlalchemy", __version__)
        usage = NoOpMeterProvider().get_meter("switchboard").create_up_down_counter("db.client.connections.usage")
        EngineTracer(tracer, engine.sync_engine, usage)  # type: ignore[no-untyped-call]

    def shutdown(self) -> None:
        """Send what is buffered, and stop tracing in this process."""
        if tracing.active(self.tracer):
            from pydantic_ai import Agent

            tracing.activate(None)
            Agent.instrument_all(False)
        self.provider.shutdown()


def tracing_for(settings: TelemetrySettings, processor: SpanProcessor | None = None) -> Tracing | None:
    """Tracing as configured: to the OTLP endpoint, or to `processor`; None when neither is given."""
    if processor is None and settings.otel_endpoint is None:
        return None
    return Tracing(settings, processor)
