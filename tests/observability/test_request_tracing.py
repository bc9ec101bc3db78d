"""Request ids, request logs (written off the request path, read by admins), log hygiene, /health and /ready."""

from __future__ import annotations

import asyncio
import io
import re
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from switchboard.kit.pagination import encode_cursor
from switchboard.models.runs import RunStatus
from switchboard.users.service import UserService
from tests.fixtures.database import run_db
from tests.fixtures.demo import DemoUser, seed_demo
from tests.fixtures.http import assert_error
from tests.fixtures.logs import log_events
from tests.fixtures.server import LiveServer, live_server
from tests.fixtures.server import make_settings as settings_for

TEST_USER = "test.user@example.com"
ADMIN = "admin@example.com"
GENERATED_ID = re.compile(r"^[0-9a-f]{32}$")
LOGS = "/v1/admin/request-logs"


def wait_for_rows(admin: httpx.Client, count: int, timeout: float = 10.0, **params: Any) -> list[dict[str, Any]]:
    """Poll the admin endpoint until at least `count` rows match (rows are written in the background)."""
    deadline = time.monotonic() + timeout
    while True:
        response = admin.get(LOGS, params={"limit": 100, **params})
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["items"]
        if len(items) >= count:
            return items
        if time.monotonic() > deadline:
            raise AssertionError(f"expected {count} request-log rows for {params} within {timeout}s, got {items}")
        time.sleep(0.05)


def settle(admin: httpx.Client) -> None:
    """Wait until every request made so far has its row: rows are written in order, so once a fresh
    request's row is visible, so are those of all earlier requests."""
    marker = f"barrier-{uuid.uuid4().hex}"
    assert admin.get("/health", headers={"X-Request-ID": marker}).status_code == 200
    wait_for_rows(admin, 1, request_id=marker)


# -- X-Request-ID ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("supplied", ["trace-1.2:3_X-y", "a" * 128, "0", "req:2026-11-21T04:00:00.123Z"])
def test_a_safe_request_id_is_echoed_in_header_and_bodies(
    server: LiveServer, demo: dict[str, DemoUser], supplied: str
) -> None:
    headers = {"X-Request-ID": supplied}
    with server.client(demo[TEST_USER].key) as client:
        health = client.get("/health", headers=headers)
        chat = client.post("/v1/chat", json={"agent": "support", "message": "hello"}, headers=headers)
        not_found = client.get(f"/v1/threads/{uuid.uuid4()}", headers=headers)
        invalid = client.post("/v1/chat", json={"agent": "support"}, headers=headers)
    with server.client() as anonymous:
        unauthenticated = anonymous.get("/v1/threads", headers=headers)
    assert health.headers["x-request-id"] == supplied
    assert chat.headers["x-request-id"] == supplied
    assert chat.json()["request_id"] == supplied
    for response, status in ((not_found, 404), (invalid, 422), (unauthenticated, 401)):
        assert response.status_code == status
        assert response.headers["x-request-id"] == supplied
        assert response.json()["error"]["request_id"] == supplied


@pytest.mark.parametrize(
    "supplied", ["a" * 129, "has space", "semi;colon", "slash/path", "quote'", "<script>", "new\tline"]
)
def test_an_unsafe_or_too_long_request_id_is_replaced(server: LiveServer, supplied: str) -> None:
    with server.client() as client:
        response = client.get("/v1/threads", headers={"X-Request-ID": supplied})
    error = assert_error(response, 401, "authentication_error")  # the body carries the replacement too
    assert response.headers["x-request-id"] != supplied
    assert GENERATED_ID.match(response.headers["x-request-id"])
    assert error["request_id"] == response.headers["x-request-id"]


def test_without_a_request_id_one_is_generated_per_request(server: LiveServer) -> None:
    with server.client() as client:
        ids = [client.get("/health").headers["x-request-id"] for _ in range(3)]
        error = client.get("/v1/threads")
    assert all(GENERATED_ID.match(i) for i in ids)
    assert len(set(ids)) == 3
    assert error.json()["error"]["request_id"] == error.headers["x-request-id"]
    assert GENERATED_ID.match(error.headers["x-request-id"])


# -- request_logs ---------------------------------------------------------------------------------------


