"""API keys: every route but the public ones needs one; keys are stored hashed and stamped when used."""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.models import ApiKey
from switchboard.users.service import UserService
from tests.fixtures.database import run_db
from tests.fixtures.http import assert_error, refused_within
from tests.fixtures.server import LiveServer

PUBLIC_PATHS = {"/health", "/ready", "/docs", "/openapi.json", "/docs/oauth2-redirect", "/redoc"}
# A trigger's ingest URL takes no API key: the sender's signature is the credential (tests/triggers/test_ingest.py).
SIGNED_PATHS = {"/v1/hooks/{trigger_id}"}


def create_user_with_key(url: str, email: str, *, admin: bool = False) -> tuple[int, str]:
    async def work(session: AsyncSession) -> tuple[int, str]:
        users = UserService(session)
        user = await users.create_user(email, email.split("@")[0], admin=admin)
        return user.id, (await users.issue_key(user, "test")).key

    return run_db(url, work)


def issue_another_key(url: str, user_id: int) -> str:
    async def work(session: AsyncSession) -> str:
        users = UserService(session)
        return (await users.issue_key(await users.get(user_id), "second")).key

    return run_db(url, work)


def revoke(url: str, prefix: str) -> None:
    async def work(session: AsyncSession) -> None:
        await UserService(session).revoke_key(prefix)

    run_db(url, work)


def key_row(url: str, key: str) -> ApiKey:
    async def work(session: AsyncSession) -> ApiKey:
        row = await session.scalar(select(ApiKey).where(ApiKey.prefix == key[:12]))
        assert row is not None
        return row

    return run_db(url, work)


def assert_unauthenticated(response: Any, *must_say: str) -> str:
    error = assert_error(response, 401, "authentication_error")
    assert response.headers["www-authenticate"] == "Bearer"
    for phrase in must_say:
        assert phrase in error["message"], error["message"]
    message: str = error["message"]
    return message


def test_public_routes_need_no_key(server: LiveServer) -> None:
    with server.client() as client:
        assert client.get("/health").status_code == 200
        assert client.get("/ready").status_code == 200
        docs = client.get("/docs")
        schema = client.get("/openapi.json")
    assert docs.status_code == 200
    assert "text/html" in docs.headers["content-type"]
    assert schema.status_code == 200
    assert schema.json()["info"]["title"] == "Switchboard"


def test_every_other_route_needs_a_key(server: LiveServer) -> None:
    with server.client() as client:
        paths: dict[str, dict[str, Any]] = client.get("/openapi.json").json()["paths"]
        checked: list[str] = []
        for path, operations in paths.items():
            if path in PUBLIC_PATHS | SIGNED_PATHS:
                continue
            concrete = re.sub(r"\{[^}]+\}", str(uuid.uuid4()), path)
            for method in operations:
                if method not in {"get", "post", "put", "patch", "delete"}:
                    continue
                response = client.request(method.upper(), concrete)
                assert_unauthenticated(response, "Authorization: Bearer")
                checked.append(f"{method.upper()} {path}")
    # The core routes are among those checked, so the loop above did not pass vacuously.
    for route in (
        "POST /v1/chat",
        "POST /v1/chat/stream",
        "GET /v1/threads",
        "POST /v1/threads",
        "GET /v1/threads/{thread_id}",
        "GET /v1/threads/{thread_id}/messages",
        "DELETE /v1/threads/{thread_id}",
        "GET /v1/agents",
        "GET /v1/admin/request-logs",
        "POST /api/v1/chat",
        "GET /v1/me",
        "GET /v1/keys",
        "POST /v1/keys",
        "DELETE /v1/keys/{key_id}",
        "GET /v1/admin/users",
        "POST /v1/admin/users",
        "GET /v1/admin/users/{user_id}/keys",
        "DELETE /v1/admin/keys/{key_id}",
    ):
        assert route in checked, (route, checked)


def test_missing_key_is_401_and_says_how_to_send_one(server: LiveServer) -> None:
    with server.client() as client:
        response = client.get("/v1/threads")
    message = assert_unauthenticated(response, "Authorization: Bearer")
    assert "missing" in message.lower()


