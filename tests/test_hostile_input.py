"""Input PostgreSQL cannot store or a client should not be able to send gets a 4xx in the one error shape and
changes nothing: NUL characters, NaN and Infinity, hand-made cursors and filters at the calendar's edges,
out-of-range event ids, bodies too large or too slow. (Before, each of these was a 500 or a hang.)"""

from __future__ import annotations

import contextlib
import json
import socket
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from switchboard.kit.pagination import encode_cursor
from tests.fixtures.demo import DemoUser
from tests.fixtures.http import assert_error
from tests.fixtures.server import LiveServer

ALICE = "alice@example.com"
ADMIN = "admin@example.com"
JSON = {"Content-Type": "application/json"}


def nothing_created(client: httpx.Client) -> None:
    assert client.get("/v1/threads").json()["items"] == []
    assert client.get("/v1/runs").json()["items"] == []


def field_named(response: httpx.Response, field: str) -> None:
    error = assert_error(response, 422, "validation_error")
    assert field in [problem["field"] for problem in error["details"]], error
    assert field in error["message"], error


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/threads", {"agent": "support", "title": "a\u0000b"}, "title"),
        ("/v1/runs", {"agent": "support", "message": "hi\u0000"}, "message"),
        ("/v1/runs", {"agent": "support", "message": "hi", "metadata": {"k\u0000": 1}}, "metadata"),
        ("/v1/runs", {"agent": "support", "message": "hi", "metadata": {"k": ["ok", "\u0000"]}}, "metadata.k.1"),
        ("/v1/chat", {"agent": "support", "message": "\u0000"}, "message"),
        ("/api/v1/chat", {"prompt": "Show me my orders\u0000"}, "prompt"),
        ("/agents/run", {"agent_type": "document-extractor", "user_id": "u\u0000", "input": "x"}, "user_id"),
    ],
)
def test_a_nul_character_anywhere_in_a_body_is_422_naming_the_field(
    server: LiveServer, demo: dict[str, DemoUser], path: str, body: dict[str, Any], field: str
) -> None:
    with server.client(demo[ALICE].key) as client:
        field_named(client.post(path, json=body), field)
        nothing_created(client)


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e999", "-1e999"])
def test_numbers_jsonb_refuses_are_422_naming_the_field(
    server: LiveServer, demo: dict[str, DemoUser], number: str
) -> None:
    body = '{"agent": "support", "message": "hi", "metadata": {"score": %s}}' % number  # noqa: UP031 - raw JSON
    with server.client(demo[ALICE].key) as client:
        response = client.post("/v1/runs", content=body, headers=JSON)
        field_named(response, "metadata.score")
        assert number in assert_error(response, 422, "validation_error")["message"]
        nothing_created(client)


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/runs", {"agent": "support", "message": "hi", "limits": {"max_model_requests": True}}, "limits"),
        ("/v1/runs", {"agent": "support", "message": "hi", "limits": {"max_tool_calls": "5"}}, "limits"),
        ("/v1/runs", {"agent": "support", "message": "hi", "limits": {"timeout_seconds": "1.5"}}, "limits"),
        (f"/v1/runs/{uuid.UUID(int=1)}/approvals", {"tool_call_id": "x", "approve": 1}, "approve"),
        ("/api/v1/chat", {"prompt": "Show me all my orders", "user_id": True}, "user_id"),
    ],
)
def test_numbers_and_booleans_are_json_ones_not_strings_or_the_other(
    server: LiveServer, demo: dict[str, DemoUser], path: str, body: dict[str, Any], field: str
) -> None:
    """Pydantic took `true` as 1 and "5" as 5: as an admin, `user_id: true` acted for user 1."""
    with server.client(demo[ADMIN].key) as client:
        error = assert_error(client.post(path, json=body), 422, "validation_error")
        assert any(problem["field"].startswith(field) for problem in error["details"]), error
        nothing_created(client)


def nested(depth: int) -> Any:
    value: Any = "bottom"
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize("depth", [300, 900, 5000])
def test_json_nested_deeper_than_64_levels_is_422_and_changes_nothing(
    server: LiveServer, demo: dict[str, DemoUser], depth: int
) -> None:
    """300 levels of metadata were stored, and then could not be written back: a 500 for a thread that existed."""
    deep = "[" * depth + '"bottom"' + "]" * depth  # as text: Python's JSON writer stops at about 1000 levels
    body = '{"agent": "support", "message": "hi", "metadata": {"x": %s}}' % deep  # noqa: UP031 - raw JSON
    with server.client(demo[ALICE].key) as client:
        for path in ("/v1/threads", "/v1/runs"):
            error = assert_error(client.post(path, content=body, headers=JSON), 422, "validation_error")
            assert "64 levels" in error["message"], error
        nothing_created(client)