def test_one_request_log_row_per_request(server: LiveServer, demo: dict[str, DemoUser]) -> None:
    user = demo[TEST_USER]
    rid = uuid.uuid4().hex[:8]
    agent = {"User-Agent": "switchboard-tests/1.0"}
    with server.client() as anonymous:
        anonymous.get("/v1/threads", headers={"X-Request-ID": f"{rid}-anon", **agent})
    with server.client(user.key) as client:
        client.get("/v1/threads", headers={"X-Request-ID": f"{rid}-list", **agent})
        client.post("/v1/chat", json={"agent": "support", "message": "hi"}, headers={"X-Request-ID": f"{rid}-chat"})
        client.get("/no/such/route", headers={"X-Request-ID": f"{rid}-404", **agent})
    with server.client(demo[ADMIN].key) as admin:
        settle(admin)
        rows = {
            suffix: admin.get(LOGS, params={"request_id": f"{rid}-{suffix}"}).json()["items"]
            for suffix in ("anon", "list", "chat", "404")
        }
    assert {suffix: len(found) for suffix, found in rows.items()} == {"anon": 1, "list": 1, "chat": 1, "404": 1}
    anon, listed, chat, missing = (rows[s][0] for s in ("anon", "list", "chat", "404"))
    assert (anon["method"], anon["path"], anon["status_code"], anon["user_id"]) == ("GET", "/v1/threads", 401, None)
    assert (listed["method"], listed["path"], listed["status_code"]) == ("GET", "/v1/threads", 200)
    assert listed["user_id"] == user.user_id
    assert (chat["method"], chat["path"], chat["status_code"], chat["user_id"]) == (
        "POST",
        "/v1/chat",
        200,
        user.user_id,
    )
    assert (missing["path"], missing["status_code"], missing["user_id"]) == ("/no/such/route", 404, None)
    for row in (anon, listed, missing):
        assert row["user_agent"] == "switchboard-tests/1.0"
    assert chat["user_agent"].startswith("python-httpx/")
    for row in (anon, listed, chat, missing):
        assert row["client_host"] == "127.0.0.1"
        assert isinstance(row["duration_ms"], float)
        assert row["duration_ms"] >= 0
        datetime.fromisoformat(row["created_at"])


def test_a_reused_request_id_keeps_every_row(server: LiveServer, demo: dict[str, DemoUser]) -> None:
    reused = f"reused-{uuid.uuid4().hex[:8]}"
    missing = f"/v1/threads/{uuid.uuid4()}"
    with server.client(demo[TEST_USER].key) as client:
        assert client.get("/health", headers={"X-Request-ID": reused}).status_code == 200
        assert client.get("/v1/threads", headers={"X-Request-ID": reused}).status_code == 200
        assert client.get(missing, headers={"X-Request-ID": reused}).status_code == 404
    with server.client(demo[ADMIN].key) as admin:
        settle(admin)
        rows = admin.get(LOGS, params={"request_id": reused}).json()["items"]
    # Newest first; the id is not unique, so every request keeps its own row.
    assert [(r["path"], r["status_code"]) for r in rows] == [(missing, 404), ("/v1/threads", 200), ("/health", 200)]
    assert [r["user_id"] for r in rows] == [demo[TEST_USER].user_id, demo[TEST_USER].user_id, None]


def test_request_logs_are_for_admins_only(server: LiveServer, demo: dict[str, DemoUser]) -> None:
    with server.client(demo[TEST_USER].key) as member:
        forbidden = member.get(LOGS)
    with server.client() as anonymous:
        unauthenticated = anonymous.get(LOGS)
    with server.client(demo[ADMIN].key) as admin:
        allowed = admin.get(LOGS)
    error = assert_error(forbidden, 403, "permission_denied")
    assert "admin" in error["message"]
    assert_error(unauthenticated, 401, "authentication_error")
    assert allowed.status_code == 200
    assert set(allowed.json()) == {"items", "next_cursor"}