@pytest.mark.parametrize(
    "header",
    [
        "Basic dXNlcjpwYXNzd29yZA==",  # another scheme
        "Token {key}",  # a valid key under the wrong scheme
        "{key}",  # no scheme at all
        "Bearer",  # a scheme and no key
        "Bearer: {key}",  # a colon after the scheme
    ],
)
def test_malformed_authorization_header_is_401(server: LiveServer, db_url: str, header: str) -> None:
    _, key = create_user_with_key(db_url, "malformed@example.com")
    with server.client() as client:
        response = client.get("/v1/threads", headers={"Authorization": header.format(key=key)})
        assert_unauthenticated(response, "Authorization: Bearer")
        # The same key, sent properly, works: the rejection was about the header's form.
        assert client.get("/v1/threads", headers={"Authorization": f"Bearer {key}"}).status_code == 200


def test_unknown_key_is_401_and_says_how_to_get_one(server: LiveServer, db_url: str) -> None:
    _, real = create_user_with_key(db_url, "real@example.com")
    unknown = "sb_" + secrets.token_urlsafe(30)
    # Right visible prefix, wrong secret: the prefix alone must not authenticate.
    forged = real[:12] + secrets.token_urlsafe(30)
    for key in (unknown, forged, "not-even-our-format"):
        with server.client(key) as client:
            response = client.get("/v1/threads")
        message = assert_unauthenticated(response, "switchboard keys create")
        assert "invalid api key" in message.lower()
        assert key not in message


def test_revoked_key_is_401_and_other_keys_keep_working(make_server: Callable[..., LiveServer], db_url: str) -> None:
    # Revoked outside the server (as by `switchboard keys revoke`): the server notices within its key cache's time.
    server = make_server(auth_cache_seconds=0.5)
    user_id, key = create_user_with_key(db_url, "revoked@example.com")
    other = issue_another_key(db_url, user_id)
    with server.client(key) as client:
        assert client.get("/v1/threads").status_code == 200
        revoke(db_url, key[:12])
        refused_within(client, "/v1/threads", seconds=0.5 + 1.0)
        response = client.post("/v1/chat", json={"agent": "support", "message": "hi"})
    message = assert_unauthenticated(response, "revoked", "another key")
    assert key[:12] in message  # names the key by its visible prefix…
    assert key[12:] not in message  # …and never echoes the secret part
    assert key_row(db_url, key).revoked_at is not None
    with server.client(other) as client:
        assert client.get("/v1/threads").status_code == 200


def test_keys_are_stored_hashed_with_their_visible_prefix(db_url: str) -> None:
    _, key = create_user_with_key(db_url, "hashed@example.com")
    assert key.startswith("sb_")

    async def dump(session: AsyncSession) -> list[str]:
        rows = await session.execute(text("SELECT row_to_json(k)::text FROM api_keys k"))
        return [str(row[0]) for row in rows]

    stored = run_db(db_url, dump)
    assert len(stored) == 1
    secret_part = key[12:]
    for row in stored:
        assert key not in row
        assert secret_part not in row
    api_key = key_row(db_url, key)
    assert api_key.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert api_key.prefix == key[:12]
    assert key.startswith(api_key.prefix)


def test_last_used_at_is_set_when_the_key_is_used(server: LiveServer, db_url: str) -> None:
    _, key = create_user_with_key(db_url, "used@example.com")
    _, idle = create_user_with_key(db_url, "idle@example.com")
    assert key_row(db_url, key).last_used_at is None
    before = datetime.now(UTC)
    with server.client(key) as client:
        assert client.get("/v1/threads").status_code == 200
    after = datetime.now(UTC)
    last_used = key_row(db_url, key).last_used_at
    assert last_used is not None
    assert before - timedelta(seconds=1) <= last_used <= after + timedelta(seconds=1)
    assert key_row(db_url, idle).last_used_at is None  # only the key that was used
