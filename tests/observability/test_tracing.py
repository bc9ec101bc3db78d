"""OpenTelemetry traces, into an in-memory exporter handed to the app (`create_app(span_processor=…)`, the same
provider, sampler and instrumentation as with SWITCHBOARD_OTEL_ENDPOINT): one trace from the HTTP request through
the worker's execution of the run it created, with Pydantic AI's spans (GenAI attributes, no content), the
database statements, and the trace id in the log lines."""

from __future__ import annotations

import io
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from switchboard.app import create_app
from switchboard.http_server import JsonErrorsH11Protocol
from switchboard.observability.otel import traces_url
from tests.fixtures.demo import seed_demo
from tests.fixtures.logs import log_events
from tests.fixtures.processes import TEST_PLUGIN
from tests.fixtures.server import LiveServer, make_settings, serve_in_thread

MESSAGE = "Show me all my orders"
ALICE = "alice@example.com"


@pytest.fixture
def traced(
    db_url: str, tmp_path: Path, capture_stderr: Callable[[], io.StringIO]
) -> Iterator[tuple[LiveServer, InMemorySpanExporter, io.StringIO]]:
    logs = capture_stderr()  # before the app is made: it binds the logs to stderr then
    exporter = InMemorySpanExporter()
    settings = make_settings(db_url, tmp_path, plugins=[TEST_PLUGIN])  # the demo's agents, and the test agents
    app = create_app(settings, span_processor=SimpleSpanProcessor(exporter))
    with serve_in_thread(app, "switchboard", http=JsonErrorsH11Protocol) as url:
        yield LiveServer(url=url, settings=settings), exporter, logs


def wait_for_span(exporter: InMemorySpanExporter, found: Callable[[ReadableSpan], bool]) -> ReadableSpan:
    """A span ends (and is exported) when its work does: the run's may end after the response."""
    deadline = time.monotonic() + 10
    while True:
        for span in exporter.get_finished_spans():
            if found(span):
                return span
        assert time.monotonic() < deadline, [s.name for s in exporter.get_finished_spans()]
        time.sleep(0.02)


def run_span_of(exporter: InMemorySpanExporter, run_id: str) -> ReadableSpan:
    return wait_for_span(exporter, lambda s: (s.attributes or {}).get("switchboard.run.id") == run_id)


def in_trace(exporter: InMemorySpanExporter, trace_id: int) -> list[ReadableSpan]:
    return [s for s in exporter.get_finished_spans() if s.context is not None and s.context.trace_id == trace_id]


def texts(span: ReadableSpan) -> list[str]:
    return [str(value) for value in (span.attributes or {}).values()]


def test_one_trace_from_the_request_through_the_workers_execution(traced: Any) -> None:
    server, exporter, logs = traced
    users = seed_demo(server.settings)
    with server.client(users[ALICE].key) as alice:
        response = alice.post("/v1/runs/wait", json={"agent": "support", "message": MESSAGE})
        assert response.status_code == 200, response.text
        run = response.json()
        assert run["status"] == "succeeded"
        request_id = response.headers["x-request-id"]
    request = wait_for_span(exporter, lambda s: s.kind == SpanKind.SERVER and s.name == "POST /v1/runs/wait")
    assert request.context is not None
    trace_id = request.context.trace_id
    execution = run_span_of(exporter, run["id"])
    assert execution.name == "run support"
    assert execution.context is not None
    assert execution.context.trace_id == trace_id
    assert execution.parent is not None
    assert execution.parent.span_id == request.context.span_id
    assert (execution.attributes or {})["switchboard.run.status"] == "succeeded"

    spans = in_trace(exporter, trace_id)
    by_id = {s.context.span_id: s for s in spans if s.context is not None}

    def under_execution(span: ReadableSpan) -> bool:
        while span.parent is not None and span.parent.span_id in by_id:
            if span.parent.span_id == execution.context.span_id:
                return True
            span = by_id[span.parent.span_id]
        return False

    # Pydantic AI's own spans, inside the execution's, with the GenAI attributes.
    [agent] = [s for s in spans if s.name == "invoke_agent support"]
    assert under_execution(agent)
    assert (agent.attributes or {})["gen_ai.conversation.id"] == run["thread_id"]  # the thread is the conversation
    chats = [s for s in spans if (s.attributes or {}).get("gen_ai.operation.name") == "chat"]
    assert chats
    assert all(under_execution(s) for s in chats)
    assert all((s.attributes or {}).get("gen_ai.request.model") for s in chats)
    assert all("gen_ai.usage.input_tokens" in (s.attributes or {}) for s in chats)
    tools = [s for s in spans if s.name.startswith("execute_tool ")]
    assert tools
    assert all((s.attributes or {}).get("gen_ai.tool.name") for s in tools)
    # Content is off by default: neither the user's words nor the reply, nor the tools' arguments and results.
    reply = run["output"]
    assert isinstance(reply, str)
    assert reply
    for span in spans:
        assert not any(MESSAGE in text or reply[:40] in text for text in texts(span)), (span.name, span.attributes)
        assert not {"tool_arguments", "tool_response", "gen_ai.system_instructions"} & set(span.attributes or {})
        for name, value in (span.attributes or {}).items():
            if name.endswith("messages"):  # their shape only: roles, part types, tool names
                assert not {'"content"', '"arguments"', '"result"'} & {m for m in re.findall(r'"\w+"', str(value))}
    # The database statements of the request and of the execution, in the trace; none outside a trace.
    statements = [s for s in spans if s.kind == SpanKind.CLIENT and "db.system" in str(s.attributes)]
    assert any(under_execution(s) for s in statements)
    assert any(not under_execution(s) for s in statements)  # the request's own (auth, insert)
    assert all(s.parent is not None for s in exporter.get_finished_spans() if s.kind == SpanKind.CLIENT)

    # The trace id in the log lines of the request, and of the worker executing its run.
    hex_id = format(trace_id, "032x")
    events = log_events(logs.getvalue())
    [line] = [e for e in events if e["event"] == "http.request" and e.get("request_id") == request_id]
    assert line["trace_id"] == hex_id
    assert len(line["span_id"]) == 16
    settled = [e for e in events if e["event"] == "run.settled" and e.get("run_id") == run["id"]]
    assert settled
    assert settled[0]["trace_id"] == hex_id
    assert settled[0]["span_id"] != line["span_id"]