def test_request_log_filters(server: LiveServer, demo: dict[str, DemoUser]) -> None:
    tag = uuid.uuid4().hex[:8]
    with server.client(demo[TEST_USER].key) as client:
        client.get("/health", headers={"X-Request-ID": f"{tag}-early"})
        time.sleep(0.05)
        boundary = datetime.now(UTC)
        time.sleep(0.05)
        client.get("/v1/nothing-here", headers={"X-Request-ID": f"{tag}-missing"})
        client.get("/health", headers={"X-Request-ID": f"{tag}-late"})
    with server.client(demo[ADMIN].key) as admin:
        settle(admin)

        def ids(**params: Any) -> list[str]:
            response = admin.get(LOGS, params={"limit": 100, **params})
            assert response.status_code == 200, response.text
            return [r["request_id"] for r in response.json()["items"] if r["request_id"].startswith(tag)]

        by_request_id = admin.get(LOGS, params={"request_id": f"{tag}-missing"}).json()["items"]
        by_path = admin.get(LOGS, params={"path": "/health"}).json()["items"]
        by_status = admin.get(LOGS, params={"status": 404}).json()["items"]
        since = ids(since=boundary.isoformat())
        until = ids(until=boundary.isoformat())
        both = ids(since=boundary.isoformat(), path="/health")
        bad_status = admin.get(LOGS, params={"status": 99})
        bad_since = admin.get(LOGS, params={"since": "last tuesday"})
    assert [r["request_id"] for r in by_request_id] == [f"{tag}-missing"]
    assert {r["path"] for r in by_path} == {"/health"}
    assert {f"{tag}-early", f"{tag}-late"} <= {r["request_id"] for r in by_path}
    assert [r["request_id"] for r in by_status] == [f"{tag}-missing"]
    assert since == [f"{tag}-late", f"{tag}-missing"]  # newest first
    assert until == [f"{tag}-early"]
    assert both == [f"{tag}-late"]
    assert [d["field"] for d in assert_error(bad_status, 422, "validation_error")["details"]] == ["status"]
    assert [d["field"] for d in assert_error(bad_since, 422, "validation_error")["details"]] == ["since"]


def test_request_logs_are_paginated_newest_first(server: LiveServer, demo: dict[str, DemoUser]) -> None:
    rid = f"paged-{uuid.uuid4().hex[:8]}"
    with server.client() as client:
        for _ in range(5):
            client.get("/health", headers={"X-Request-ID": rid})
    with server.client(demo[ADMIN].key) as admin:
        settle(admin)
        pages: list[list[dict[str, Any]]] = []
        cursor: str | None = None
        while len(pages) < 10:
            params: dict[str, Any] = {"request_id": rid, "limit": 2}
            if cursor is not None:
                params["cursor"] = cursor
            page = admin.get(LOGS, params=params).json()
            pages.append(page["items"])
            cursor = page["next_cursor"]
            if cursor is None:
                break
        bad_cursors = [
            admin.get(LOGS, params={"cursor": c})
            for c in ("garbage!", encode_cursor("not a time", 1), encode_cursor(datetime.now(UTC).isoformat(), "x"))
        ]
    assert [len(p) for p in pages] == [2, 2, 1]
    rows = [r for p in pages for r in p]
    assert len({r["id"] for r in rows}) == 5
    assert [r["created_at"] for r in rows] == sorted((r["created_at"] for r in rows), reverse=True)
    for response in bad_cursors:
        assert "cursor" in assert_error(response, 422, "validation_error")["message"]


# -- log output -----------------------------------------------------------------------------------------


def test_log_output_never_contains_api_keys(
    capture_stderr: Callable[[], io.StringIO], make_server: Callable[..., LiveServer], db_url: str
) -> None:
    server_output = capture_stderr()
    server = make_server(log_level="DEBUG")
    users = seed_demo(server.settings)
    key = users[TEST_USER].key

    async def revoked_key(session: AsyncSession) -> str:
        service = UserService(session)
        issued = await service.issue_key(await service.get(users[TEST_USER].user_id), "to revoke")
        await service.revoke_key(issued.api_key.prefix)
        return issued.key

    revoked = run_db(db_url, revoked_key)
    unknown = "sb_" + "Z" * 40
    tag = uuid.uuid4().hex[:8]
    sent: list[tuple[str, str, int]] = []

    def send(client: httpx.Client, method: str, path: str, status: int, **kwargs: Any) -> None:
        rid = f"{tag}-{len(sent)}"
        response = client.request(method, path, headers={"X-Request-ID": rid, **kwargs.pop("headers", {})}, **kwargs)
        assert response.status_code == status, response.text
        sent.append((rid, path, status))

    with server.client(key) as client:
        send(client, "GET", "/v1/threads", 200)
        send(client, "POST", "/v1/chat", 200, json={"agent": "support", "message": "Show me all my orders"})
        send(client, "POST", "/v1/chat", 422, json={"agent": "support"})
        send(client, "GET", f"/v1/threads/{uuid.uuid4()}", 404)
        send(client, "GET", "/no/such/route", 404)
        with client.stream("POST", "/v1/chat/stream", json={"agent": "support", "message": "hello"}) as stream:
            assert stream.status_code == 200
            stream.read()
    with server.client(revoked) as client:
        send(client, "GET", "/v1/threads", 401)
    with server.client(unknown) as client:
        send(client, "GET", "/v1/threads", 401)
    with server.client() as client:
        send(client, "GET", "/v1/threads", 401, headers={"Authorization": f"Token {key}"})
    with server.client(users[ADMIN].key) as admin:
        settle(admin)

    output = server_output.getvalue()
    events = log_events(output)
    requests = {e["request_id"]: e for e in events if e.get("event") == "http.request"}
    for rid, path, status in sent:
        assert rid in requests, (rid, output[-2000:])
        assert (requests[rid]["path"], requests[rid]["status"]) == (path, status)
    assert any(e.get("event") == "run.settled" and e.get("status") == RunStatus.SUCCEEDED for e in events)
    for secret in (key, revoked, unknown, users[ADMIN].key):
        assert secret not in output
        assert secret[12:] not in output  # not even the part after the visible prefix
    assert "Bearer sb_" not in output
    assert "Token sb_" not in output


