"""One trace across processes: a run created by a request to one server and executed by a `switchboard worker`
process, which exports its spans over OTLP/HTTP (SWITCHBOARD_OTEL_ENDPOINT) to a collector on loopback."""

from __future__ import annotations

from pathlib import Path

from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from switchboard.app import create_app
from tests.fixtures.demo import seed_demo
from tests.fixtures.processes import processes
from tests.fixtures.server import LiveServer, make_settings, serve_in_thread
from tests.observability.otlp_collector import otlp_collector


def test_a_worker_process_continues_the_trace_of_the_request_that_created_the_run(db_url: str, tmp_path: Path) -> None:
    exporter = InMemorySpanExporter()
    settings = make_settings(db_url, tmp_path, workers=0)  # the API only: a worker process executes the run
    app = create_app(settings, span_processor=SimpleSpanProcessor(exporter))
    with (
        otlp_collector() as collector,
        serve_in_thread(app, "switchboard") as url,
        processes(db_url, tmp_path) as started,
    ):
        server = LiveServer(url=url, settings=settings)
        alice = seed_demo(settings)["alice@example.com"].key
        with server.client(alice) as client:
            response = client.post("/v1/runs", json={"agent": "support", "message": "Show me all my orders"})
            assert response.status_code == 202, response.text
        run_id = response.json()["id"]
        worker = started.worker(
            "--drain", name="worker", otel_endpoint=collector.url, otel_service_name="switchboard-worker"
        )
        assert worker.wait(60) == 0, worker.output()
        [request] = [s for s in exporter.get_finished_spans() if s.kind == SpanKind.SERVER]
        assert request.name == "POST /v1/runs"
        assert request.context is not None
        execution = collector.wait_for(lambda s: s.attributes.get("switchboard.run.id") == run_id)
        trace_id = format(request.context.trace_id, "032x")
        assert execution.trace_id == trace_id
        assert execution.parent_span_id == format(request.context.span_id, "016x")
        assert execution.resource["service.name"] == "switchboard-worker"
        assert execution.attributes["switchboard.run.status"] == "succeeded"
        # The worker's Pydantic AI spans and statements are in the same trace.
        in_trace = [s for s in collector.spans if s.trace_id == trace_id]
        assert any(s.name == "invoke_agent support" for s in in_trace)
        assert any(s.name.startswith("execute_tool ") for s in in_trace)
        assert any("db.system" in s.attributes or "db.system.name" in s.attributes for s in in_trace)
        # And the worker's log lines about the run name the trace.
        [settled] = worker.logged("run.settled", run_id=run_id)
        assert settled["trace_id"] == trace_id
        assert settled["span_id"] == execution.span_id  # logged inside the execution's span
