"""Run-creating requests per minute (RPM), over HTTP, on both limiter stores: exactly the limit admitted of many at
once, a Retry-After that says when a request succeeds, the X-RateLimit headers on every response of a limited
route, the limit shared by two servers, and the runs:write scope."""

from __future__ import annotations

import math
import time
import uuid
from typing import Any

import httpx
import pytest

from tests.fixtures.http import assert_error
from tests.limits.conftest import ADMIN, ALICE, BOB, Limited, concurrently, run_body


def _refusals(client: httpx.Client, limit: str) -> float:
    """switchboard_rate_limited_total{limit=…} in GET /metrics (the process's count: tests share the process)."""
    line = f'switchboard_rate_limited_total{{limit="{limit}"}} '
    found = [row for row in client.get("/metrics").text.splitlines() if row.startswith(line)]
    return float(found[0].removeprefix(line)) if found else 0.0


def test_fifty_requests_at_once_against_ten_rpm_admit_exactly_ten(limited: Limited, store: dict[str, Any]) -> None:
    server, users = limited(rpm=10, **store)
    with server.client(users[ADMIN].key) as admin:
        counted_before = _refusals(admin, "rpm")
    responses = concurrently(server, users[ALICE].key, 50)
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [202] * 10 + [429] * 40
    refused = [r for r in responses if r.status_code == 429]
    for response in refused:
        error = assert_error(response, 429, "rate_limited")
        assert "10 run-creating requests per minute (tier free)" in error["message"]
        # 10 per minute: one comes back every 6 s; the burst took well under a second of it.
        assert 5 <= int(response.headers["retry-after"]) <= 6
        assert 4_000 < int(response.headers["retry-after-ms"]) <= 6_000
        assert response.headers["x-ratelimit-limit"] == "10"
        assert response.headers["x-ratelimit-remaining"] == "0"
    remaining = sorted(int(r.headers["x-ratelimit-remaining"]) for r in responses if r.status_code == 202)
    assert remaining == list(range(10))  # each admitted request saw the one before it
    with server.client(users[ADMIN].key) as admin:
        assert _refusals(admin, "rpm") >= counted_before + 40
    with server.client(users[BOB].key) as client:  # another user's limit is their own
        assert client.post("/v1/runs", json=run_body()).status_code == 202


def _exhaust(client: httpx.Client, most: int) -> httpx.Response:
    """Create runs until one is refused; returns the refusal."""
    for _ in range(most):
        response = client.post("/v1/runs", json=run_body())
        if response.status_code == 429:
            return response
        assert response.status_code == 202, response.text
    raise AssertionError(f"no refusal in {most} requests")


def test_retry_after_says_when_a_request_succeeds(limited: Limited, store: dict[str, Any]) -> None:
    # 60 per minute: one back every second, so the wait after the burst is under a second.
    server, users = limited(rpm=60, **store)
    with server.client(users[ALICE].key) as client:
        refused = _exhaust(client, 100)
        wait = int(refused.headers["retry-after-ms"]) / 1000
        assert 0 < wait <= 1.0
        assert refused.headers["retry-after"] == str(math.ceil(wait))
        if wait > 0.4:  # early enough to be sure it is still too early
            assert client.post("/v1/runs", json=run_body()).status_code == 429
        time.sleep(wait + 0.05)
        admitted = client.post("/v1/runs", json=run_body())
        assert admitted.status_code == 202, admitted.text
        again = client.post("/v1/runs", json=run_body())  # that unit is spent: the next waits up to a second
        assert again.status_code == 429
        assert 0 < int(again.headers["retry-after-ms"]) <= 1000


def test_the_rate_limit_headers_are_on_every_response_of_a_limited_route(limited: Limited) -> None:
    server, users = limited(rpm=5, tpm=1000)
    with server.client(users[ALICE].key) as client:
        created = client.post("/v1/runs", json=run_body())
        assert created.status_code == 202
        assert (created.headers["x-ratelimit-limit"], created.headers["x-ratelimit-remaining"]) == ("5", "4")
        assert 11 <= int(created.headers["x-ratelimit-reset"]) <= 12  # until the bucket is full: one unit, 12 s
        assert created.headers["x-ratelimit-limit-tokens"] == "1000"
        assert created.headers["x-ratelimit-remaining-tokens"] == "1000"
        invalid = client.post("/v1/runs", json={"agent": "no-such-agent", "message": "hi"})  # an error, still counted
        assert invalid.status_code in (404, 422)
        assert invalid.headers["x-ratelimit-remaining"] == "3"
        with client.stream("POST", "/v1/runs/stream", json=run_body()) as streamed:  # a stream: headers first
            assert streamed.status_code == 200
            assert streamed.headers["x-ratelimit-remaining"] == "2"
        listed = client.get("/v1/runs")  # not a run-creating route: not limited, no headers
        assert listed.status_code == 200
        assert "x-ratelimit-limit" not in listed.headers


