"""Seed 003's API over real HTTP and PostgreSQL: both pipeline modes from /api/v1/process to /api/v1/results/{id}
(202 then 200, the documented shape, the rules' real output), validation, another user's request, filters in
every combination, and health."""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any

from switchboard.text_analysis.entities import extract
from switchboard.text_analysis.sentiment import analyse
from switchboard.text_analysis.summarizer import summarize
from tests.fixtures.http import assert_error, get_run
from tests.text_analysis.conftest import Start, count, process, wait_result

ALICE = "alice@example.com"
BOB = "bob@example.com"
NEWS = (
    "Apple Inc. reported record profits on Monday, March 3, 2025. CEO Tim Cook said the company was very happy "
    "with the results in China and Europe. Analysts at Goldman Sachs Group were not impressed, however, and warned "
    "of slowing growth. The shares fell 2% in New York. Dr. Jane Smith of the University of Oxford called the "
    "outlook uncertain. Smith expects a recovery by 15 June 2025. The board meets again on 2025-04-01 in Berlin."
)
RESULT_KEYS = {
    "request_id", "status", "orchestration_mode", "summary", "sentiment", "entities", "agent_results",
    "total_execution_time", "error", "webhook_status", "webhook_attempts", "created_at", "completed_at",
}  # fmt: skip
AGENTS = ["summarizer", "sentiment", "entity_extractor"]


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value)


def assert_analysis(result: dict[str, Any], text: str, mode: str) -> None:
    """The documented shape, holding what the rules make of `text`."""
    assert set(result) == RESULT_KEYS, result
    assert result["status"] == "completed"
    assert result["orchestration_mode"] == mode
    assert result["error"] is None
    assert result["summary"] == summarize(text).summary
    expected_sentiment = analyse(text)
    assert result["sentiment"] == {
        "sentiment": expected_sentiment.sentiment,
        "confidence": expected_sentiment.confidence,
    }
    entities = extract(text)
    assert result["entities"] == {
        "persons": entities.persons,
        "organizations": entities.organizations,
        "locations": entities.locations,
        "dates": entities.dates,
    }
    assert [a["agent_name"] for a in result["agent_results"]] == AGENTS
    assert all(a["status"] == "success" for a in result["agent_results"])
    by_name = {a["agent_name"]: a for a in result["agent_results"]}
    assert by_name["summarizer"]["result_data"] == summarize(text).model_dump()
    assert by_name["sentiment"]["result_data"] == expected_sentiment.model_dump()
    assert by_name["entity_extractor"]["result_data"] == entities.model_dump()
    times = [a["execution_time"] for a in result["agent_results"]]
    assert all(t is not None and t > 0 for t in times), times
    assert result["total_execution_time"] >= max(times)


def test_both_modes_from_process_to_results_202_then_200(orchestrator: Start) -> None:
    # No workers first: the requests wait in the queue, and their results say so with 202.
    server, users = orchestrator(workers=0)
    with server.client(users[ALICE].key) as alice:
        parallel = process(alice, NEWS, "parallel")
        sequential = process(alice, NEWS, "sequential")
        assert parallel["status"] == "pending"
        assert parallel["orchestration_mode"] == "parallel"
        waiting = alice.get(f"/api/v1/results/{parallel['request_id']}")
        assert waiting.status_code == 202
        assert waiting.json()["status"] == "pending"
        assert waiting.json()["summary"] is None

    # A server with workers (same database) takes them up: the requests were durable rows, not tasks in memory.
    worker_server, _ = orchestrator()
    with worker_server.client(users[ALICE].key) as alice:
        for accepted, mode in ((parallel, "parallel"), (sequential, "sequential")):
            result = wait_result(alice, accepted["request_id"])
            assert_analysis(result, NEWS, mode)
            assert result["webhook_status"] is None
            assert result["webhook_attempts"] == 0

        # The sequential pipeline's steps ran one after another; the parallel one's are one stage.
        tree = get_run(alice, sequential["request_id"])
        assert tree["agent"] == "text-analysis-sequential"
        steps = tree["children"]
        assert [(c["step"], c["agent"]) for c in steps] == [
            ("summarizer", "summarizer"),
            ("sentiment", "sentiment"),
            ("entity_extractor", "entities"),
        ]
        for before, after in itertools.pairwise(steps):
            assert _time(before["finished_at"]) <= _time(after["started_at"])
        assert get_run(alice, parallel["request_id"])["agent"] == "text-analysis"


def test_each_agent_runs_alone_through_the_runs_api(orchestrator: Start) -> None:
    server, users = orchestrator()
    with server.client(users[ALICE].key) as alice:
        for agent, expected in (
            ("summarizer", summarize(NEWS)),
            ("sentiment", analyse(NEWS)),
            ("entities", extract(NEWS)),
        ):
            response = alice.post("/v1/runs/wait", json={"agent": agent, "message": NEWS})
            assert response.status_code == 200, response.text
            run = response.json()
            assert run["status"] == "succeeded"
            assert run["output"] == expected.model_dump()
            assert run["output"]["method"] == "offline rules, not an LLM"


