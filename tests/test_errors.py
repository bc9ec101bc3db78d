"""Every error has one shape: `{"error": {"type", "message", "request_id", "details"?}}` and nothing else."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import httpx
import pytest

from tests.fixtures.demo import DemoUser, seed_demo
from tests.fixtures.http import assert_error
from tests.fixtures.server import LiveServer

TEST_USER = "test.user@example.com"


@pytest.mark.parametrize(("method", "path"), [("GET", "/nope"), ("POST", "/v1/nope"), ("GET", "/v1/threads/a/b/c")])
def test_unknown_route_is_404_in_the_error_shape(server: LiveServer, method: str, path: str) -> None:
    with server.client() as client:
        response = client.request(method, path, headers={"X-Request-ID": "unknown-route"})
    error = assert_error(response, 404, "not_found")
    assert error["request_id"] == "unknown-route"
    assert f"{method} {path}" in error["message"]
    assert "/docs" in error["message"]  # where to look instead


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("GET", "/v1/chat", {"POST"}),
        ("PUT", "/v1/threads", {"GET", "POST"}),
        ("POST", "/health", {"GET"}),
        ("PATCH", "/v1/threads/466ba6af-ad4e-430c-ba75-e13547c53e74", {"GET", "DELETE"}),  # any id: a fixed one
        # keeps the test ids the same in every process (pytest-xdist compares them)
    ],
)
def test_wrong_method_is_405_in_the_error_shape(
    server: LiveServer, demo: dict[str, DemoUser], method: str, path: str, allowed: set[str]
) -> None:
    with server.client(demo[TEST_USER].key) as client:
        response = client.request(method, path)
    assert_error(response, 405, "method_not_allowed")
    # Starlette lists the methods of the first route on the path only (one route per method here), so the
    # Allow header names some, not necessarily all, of the allowed methods; never the one refused.
    listed = {m.strip() for m in response.headers["allow"].split(",")}
    assert listed
    assert listed <= allowed
    assert method not in listed


def error_responses(server: LiveServer, small: LiveServer, key: str) -> dict[str, httpx.Response]:
    with server.client(key) as client, server.client() as anonymous, small.client(key) as limited:
        return {
            "401 missing key": anonymous.get("/v1/threads"),
            "401 bad key": anonymous.get("/v1/threads", headers={"Authorization": "Bearer sb_nope"}),
            "403 not admin": client.get("/v1/admin/request-logs"),
            "404 route": client.get("/nowhere"),
            "404 thread": client.get(f"/v1/threads/{uuid.uuid4()}"),
            "404 thread chat": client.post(
                "/v1/chat", json={"agent": "support", "message": "hi", "thread_id": str(uuid.uuid4())}
            ),
            "405": client.delete("/v1/chat"),
            "413": limited.post("/v1/chat", json={"agent": "support", "message": "x" * 11}),
            "413 stream": limited.post("/v1/chat/stream", json={"agent": "support", "message": "x" * 11}),
            "422 body": client.post("/v1/chat", json={"agent": "support"}),
            "422 not json": client.post("/v1/chat", content=b"{", headers={"content-type": "application/json"}),
            "422 query": client.get("/v1/threads", params={"limit": 0}),
            "422 path": client.get("/v1/threads/not-a-uuid"),
            "422 unknown agent": client.post("/v1/chat", json={"agent": "nope", "message": "hi"}),
            "422 cursor": client.get("/v1/threads", params={"cursor": "bad"}),
        }


def test_every_error_response_has_exactly_the_error_keys(
    make_server: Callable[..., LiveServer], server: LiveServer, demo: dict[str, DemoUser]
) -> None:
    small = make_server(max_prompt_chars=10)
    seed_demo(small.settings)  # idempotent: the same users and keys
    responses = error_responses(server, small, demo[TEST_USER].key)
    expected_types = {
        401: "authentication_error",
        403: "permission_denied",
        404: "not_found",
        405: "method_not_allowed",
        413: "payload_too_large",
        422: "validation_error",
    }
    for name, response in responses.items():
        status = int(name.split()[0])
        error = assert_error(response, status, expected_types[status])
        if "details" in error:
            assert isinstance(error["details"], list), name
            for detail in error["details"]:
                assert set(detail) == {"field", "message"}, (name, detail)
    # Request validation failures always say which field.
    for name in ("422 body", "422 not json", "422 query", "422 path", "422 unknown agent"):
        assert responses[name].json()["error"]["details"], name