def test_a_tier_without_limits_is_not_limited_and_has_no_headers(limited: Limited) -> None:
    server, users = limited(rpm=1)
    with server.client(users[ALICE].key) as client:
        assert client.post("/v1/runs", json=run_body()).status_code == 202
        assert_error(client.post("/v1/runs", json=run_body()), 429, "rate_limited")
    admin = users["admin@example.com"]
    with server.client(admin.key) as client:
        response = client.patch(f"/v1/admin/users/{users[BOB].user_id}", json={"tier": "pro"})  # pro: no numbers
        assert response.status_code == 200, response.text
    with server.client(users[BOB].key) as client:
        for _ in range(3):
            response = client.post("/v1/runs", json=run_body())
            assert response.status_code == 202
            assert "x-ratelimit-limit" not in response.headers


def test_two_servers_on_one_database_share_the_limit(limited: Limited, store: dict[str, Any]) -> None:
    first, users = limited(rpm=6, **store)
    second, _ = limited(rpm=6, **store)
    key = users[ALICE].key
    statuses = [r.status_code for r in concurrently(first, key, 4) + concurrently(second, key, 4)]
    assert sorted(statuses) == [202] * 6 + [429] * 2


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/runs", run_body()),
        ("/v1/runs/wait", run_body()),
        ("/v1/chat", {"agent": "spender", "message": "hi"}),
    ],
)
def test_run_creating_routes_need_the_runs_write_scope(limited: Limited, path: str, body: dict[str, Any]) -> None:
    server, users = limited(workers=1)
    with server.client(users[ALICE].key) as client:
        narrow = client.post("/v1/keys", json={"name": "reader", "scopes": ["tools:call"]}).json()["key"]
        wide = client.post("/v1/keys", json={"name": "writer", "scopes": ["runs:write"]}).json()["key"]
    with server.client(narrow) as client:
        error = assert_error(client.post(path, json=body), 403, "permission_denied")
        assert "runs:write" in error["message"]
        assert client.get("/v1/runs").status_code == 200  # reading needs no scope
    with server.client(wide) as client:
        assert client.post(path, json=body).status_code in (200, 202)


def test_a_refused_stream_is_an_error_not_a_stream(limited: Limited) -> None:
    server, users = limited(rpm=1)
    with server.client(users[ALICE].key) as client:
        with client.stream("POST", "/v1/runs/stream", json=run_body()) as first:  # (no worker: it stays queued)
            assert first.status_code == 200
            assert first.headers["content-type"].startswith("text/event-stream")
        refused = client.post("/v1/runs/stream", json=run_body())
        assert_error(refused, 429, "rate_limited")
        assert refused.headers["x-ratelimit-remaining"] == "0"


def test_an_unreachable_redis_refuses_run_creation_with_503_not_500(limited: Limited) -> None:
    server, users = limited(rpm=10, redis_url="redis://127.0.0.1:9/0")  # nothing listens on the discard port
    with server.client(users[ALICE].key) as client:
        refused = client.post("/v1/runs", json=run_body())
        assert_error(refused, 503, "unavailable")
        assert refused.headers["retry-after"] == "2"
        assert client.get("/v1/runs").json()["items"] == []  # nothing was created


RUN_CREATING_ROUTES = [
    "/v1/runs",
    "/v1/runs/wait",
    "/v1/runs/stream",
    "/v1/chat",
    "/v1/chat/stream",
    "/v1/schedules/{id}/run",
    "/api/v1/chat",
    "/agents/run",
    "/conversations/{id}/messages",
    "/conversations/{id}/continue",
    "/tasks",
    "/tasks/{id}/execute",
    "/tasks/webhooks/{id}",
    "/api/v1/process",
    "/webhook/receive",
]


def test_every_run_creating_route_is_guarded(limited: Limited) -> None:
    """A read-only key is refused on each, before anything is looked up (the path's id is nobody's)."""
    server, users = limited(rpm=50)
    with server.client(users[ALICE].key) as client:
        read_only = client.post("/v1/keys", json={"name": "read only", "scopes": []}).json()["key"]
    with server.client(read_only) as client:
        for path in RUN_CREATING_ROUTES:
            response = client.post(path.replace("{id}", str(uuid.uuid4())), json={})
            error = assert_error(response, 403, "permission_denied")
            assert "runs:write" in error["message"], path