def test_bad_requests_are_422_naming_the_field_and_store_nothing(orchestrator: Start) -> None:
    server, users = orchestrator()
    with server.client(users[ALICE].key) as alice:
        cases: list[tuple[dict[str, Any], str]] = [
            ({"text": "too short"}, "text"),  # 9 characters
            ({"text": "x" * 10_001}, "text"),
            ({"text": NEWS, "orchestration_mode": "diagonal"}, "orchestration_mode"),
            ({"text": NEWS, "webhook_url": "ftp://example.com/hook"}, "webhook_url"),
            ({"text": NEWS, "webhook_url": "https://example.com/hook", "webhook_secret": ""}, "webhook_secret"),
            ({"orchestration_mode": "parallel"}, "text"),
        ]
        for body, field in cases:
            error = assert_error(alice.post("/api/v1/process", json=body), 422, "validation_error")
            assert field in [d["field"] for d in error["details"]], (body, error)
        assert count(server, "runs") == 0
        # Exactly the bounds are taken.
        process(alice, "x" * 10)
        process(alice, "y" * 10_000)
        assert count(server, "runs WHERE parent_id IS NULL") == 2  # two requests (their steps may have started)


def test_another_users_request_is_not_found(orchestrator: Start) -> None:
    server, users = orchestrator()
    with server.client(users[ALICE].key) as alice, server.client(users[BOB].key) as bob:
        mine = process(alice, NEWS)["request_id"]
        wait_result(alice, mine)
        for response in (
            bob.get(f"/api/v1/results/{mine}"),
            bob.get(f"/api/v1/webhook-logs/{mine}"),
            bob.post(f"/api/v1/webhook/retry/{mine}"),
        ):
            assert_error(response, 404, "not_found")
        assert bob.get("/api/v1/results").json()["items"] == []
        # A run of another agent is not a text-analysis request either.
        other = alice.post("/v1/runs/wait", json={"agent": "summarizer", "message": NEWS}).json()["id"]
        assert_error(alice.get(f"/api/v1/results/{other}"), 404, "not_found")
        assert_error(alice.get("/api/v1/results/not-a-uuid"), 422, "validation_error")


def test_results_filters_in_every_combination_never_500(orchestrator: Start) -> None:
    server, users = orchestrator()
    with server.client(users[ALICE].key) as alice:
        ids = {
            "parallel": [process(alice, f"Text number {i} is good.", "parallel")["request_id"] for i in range(2)],
            "sequential": [process(alice, "The sequential text is bad.", "sequential")["request_id"]],
        }
        for request_id in [*ids["parallel"], *ids["sequential"]]:
            wait_result(alice, request_id)
        page = alice.get("/api/v1/results").json()
        # Newest first.
        assert [item["request_id"] for item in page["items"]] == [*ids["sequential"], *reversed(ids["parallel"])]
        created = sorted(_time(item["created_at"]) for item in page["items"])

        statuses = [None, "pending", "processing", "completed", "failed", "bogus"]
        modes = [None, "parallel", "sequential", "diagonal"]
        times = [
            None,
            created[1].isoformat(),
            "2000-01-01",
            "0001-01-01T00:00:00+14:00",
            "9999-12-31T23:59:59-14:00",
            "not-a-time",
            "NaN",
        ]
        for status, mode, after, before in itertools.product(statuses, modes, times, times):
            params = {
                k: v
                for k, v in {
                    "status": status,
                    "orchestration_mode": mode,
                    "created_after": after,
                    "created_before": before,
                    "limit": 2,
                }.items()
                if v is not None
            }
            response = alice.get("/api/v1/results", params=params)
            assert response.status_code in (200, 422), (params, response.text)
            if response.status_code == 422:
                continue
            items = response.json()["items"]
            assert len(items) <= 2
            for item in items:
                assert status is None or item["status"] == status
                assert mode is None or item["orchestration_mode"] == mode
        # Specific combinations, counted.
        completed_parallel = alice.get(
            "/api/v1/results", params={"status": "completed", "orchestration_mode": "parallel"}
        )
        assert sorted(i["request_id"] for i in completed_parallel.json()["items"]) == sorted(ids["parallel"])
        since_second = alice.get("/api/v1/results", params={"created_after": created[1].isoformat()}).json()["items"]
        assert len(since_second) == 2
        empty = alice.get(
            "/api/v1/results",
            params={"created_after": created[2].isoformat(), "created_before": created[0].isoformat()},
        )
        assert empty.status_code == 200
        assert empty.json()["items"] == []
        first = alice.get("/api/v1/results", params={"limit": 2}).json()
        rest = alice.get("/api/v1/results", params={"limit": 2, "cursor": first["next_cursor"]}).json()
        assert len(first["items"]) == 2
        assert len(rest["items"]) == 1
        assert rest["next_cursor"] is None


def test_health_checks_the_database_without_a_model_call(orchestrator: Start) -> None:
    server, users = orchestrator()
    with server.client(users[ALICE].key) as alice:
        response = alice.get("/api/v1/health")
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["status"] == "healthy"
        assert body["database"] == "ok"
        assert body["model"] == "offline"
        assert count(server, "runs") == 0  # no run, no model request
    with server.client() as anonymous:
        assert_error(anonymous.get("/api/v1/health"), 401, "authentication_error")
