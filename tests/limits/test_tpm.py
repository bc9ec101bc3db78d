"""Tokens per minute (TPM) inside runs: the `spender` agent reports known token counts when asked for whole
(POST /v1/runs/wait). Each response is charged after the fact; the next model request of a user in debt waits
(bounded) or fails, as configured, and their next run-creating request is refused at once."""

from __future__ import annotations

import time

from tests.fixtures.http import assert_error, get_run, wait_for_status
from tests.limits.conftest import ALICE, BOB, Limited, run_body


def test_over_tpm_a_run_fails_keeping_its_work_and_the_next_request_is_refused(limited: Limited) -> None:
    server, users = limited(tpm=100, tpm_exceeded="fail", workers=1)
    with server.client(users[ALICE].key) as client:
        # 150 tokens in the first response: 50 in debt, so the second request (after the tool call) may not start.
        response = client.post("/v1/runs/wait", json=run_body("tokens=150 requests=2"))
        assert response.status_code == 200, response.text
        run = response.json()
        assert run["status"] == "failed"
        assert run["error"]["type"] == "rate_limited"
        assert "100 model tokens per minute (tier free)" in run["error"]["message"]
        steps = client.get(f"/v1/runs/{run['id']}/steps").json()
        assert [s["kind"] for s in steps if s["kind"] == "tool_call"] == ["tool_call"]  # the work so far is kept
        refused = client.post("/v1/runs", json=run_body())
        error = assert_error(refused, 429, "rate_limited")
        assert "100 model tokens per minute (tier free)" in error["message"]
        # 150 tokens at 100 a minute: the bucket is 90 s ahead; one token fits again after 30.6 s.
        assert 30 <= int(refused.headers["retry-after"]) <= 31
        standing = client.get("/v1/limits").json()
    assert standing["tpm"]["limit"] == 100
    assert standing["tpm"]["remaining"] == 0
    assert 85 < standing["tpm"]["reset_seconds"] <= 90
    with server.client(users[BOB].key) as client:  # Bob's tokens are his own
        assert client.post("/v1/runs/wait", json=run_body("tokens=50 requests=1")).json()["status"] == "succeeded"


def test_a_chat_turn_stopped_by_tpm_answers_429_with_when_to_retry(limited: Limited) -> None:
    server, users = limited(tpm=100, tpm_exceeded="fail", workers=1)
    with server.client(users[ALICE].key) as client:
        stopped = client.post("/v1/chat", json=run_body("tokens=150 requests=2"))
        error = assert_error(stopped, 429, "rate_limited")
        assert "The run is recorded as failed" in error["message"]
        # 50 tokens in debt at 100 a minute: one token fits again after about 30.6 s.
        assert 30 <= int(stopped.headers["retry-after"]) <= 31
        (run,) = client.get("/v1/runs").json()["items"]
    assert run["error"]["type"] == "rate_limited"
    assert run["error"]["retry_at"] is not None


def test_over_tpm_a_run_waits_for_its_tokens_then_goes_on(limited: Limited) -> None:
    server, users = limited(tpm=600, tpm_exceeded="wait", tpm_max_wait_seconds=10, workers=1)
    with server.client(users[ALICE].key) as client:
        started = time.monotonic()
        # 610 tokens at 600 a minute (0.1 s each): the second request waits 1.1 s for one token.
        response = client.post("/v1/runs/wait", json=run_body("tokens=610 requests=2"))
        elapsed = time.monotonic() - started
        run = response.json()
    assert run["status"] == "succeeded", run
    assert run["output"] == "spent 2 requests"
    assert run["usage"]["input_tokens"] + run["usage"]["output_tokens"] == 1220
    assert elapsed >= 1.0


def test_a_wait_longer_than_allowed_fails_at_once(limited: Limited) -> None:
    server, users = limited(tpm=600, tpm_exceeded="wait", tpm_max_wait_seconds=0.5, workers=1)
    with server.client(users[ALICE].key) as client:
        run = client.post("/v1/runs/wait", json=run_body("tokens=610 requests=2")).json()
    assert (run["status"], run["error"]["type"]) == ("failed", "rate_limited")


def test_a_cancel_interrupts_a_run_waiting_for_tokens(limited: Limited) -> None:
    # A background run is streamed: its first response's usage is Pydantic AI's estimate (over 50 tokens), at 30 a
    # minute a wait of well over 30 s before the second request.
    server, users = limited(tpm=30, tpm_exceeded="wait", tpm_max_wait_seconds=300, workers=1)
    with server.client(users[ALICE].key) as client:
        run_id = client.post("/v1/runs", json=run_body("tokens=1 requests=2")).json()["id"]
        deadline = time.monotonic() + 10
        while not [s for s in client.get(f"/v1/runs/{run_id}/steps").json() if s["kind"] == "tool_call"]:
            assert time.monotonic() < deadline, "the run made no tool call"
            time.sleep(0.05)
        time.sleep(0.3)  # into the wait before the second model request
        assert get_run(client, run_id)["status"] == "running"
        cancelled_at = time.monotonic()
        assert client.post(f"/v1/runs/{run_id}/cancel").status_code == 200
        run = wait_for_status(client, run_id, timeout=10)
    assert run["status"] == "cancelled"
    assert time.monotonic() - cancelled_at < 5