def test_json_nested_64_levels_deep_is_stored_and_returned(server: LiveServer, demo: dict[str, DemoUser]) -> None:
    metadata = {"x": nested(62)}  # the body, metadata and x: 64 levels with the list inside x
    with server.client(demo[ALICE].key) as client:
        created = client.post("/v1/threads", json={"agent": "support", "metadata": metadata})
        assert created.status_code == 201, created.text
        assert client.get(f"/v1/threads/{created.json()['id']}").json()["metadata"] == metadata


def test_a_nul_character_in_a_query_parameter_is_422(server: LiveServer, demo: dict[str, DemoUser]) -> None:
    with server.client(demo[ALICE].key) as client:
        field_named(client.get("/v1/runs", params={"agent": "sup\u0000port"}), "agent")


def test_metadata_is_limited_to_16_kib(server: LiveServer, demo: dict[str, DemoUser]) -> None:
    with server.client(demo[ALICE].key) as client:
        response = client.post("/v1/runs", json={"agent": "support", "message": "hi", "metadata": {"x": "y" * 17000}})
        error = assert_error(response, 422, "validation_error")
        assert "16384" in error["message"], error
        nothing_created(client)
        accepted = client.post("/v1/threads", json={"agent": "support", "metadata": {"x": "y" * 16000}})
        assert accepted.status_code == 201, accepted.text


def hand_made(client: httpx.Client, path: str, cursor: str) -> httpx.Response:
    return client.get(path, params={"cursor": cursor})


@pytest.mark.parametrize(
    ("path", "values"),
    [
        ("/v1/runs", ["2020-01-01T00:00:00+00:00", 123]),
        ("/v1/runs", ["0001-01-01T00:00:00+14:00", "7f1b7a52-3b7c-4a3e-9d47-3c7fb4f1b6f0"]),
        ("/v1/threads", ["9999-12-31T23:59:59-14:00", "7f1b7a52-3b7c-4a3e-9d47-3c7fb4f1b6f0"]),
        ("/v1/threads", ["2020-01-01T00:00:00", "7f1b7a52-3b7c-4a3e-9d47-3c7fb4f1b6f0"]),  # no offset
        ("messages", [2147483648]),
        ("messages", [1e20]),
        ("messages", [True]),
        ("/v1/admin/request-logs", ["2020-01-01T00:00:00+00:00", 2**63]),
    ],
)
def test_hand_made_cursors_are_422(server: LiveServer, demo: dict[str, DemoUser], path: str, values: list[Any]) -> None:
    with server.client(demo[ADMIN].key) as client:
        if path == "messages":
            thread = client.post("/v1/threads", json={"agent": "support"}).json()["id"]
            path = f"/v1/threads/{thread}/messages"
        error = assert_error(hand_made(client, path, encode_cursor(*values)), 422, "validation_error")
    assert "cursor" in error["message"], error


