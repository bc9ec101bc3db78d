"""Seed 004's routes over real HTTP: POST /agents/run → 202 {run_id}, GET /agents/status/{run_id}, the insurance
agents' real structured results, and the single-run rule (one seed 004 run queued or running at a time, across
both agent types, all users and every server process: of simultaneous requests exactly one gets 202)."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.models.runs import RunStatus
from tests.fixtures.database import run_db
from tests.fixtures.demo import DemoUser, seed_demo
from tests.fixtures.http import assert_error
from tests.fixtures.server import LiveServer

USER = "test.user@example.com"
BUSY = "An agent is already running, please retry later"
DEADLINE = 20.0

DOCUMENT = """\
Claim notification
Policyholder: Mr. John Smith
Policy No.: POL-123456
Date of loss: 13/07/2025
Claimed amount: $2,500.00
Contact: John.Smith@Example.com
"""

APPROVED_CLAIM = """\
Policy number: POL-123456
Claim amount: $2,500
Coverage limit: $10,000
Deductible: $500
Incident date: 2025-03-02
Policy start: 2025-01-01
Policy end: 2025-12-31
Cause: water damage
"""

REJECTED_CLAIM = APPROVED_CLAIM.replace("$2,500", "$12,000").replace("water damage", "wear and tear")

RULES = [
    "policy_number",
    "claim_amount",
    "within_coverage_limit",
    "above_deductible",
    "within_policy_period",
    "cause_not_excluded",
]


# --- helpers ---


def start(client: httpx.Client, agent_type: str, input_: str | None = "x", **extra: Any) -> httpx.Response:
    body: dict[str, Any] = {"agent_type": agent_type, **extra}
    if input_ is not None:
        body["input"] = input_
    return client.post("/agents/run", json=body)


def accepted(client: httpx.Client, agent_type: str, input_: str | None = "x", **extra: Any) -> str:
    """A run that must be accepted: 202 with `{run_id}` and nothing else; returns the id."""
    response = start(client, agent_type, input_, **extra)
    assert response.status_code == 202, response.text
    body = response.json()
    assert set(body) == {"run_id"}, body
    return str(uuid.UUID(body["run_id"]))


def status(client: httpx.Client, run_id: str) -> dict[str, Any]:
    response = client.get(f"/agents/status/{run_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"run_id", "state", "result", "error"}, body
    assert body["run_id"] == run_id
    return body


def wait_done(client: httpx.Client, run_id: str) -> tuple[dict[str, Any], list[str]]:
    """Poll the status until DONE; returns it and the states seen on the way (each change once)."""
    states: list[str] = []
    deadline = time.monotonic() + DEADLINE
    while True:
        body = status(client, run_id)
        if not states or states[-1] != body["state"]:
            states.append(body["state"])
        if body["state"] in ("DONE", "ERROR"):
            assert body["state"] == "DONE", body
            return body, states
        assert body["result"] is None, body
        assert time.monotonic() < deadline, states
        time.sleep(0.02)


def busy(response: httpx.Response) -> None:
    assert BUSY in assert_error(response, 409, "conflict")["message"]


def runs_in_db(server: LiveServer) -> list[tuple[str, int, str]]:
    """(id, owner, agent) of every run, whoever owns it."""

    async def go(session: AsyncSession) -> list[tuple[str, int, str]]:
        rows = await session.execute(text("SELECT id, user_id, agent FROM runs ORDER BY created_at"))
        return [(str(run_id), user_id, agent) for run_id, user_id, agent in rows.all()]

    return run_db(server.database_url, go)


def race(targets: list[tuple[LiveServer, DemoUser, str]]) -> list[httpx.Response]:
    """POST /agents/run for each (server, user, agent_type) at the same moment, one thread each."""
    barrier = threading.Barrier(len(targets))

    def call(target: tuple[LiveServer, DemoUser, str]) -> httpx.Response:
        server, user, agent_type = target
        with server.client(user.key) as client:
            barrier.wait()
            return start(client, agent_type, DOCUMENT if agent_type == "document-extractor" else APPROVED_CLAIM)

    with ThreadPoolExecutor(max_workers=len(targets)) as pool:
        return list(pool.map(call, targets))


def one_winner(responses: list[httpx.Response]) -> httpx.Response:
    wins = [r for r in responses if r.status_code == 202]
    assert len(wins) == 1, [(r.status_code, r.text) for r in responses]
    for response in responses:
        if response.status_code != 202:
            busy(response)
    return wins[0]


def mixed(servers: list[LiveServer], demo: dict[str, DemoUser], n: int) -> list[tuple[LiveServer, DemoUser, str]]:
    people = [demo[USER], demo["alice@example.com"], demo["bob@example.com"]]
    kinds = ["document-extractor", "policy-checker"]
    return [(servers[i % len(servers)], people[i % len(people)], kinds[i % len(kinds)]) for i in range(n)]


# --- runs and results ---


def test_extractor_run_is_pending_then_done_with_the_extracted_fields(make_server: Callable[..., LiveServer]) -> None:
    api = make_server(workers=0)  # no worker yet: the run stays PENDING until one starts
    user = seed_demo(api.settings)[USER]
    with api.client(user.key) as client:
        run_id = accepted(client, "document-extractor", DOCUMENT)
        assert status(client, run_id) == {"run_id": run_id, "state": "PENDING", "result": None, "error": None}

        make_server(workers=1)
        done, states = wait_done(client, run_id)
        order = ["PENDING", "RUNNING", "DONE"]
        assert set(states) <= set(order), states
        assert states == sorted(states, key=order.index), states  # never back to an earlier state
        assert states[-1] == "DONE"
        assert done["error"] is None
        result = done["result"]
        assert result["names"] == ["John Smith"]
        assert result["dates"] == ["2025-07-13"]
        assert [(Decimal(str(a["value"])), a["currency"]) for a in result["amounts"]] == [(Decimal("2500"), "USD")]
        assert result["policy_numbers"] == ["POL-123456"]
        assert result["claim_numbers"] == []
        assert result["emails"] == ["john.smith@example.com"]

        run = client.get(f"/v1/runs/{run_id}").json()
        assert (run["agent"], run["status"], run["message"]) == ("document-extractor", RunStatus.SUCCEEDED, DOCUMENT)
        assert run["output"] == result


def test_policy_checker_approves_and_rejects_by_the_rules(server: LiveServer, demo: dict[str, DemoUser]) -> None:
    with server.client(demo[USER].key) as client:
        approved, _ = wait_done(client, accepted(client, "policy-checker", APPROVED_CLAIM))
        decision = approved["result"]
        assert decision["decision"] == "approved"
        assert decision["reasons"] == ["All 6 checks passed."]
        assert [check["rule"] for check in decision["checks"]] == RULES
        assert all(check["passed"] for check in decision["checks"]), decision

        # The slot is free again once a run has finished: the next request is accepted.
        rejected, _ = wait_done(client, accepted(client, "policy-checker", REJECTED_CLAIM))
        decision = rejected["result"]
        assert decision["decision"] == "rejected"
        failed = [check["rule"] for check in decision["checks"] if not check["passed"]]
        assert failed == ["within_coverage_limit", "cause_not_excluded"]
        assert decision["reasons"] == [
            "Claim amount USD 12,000 exceeds the coverage limit USD 10,000.",
            "Cause 'wear and tear' is excluded: wear and tear.",
        ]

        # Deterministic, never random: the same claim gets the same verdict.
        again, _ = wait_done(client, accepted(client, "policy-checker", REJECTED_CLAIM))
        assert again["result"] == decision


def test_unknown_or_missing_agent_type(server: LiveServer, demo: dict[str, DemoUser]) -> None:
    with server.client(demo[USER].key) as client:
        for agent_type in ("claims-adjuster", "support"):  # "support" exists, but is not a seed 004 agent
            error = assert_error(start(client, agent_type), 400, "bad_request")
            assert agent_type in error["message"], error
            assert "document-extractor" in error["message"], error
        error = assert_error(client.post("/agents/run", json={"input": "a document"}), 422, "validation_error")
        assert "agent_type" in error["message"], error
        assert [problem["field"] for problem in error["details"]] == ["agent_type"], error
    assert runs_in_db(server) == []


def test_another_users_run_is_not_found(server: LiveServer, demo: dict[str, DemoUser]) -> None:
    with server.client(demo[USER].key) as owner, server.client(demo["alice@example.com"].key) as alice:
        run_id = accepted(owner, "document-extractor", DOCUMENT)
        wait_done(owner, run_id)
        assert_error(alice.get(f"/agents/status/{run_id}"), 404, "not_found")
        assert_error(owner.get(f"/agents/status/{uuid.uuid4()}"), 404, "not_found")
        assert_error(owner.get("/agents/status/not-a-uuid"), 422, "validation_error")
    with server.client() as anonymous:
        assert_error(anonymous.get(f"/agents/status/{run_id}"), 401, "authentication_error")
        assert_error(start(anonymous, "policy-checker"), 401, "authentication_error")


def test_user_id_in_the_body_is_kept_as_metadata_not_identity(server: LiveServer, demo: dict[str, DemoUser]) -> None:
    caller, alice = demo[USER], demo["alice@example.com"]
    with server.client(caller.key) as client, server.client(alice.key) as other:
        run_id = accepted(client, "policy-checker", APPROVED_CLAIM, user_id=str(alice.user_id))
        wait_done(client, run_id)
        run = client.get(f"/v1/runs/{run_id}").json()
        assert run["metadata"] == {"client_user_id": str(alice.user_id)}
        assert_error(other.get(f"/agents/status/{run_id}"), 404, "not_found")
        assert_error(other.get(f"/v1/runs/{run_id}"), 404, "not_found")
        assert other.get("/v1/runs").json()["items"] == []
    assert runs_in_db(server) == [(run_id, caller.user_id, "policy-checker")]


# --- the single-run rule ---


def test_a_second_request_while_a_run_is_queued_is_409(make_server: Callable[..., LiveServer]) -> None:
    api = make_server(workers=0)  # the first run stays queued
    demo = seed_demo(api.settings)
    with api.client(demo[USER].key) as client, api.client(demo["bob@example.com"].key) as bob:
        run_id = accepted(client, "document-extractor", DOCUMENT)
        busy(start(client, "policy-checker", APPROVED_CLAIM))
        busy(start(client, "document-extractor", DOCUMENT))
        busy(start(bob, "policy-checker", APPROVED_CLAIM))  # one at a time for everyone, not per user
        assert status(client, run_id)["state"] == "PENDING"
    assert [run[0] for run in runs_in_db(api)] == [run_id]


def test_simultaneous_requests_get_exactly_one_202(make_server: Callable[..., LiveServer]) -> None:
    api = make_server(workers=0)  # the winner stays queued, so every other request must see it
    demo = seed_demo(api.settings)
    owners = {user.key: user for user in demo.values()}

    winner = one_winner(race(mixed([api], demo, 10)))
    run_id = winner.json()["run_id"]
    assert [run[0] for run in runs_in_db(api)] == [run_id]

    # Once that run has finished (a worker starts on the same database), a new request is accepted.
    owner = owners[winner.request.headers["authorization"].removeprefix("Bearer ")]
    make_server(workers=1)
    with api.client(owner.key) as client:
        wait_done(client, run_id)
        next_id = accepted(client, "policy-checker", APPROVED_CLAIM)
        assert wait_done(client, next_id)[0]["result"]["decision"] == "approved"
    assert len(runs_in_db(api)) == 2


def test_two_server_processes_share_the_one_slot(make_server: Callable[..., LiveServer]) -> None:
    """Each server has its own app, engine and pool; the rule is decided in PostgreSQL, not per process.
    Three rounds: race, exactly one winner, cancel it (a cancelled run frees the slot)."""
    one, two = make_server(workers=0), make_server(workers=0)
    demo = seed_demo(one.settings)
    owners = {user.key: user for user in demo.values()}
    winners: list[str] = []
    for _ in range(3):
        winner = one_winner(race(mixed([one, two], demo, 10)))
        run_id = winner.json()["run_id"]
        winners.append(run_id)
        assert [run[0] for run in runs_in_db(one)] == winners
        owner = owners[winner.request.headers["authorization"].removeprefix("Bearer ")]
        with two.client(owner.key) as client:
            assert client.post(f"/v1/runs/{run_id}/cancel").json()["status"] == RunStatus.CANCELLED
            assert status(client, run_id)["state"] == "ERROR"
