"""Every error has one shape: `{"error": {"type", "message", "request_id", "details"?}}` and nothing else."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.fixtures.demo import DemoUser, seed_demo
from tests.fixtures.http import assert_error
from tests.fixtures.server import LiveServer

TEST_USER = "test.user@example.com"
JSON = {"content-type": "application/json"}


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
        ("OPTIONS", "/v1/runs", {"GET", "POST"}),
        ("PUT", "/v1/threads/466ba6af-ad4e-430c-ba75-e13547c53e74", {"GET", "PATCH", "DELETE"}),  # any id: a fixed one
        # keeps the test ids the same in every process (pytest-xdist compares them)
        # A fixed path beside a path parameter is a resource of its own, not a malformed run id (was a 422).
        ("GET", "/v1/runs/wait", {"POST"}),
        ("DELETE", "/v1/runs/stream", {"POST"}),
    ],
)
def test_wrong_method_is_405_listing_every_method_of_the_resource(
    server: LiveServer, demo: dict[str, DemoUser], method: str, path: str, allowed: set[str]
) -> None:
    with server.client(demo[TEST_USER].key) as client, server.client() as anonymous:
        response = client.request(method, path)
        without_key = anonymous.request(method, path)  # the method is wrong whoever asks: before the key check
    for answer in (response, without_key):
        error = assert_error(answer, 405, "method_not_allowed")
        assert {m.strip() for m in answer.headers["allow"].split(",")} == allowed
        assert method in error["message"], error


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
            "400 not json": client.post("/v1/chat", content=b"{", headers=JSON),
            "400 not utf-8": client.post("/v1/chat", content='{"agent": "é"}'.encode("latin-1"), headers=JSON),
            "422 nested too deeply": client.post("/v1/threads", content=b"[" * 5000 + b"]" * 5000, headers=JSON),
            "400 not json, no key": anonymous.post("/v1/runs", content=b"{'agent': 1}", headers=JSON),
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
        400: "bad_request",
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
    for name in ("422 body", "400 not json", "422 query", "422 path", "422 unknown agent"):
        assert responses[name].json()["error"]["details"], name


def documented_statuses(openapi: dict[str, Any], method: str, path: str) -> set[str] | None:
    """The statuses /openapi.json documents for the operation a request reached (None: no operation)."""
    for template, operations in openapi["paths"].items():
        if re.fullmatch(re.sub(r"\{[^/]+\}", "[^/]+", template), path) and method.lower() in operations:
            return set(operations[method.lower()]["responses"])
    return None


def test_every_error_status_answered_is_documented_for_its_operation(
    make_server: Callable[..., LiveServer], server: LiveServer, demo: dict[str, DemoUser]
) -> None:
    small = make_server(max_prompt_chars=10)
    seed_demo(small.settings)
    openapi = httpx.get(f"{server.url}/openapi.json").json()
    responses = error_responses(server, small, demo[TEST_USER].key)
    with server.client(demo[TEST_USER].key) as client:
        responses["404 run status"] = client.get(f"/agents/status/{uuid.uuid4()}")
    checked = 0
    for name, response in responses.items():
        documented = documented_statuses(openapi, response.request.method, response.request.url.path)
        if name in ("404 route", "405"):  # no operation answered
            assert documented is None, name
            continue
        assert documented is not None, name
        assert str(response.status_code) in documented, (name, sorted(documented))
        checked += 1
    assert checked == len(responses) - 2