@pytest.mark.parametrize("edge", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"])
@pytest.mark.parametrize("bound", ["since", "until"])
def test_request_log_filters_at_the_calendar_edge_are_422(
    server: LiveServer, demo: dict[str, DemoUser], bound: str, edge: str
) -> None:
    with server.client(demo[ADMIN].key) as client:
        field_named(client.get("/v1/admin/request-logs", params={bound: edge}), bound)


@pytest.mark.parametrize("value", ["0.5", "1700000000", "-1e3"])
@pytest.mark.parametrize("bound", ["since", "until"])
def test_request_log_filters_are_times_not_numbers(
    server: LiveServer, demo: dict[str, DemoUser], bound: str, value: str
) -> None:
    """Pydantic would read a number as seconds since 1970; the filters are documented as ISO 8601 times."""
    with server.client(demo[ADMIN].key) as client:
        field_named(client.get("/v1/admin/request-logs", params={bound: value}), bound)
        assert client.get("/v1/admin/request-logs", params={bound: "2026-01-31T12:00:00Z"}).status_code == 200


@pytest.mark.parametrize("user_id", [2**63 + 1, 2**53, 0])
def test_a_user_id_beyond_what_an_id_can_be_is_422(server: LiveServer, demo: dict[str, DemoUser], user_id: int) -> None:
    """An admin acting for user 2**63 + 1 was a 500: the database cannot even be asked about it."""
    with server.client(demo[ADMIN].key) as client:
        field_named(
            client.post("/api/v1/chat", json={"prompt": "Show me all my orders", "user_id": user_id}), "user_id"
        )
        nothing_created(client)


@pytest.mark.parametrize("value", ["²", "1" * 5000, "2147483648", "-1", "1.5"])
def test_last_event_ids_that_are_not_event_numbers_are_422(
    server: LiveServer, demo: dict[str, DemoUser], value: str
) -> None:
    with server.client(demo[ALICE].key) as client:
        run = client.post("/v1/runs", json={"agent": "support", "message": "hi"}).json()["id"]
        by_header = client.get(f"/v1/runs/{run}/events", headers={b"Last-Event-ID": value.encode()})
        assert_error(by_header, 422, "validation_error")
        by_query = client.get(f"/v1/runs/{run}/events", params={"last_event_id": value})
        assert_error(by_query, 422, "validation_error")


def test_a_body_over_the_limit_is_413_before_anything_else(make_server: Callable[..., LiveServer]) -> None:
    server = make_server(max_body_bytes=10_000)
    big = json.dumps({"agent": "support", "message": "x" * 20_000})
    with server.client() as anonymous:  # no key: refused before authentication, for its size
        declared = anonymous.post("/v1/runs", content=big, headers=JSON)
        streamed = anonymous.post("/v1/runs", content=iter([big[:6000].encode(), big[6000:].encode()]), headers=JSON)
    for response in (declared, streamed):
        error = assert_error(response, 413, "payload_too_large")
        assert "10000" in error["message"], error


def test_a_body_that_never_arrives_is_408_within_the_timeout(make_server: Callable[..., LiveServer]) -> None:
    server = make_server(body_timeout_seconds=0.5)
    host, port = server.url.removeprefix("http://").split(":")
    started = time.monotonic()
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(
            b"POST /v1/runs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"
            b'{"agent": "'
        )
        reply = b""
        while b"\r\n\r\n" not in reply or not reply.rstrip().endswith(b"}"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            reply += chunk
    assert time.monotonic() - started < 5
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408"), reply
    error = json.loads(body)["error"]
    assert error["type"] == "request_timeout"
    assert "100 declared" in error["message"], error


def raw_exchange(server: LiveServer, request: bytes) -> tuple[bytes, dict[str, Any]]:
    """Send bytes as they are; the status line and the JSON body of the answer (the server closes after it)."""
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        with contextlib.suppress(ConnectionResetError, BrokenPipeError):  # it may answer before reading it all
            sock.sendall(request)
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    head, _, body = reply.partition(b"\r\n\r\n")
    return head.split(b"\r\n")[0], json.loads(body)


def test_requests_the_http_layer_cannot_parse_get_the_error_shape_too(server: LiveServer) -> None:
    huge = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 200_000 + b"\r\n\r\n"
    status, body = raw_exchange(server, huge)
    assert status == b"HTTP/1.1 431 ", status
    assert body["error"]["type"] == "headers_too_large"
    assert set(body["error"]) == {"type", "message", "request_id"}

    status, body = raw_exchange(server, b"NOT HTTP AT ALL\r\n\r\n")
    assert status == b"HTTP/1.1 400 ", status
    assert body["error"]["type"] == "bad_request"


def test_a_good_request_still_goes_through_the_guard(server: LiveServer, demo: dict[str, DemoUser]) -> None:
    """The body the guard read reaches the app unchanged, also when sent in chunks."""
    body = json.dumps({"agent": "support", "title": "ünïcode ✓", "metadata": {"n": 1.5, "list": [1, "two"]}})
    with server.client(demo[ALICE].key) as client:
        response = client.post("/v1/threads", content=iter([body[:10].encode(), body[10:].encode()]), headers=JSON)
        assert response.status_code == 201, response.text
        assert (response.json()["title"], response.json()["metadata"]) == ("ünïcode ✓", {"n": 1.5, "list": [1, "two"]})
        assert client.get(f"/v1/threads/{uuid.UUID(response.json()['id'])}").status_code == 200