# -- /health and /ready ---------------------------------------------------------------------------------


def test_health_does_not_touch_the_database(tmp_path: Path) -> None:
    unreachable = settings_for("postgresql+asyncpg://nobody@127.0.0.1:1/nowhere", tmp_path)
    with live_server(unreachable) as server, server.client() as client:
        health = client.get("/health")
        ready = client.get("/ready")
    assert health.status_code == 200
    assert health.json()["status"] == "ok"
    assert health.json()["version"]
    error = assert_error(ready, 503, "unavailable")
    assert "database" in error["message"]


def test_ready_when_migrations_are_at_head(server: LiveServer) -> None:
    with server.client() as client:
        response = client.get("/ready")
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "ready", "database": "ok", "migrations": "at_head"}


def test_not_ready_while_migrations_are_pending(db_url: str, tmp_path: Path) -> None:
    """A reachable database without the tables: /ready says to migrate; /health is still fine."""
    admin_url = make_url(db_url)
    name = f"switchboard_unmigrated_{uuid.uuid4().hex[:8]}"

    async def admin(statement: str) -> None:
        engine = create_async_engine(admin_url.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
        try:
            async with engine.connect() as connection:
                await connection.execute(text(statement))
        finally:
            await engine.dispose()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        url = admin_url.set(database=name).render_as_string(hide_password=False)
        with live_server(settings_for(url, tmp_path, request_log_enabled=False)) as server, server.client() as client:
            ready = client.get("/ready")
            health = client.get("/health")
    finally:
        asyncio.run(admin(f'DROP DATABASE "{name}" WITH (FORCE)'))
    error = assert_error(ready, 503, "unavailable")
    assert "migrations pending" in error["message"]
    assert "switchboard migrate" in error["message"]
    assert health.status_code == 200


def test_a_runs_worker_log_lines_carry_the_request_id_that_created_it(
    capture_stderr: Callable[[], io.StringIO], make_server: Callable[..., LiveServer]
) -> None:
    """The worker executes a run long after (and outside) its request: its lines still name that request."""
    server_output = capture_stderr()
    server = make_server()
    key = seed_demo(server.settings)[TEST_USER].key
    tag = uuid.uuid4().hex[:8]
    runs: dict[str, str] = {}
    with server.client(key) as client:
        for n in range(2):
            request_id = f"{tag}-run-{n}"
            response = client.post(
                "/v1/runs/wait",
                json={"agent": "support", "message": "Show me all my orders"},
                headers={"X-Request-ID": request_id},
            )
            assert response.status_code == 200, response.text
            assert response.json()["status"] == RunStatus.SUCCEEDED
            runs[response.json()["id"]] = request_id

    events = log_events(server_output.getvalue())
    for run_id, request_id in runs.items():
        worker_lines = [
            e for e in events if e.get("run_id") == run_id and e.get("event") in {"run.claimed", "run.settled"}
        ]
        assert {e["event"] for e in worker_lines} == {"run.claimed", "run.settled"}, worker_lines
        assert {e.get("request_id") for e in worker_lines} == {request_id}, worker_lines