def test_a_queued_run_joins_the_trace_of_the_request_that_created_it(traced: Any) -> None:
    server, exporter, _ = traced
    users = seed_demo(server.settings)
    with server.client(users[ALICE].key) as alice:
        # Started in the background: queued, and claimed from the queue by a worker (its context read back).
        response = alice.post("/v1/runs", json={"agent": "support", "message": MESSAGE})
        assert response.status_code == 202, response.text
    execution = run_span_of(exporter, response.json()["id"])
    assert execution.context is not None
    [created] = [s for s in in_trace(exporter, execution.context.trace_id) if s.kind == SpanKind.SERVER]
    assert created.name == "POST /v1/runs"
    assert created.context is not None
    assert execution.parent is not None
    assert execution.parent.span_id == created.context.span_id


def test_child_runs_join_the_trace_of_the_run_that_spawned_them(traced: Any) -> None:
    server, exporter, _ = traced
    users = seed_demo(server.settings)
    with server.client(users[ALICE].key) as alice:
        # A pipeline: two echo steps at once, then one over both; each step is a child run, queued by the pipeline.
        response = alice.post("/v1/runs/wait", json={"agent": "mixed", "message": "hello"})
        assert response.status_code == 200, response.text
        pipeline = response.json()
        assert pipeline["status"] == "succeeded"
        children = [child["id"] for child in alice.get(f"/v1/runs/{pipeline['id']}").json()["children"]]
    assert len(children) == 3
    executions = [run_span_of(exporter, run_id) for run_id in [pipeline["id"], *children]]
    request = wait_for_span(exporter, lambda s: s.kind == SpanKind.SERVER and s.name == "POST /v1/runs/wait")
    assert request.context is not None
    assert {s.context.trace_id for s in executions if s.context is not None} == {request.context.trace_id}
    assert {s.name for s in executions} == {"run mixed", "run echo"}


def test_probes_and_scrapes_are_not_traced(traced: Any) -> None:
    server, exporter, _ = traced
    with server.client() as anonymous:
        assert anonymous.get("/health").status_code == 200
        assert anonymous.get("/ready").status_code == 200
        assert anonymous.get("/metrics").status_code == 401
        assert anonymous.get("/v1/me").status_code == 401  # traced: the control
    wait_for_span(exporter, lambda s: s.name == "GET /v1/me")
    assert not [s for s in exporter.get_finished_spans() if s.kind == SpanKind.SERVER and s.name != "GET /v1/me"]


def test_the_otlp_endpoint_is_a_base_url_or_the_traces_url() -> None:
    assert traces_url("http://collector:4318") == "http://collector:4318/v1/traces"
    assert traces_url("http://collector:4318/") == "http://collector:4318/v1/traces"
    assert traces_url("https://otel.example.com/v1/traces") == "https://otel.example.com/v1/traces"
