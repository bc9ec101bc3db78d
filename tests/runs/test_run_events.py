"""A run's events over SSE: numbered 1..N without gaps, replayed in full or after a given id (header or query),
tailed live, delivered across server processes (LISTEN/NOTIFY), streamed by POST /v1/runs/stream, and pinged
when idle."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest

from switchboard.models.runs import RunStatus
from switchboard.runs import endpoints
from switchboard.runs.follow import REREAD_SECONDS
from tests.fixtures.demo import DemoUser, seed_demo
from tests.fixtures.http import (
    Event,
    assert_error,
    create_run,
    get_run,
    open_events,
    parse_run_events,
    read_events,
    read_until,
    wait_for_status,
)
from tests.fixtures.server import LiveServer

ALICE = "alice@example.com"
Users = tuple[LiveServer, dict[str, DemoUser]]


def assert_numbered(events: list[Event], first: int = 1) -> None:
    assert [e.id for e in events] == list(range(first, first + len(events))), [(e.id, e.type) for e in events]


def finished_run_events(client: httpx.Client) -> tuple[str, list[Event]]:
    """A finished counter run (it has status, message, tool and text events) and all its events."""
    run = wait_for_status(client, create_run(client, "counter", "figs")["id"])
    assert run["status"] == RunStatus.SUCCEEDED, run
    events = read_events(client, run["id"])
    assert events[-1].id == run["last_event_id"]
    return run["id"], events


def test_replay_is_numbered_from_one_and_ends_with_end(users: Users) -> None:
    server, people = users
    with server.client(people[ALICE].key) as client:
        run_id, events = finished_run_events(client)
        assert_numbered(events)
        assert (events[0].type, events[0].data["status"]) == ("status", RunStatus.QUEUED)
        assert events[1].type == "status"
        assert events[1].data == {
            "status": RunStatus.RUNNING,
            "attempt": 1,
            "worker": get_run(client, run_id)["worker"],
        }
        types = [e.type for e in events]
        assert {"message", "tool_call", "tool_result", "text_delta"} <= set(types), types
        assert types.count("end") == 1
        end = events[-1]
        assert end.type == "end"
        assert (end.data["status"], end.data["output"], end.data["error"]) == (
            RunStatus.SUCCEEDED,
            "bumped figs to 1",
            None,
        )
        assert end.data["usage"]["requests"] == 2
        call = next(e for e in events if e.type == "tool_call")
        result = next(e for e in events if e.type == "tool_result")
        assert (call.data["tool_name"], call.data["args"]) == ("bump", {"key": "figs"})
        assert (result.data["tool_call_id"], result.data["result"]) == (call.data["tool_call_id"], "figs to 1")
        assert call.id < result.id < end.id
        # A second full read is the same stream.
        assert read_events(client, run_id) == events


@pytest.mark.parametrize("how", ["header", "query"])
def test_resume_after_an_event_gets_exactly_the_rest(users: Users, how: str) -> None:
    server, people = users
    with server.client(people[ALICE].key) as client:
        run_id, events = finished_run_events(client)
        for k in (0, 1, len(events) // 2, len(events) - 1):
            if how == "header":
                rest = read_events(client, run_id, headers={"Last-Event-ID": str(k)})
            else:
                rest = read_events(client, run_id, params={"last_event_id": k})
            assert rest == events[k:], k


def test_resume_after_the_end_closes_at_once(users: Users) -> None:
    """A client that saw `end` and reconnects (EventSource does so by itself when a stream closes) gets no
    events, and the stream closes instead of staying open forever, re-reading the database every few seconds."""
    server, people = users
    with server.client(people[ALICE].key) as client:
        client.timeout = httpx.Timeout(10, read=1.5)
        run_id, events = finished_run_events(client)
        last = events[-1].id
        for params, headers in (({}, {"Last-Event-ID": str(last)}), ({"last_event_id": last + 5}, {})):
            with client.stream("GET", f"/v1/runs/{run_id}/events", params=params, headers=headers) as response:
                assert response.status_code in (200, 204), response.read()
                assert list(parse_run_events(response.iter_lines())) == []


def test_live_tail_delivers_deltas_while_the_run_runs(users: Users) -> None:
    server, people = users
    with server.client(people[ALICE].key) as client:
        run = create_run(client, "slow", "words=8 delay=0.1")
        arrivals: list[tuple[float, Event]] = []
        status_at_first_delta: str | None = None
        with open_events(client, run["id"]) as stream:
            for event in stream:
                arrivals.append((time.monotonic(), event))
                if event.type == "text_delta" and status_at_first_delta is None:
                    status_at_first_delta = get_run(client, run["id"])["status"]
        events = [e for _, e in arrivals]
        assert_numbered(events)
        assert events[-1].type == "end"
        assert events[-1].data["status"] == RunStatus.SUCCEEDED
        deltas = [(t, e) for t, e in arrivals if e.type == "text_delta"]
        assert "".join(e.data["delta"] for _, e in deltas) == "w1 w2 w3 w4 w5 w6 w7 w8"
        # Live: the first word arrived while the run was still running, well before the last one.
        assert status_at_first_delta == RunStatus.RUNNING
        assert deltas[-1][0] - deltas[0][0] >= 0.4, [round(t - deltas[0][0], 3) for t, _ in deltas]
        assert read_events(client, run["id"]) == events


def test_a_stream_on_another_server_process_gets_live_events(runs_server: Callable[..., LiveServer]) -> None:
    """Server A has no workers; server B (same database, its own LISTEN connection) executes the run. A client of
    A sees the run's events live: B's NOTIFY wakes A's stream as they are written. Without it A would only find
    them at its next periodic re-read, every REREAD_SECONDS, all at once."""
    api_only = runs_server(workers=0)
    people = seed_demo(api_only.settings)
    with api_only.client(people[ALICE].key) as client:
        run = create_run(client, "slow", "words=6 delay=0.1")
        with open_events(client, run["id"]) as stream:
            queued = next(stream)
            assert (queued.id, queued.type, queued.data["status"]) == (1, "status", RunStatus.QUEUED)
            runs_server(workers=1)  # B claims the run as soon as it starts
            b_started = time.monotonic()
            arrivals = [(time.monotonic(), event) for event in stream]
        events = [queued, *(event for _, event in arrivals)]
        assert_numbered(events)
        assert events[1].type == "status"
        assert events[1].data["status"] == RunStatus.RUNNING
        assert "".join(e.data["delta"] for e in events if e.type == "text_delta") == "w1 w2 w3 w4 w5 w6"
        assert events[-1].type == "end"
        assert events[-1].data["status"] == RunStatus.SUCCEEDED
        first_delta = next(t for t, e in arrivals if e.type == "text_delta")
        # Arrived over the half second the run took to write them, not in one periodic re-read.
        assert arrivals[-1][0] - first_delta >= 0.3, [(round(t - b_started, 3), e.type) for t, e in arrivals]
        assert arrivals[-1][0] - b_started < REREAD_SECONDS - 1
        assert read_events(client, run["id"]) == events


def test_post_stream_runs_and_streams_its_events(users: Users) -> None:
    server, people = users
    with server.client(people[ALICE].key) as client:
        with client.stream("POST", "/v1/runs/stream", json={"agent": "echo", "message": "stream me"}) as response:
            assert response.status_code == 200, response.read()
            assert response.headers["content-type"].startswith("text/event-stream")
            location = response.headers["location"]
            events = list(parse_run_events(response.iter_lines()))
        assert_numbered(events)
        assert (events[0].type, events[0].data["status"]) == ("status", RunStatus.QUEUED)
        assert events[-1].type == "end"
        assert (events[-1].data["status"], events[-1].data["output"]) == (RunStatus.SUCCEEDED, "echo: stream me")
        run_id = events[0].data["run_id"]
        assert location == f"/v1/runs/{run_id}"
        assert "".join(e.data["delta"] for e in events if e.type == "text_delta") == "echo: stream me"
        assert read_events(client, run_id) == events
        assert get_run(client, run_id)["last_event_id"] == events[-1].id


def test_a_dropped_stream_leaves_the_run_going_and_resumes_without_gap(users: Users) -> None:
    server, people = users
    body = {"agent": "slow", "message": "words=6 delay=0.05"}
    with server.client(people[ALICE].key) as client:
        with client.stream("POST", "/v1/runs/stream", json=body) as response:
            assert response.status_code == 200, response.read()
            head = read_until(parse_run_events(response.iter_lines()), "text_delta")
        run_id = head[0].data["run_id"]
        assert wait_for_status(client, run_id)["output"] == "w1 w2 w3 w4 w5 w6"
        rest = read_events(client, run_id, headers={"Last-Event-ID": str(head[-1].id)})
        assert_numbered([*head, *rest])
        assert rest[-1].type == "end"
        assert read_events(client, run_id) == [*head, *rest]


def test_bad_last_event_id_is_422(users: Users) -> None:
    server, people = users
    with server.client(people[ALICE].key) as client:
        run = wait_for_status(client, create_run(client, "echo", "x")["id"])
        path = f"/v1/runs/{run['id']}/events"
        error = assert_error(client.get(path, headers={"Last-Event-ID": "abc"}), 422, "validation_error")
        assert error["details"] == [{"field": "Last-Event-ID", "message": "not a number"}]
        assert_error(client.get(path, headers={"Last-Event-ID": "-3"}), 422, "validation_error")
        assert_error(client.get(path, params={"last_event_id": -1}), 422, "validation_error")
        assert_error(client.get(path, params={"last_event_id": "abc"}), 422, "validation_error")


def test_an_idle_stream_is_pinged(runs_server: Callable[..., LiveServer], monkeypatch: pytest.MonkeyPatch) -> None:
    """The keepalive is 10 s in production (and the docs say so); shortened here to see the comment arrive."""
    assert endpoints.KEEPALIVE_SECONDS == 10
    assert "every 10 s" in endpoints.EVENTS_DOC
    monkeypatch.setattr(endpoints, "KEEPALIVE_SECONDS", 0.2)
    server = runs_server(workers=0)  # the run stays queued: its stream is idle after the first event
    people = seed_demo(server.settings)
    with server.client(people[ALICE].key) as client:
        client.timeout = httpx.Timeout(10, read=1.5)
        run = create_run(client, "echo", "nobody runs me")
        with client.stream("GET", f"/v1/runs/{run['id']}/events") as response:
            assert response.status_code == 200
            lines = response.iter_lines()
            received: list[str] = []
            for line in lines:
                received.append(line)
                if line.startswith(":"):
                    break
        assert any(line.startswith("id:") for line in received), received
        assert received[-1].startswith(": ping"), received


def test_events_doc_is_in_openapi(users: Users) -> None:
    server, _ = users
    with server.client() as client:
        spec = client.get("/openapi.json").json()
    events = spec["paths"]["/v1/runs/{run_id}/events"]["get"]
    assert "text/event-stream" in events["responses"]["200"]["content"]
    assert {p["name"] for p in events["parameters"]} >= {"Last-Event-ID", "last_event_id"}
    assert "approval_required" in events["responses"]["200"]["description"]
