"""Shared by the API tests: the one error shape every failure has, and a chat turn that must succeed."""

from __future__ import annotations

from typing import Any

import httpx

ERROR_KEYS = {"type", "message", "request_id"}


def assert_error(response: httpx.Response, status: int, type_: str) -> dict[str, Any]:
    """The response is `status` with `{"error": {"type", "message", "request_id", "details"?}}` and nothing else;
    the body's request id is the one in the X-Request-ID header. Returns the `error` object."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json"), response.headers
    body = response.json()
    assert set(body) == {"error"}, body
    error: dict[str, Any] = body["error"]
    assert ERROR_KEYS <= set(error) <= ERROR_KEYS | {"details"}, error
    assert error["type"] == type_, error
    assert isinstance(error["message"], str), error
    assert error["message"].strip(), error
    assert error["request_id"] == response.headers["x-request-id"], (error, response.headers)
    return error


def chat(client: httpx.Client, message: str, thread_id: str | None = None, agent: str = "support") -> dict[str, Any]:
    """One POST /v1/chat turn that must succeed; returns the response body."""
    body: dict[str, Any] = {"agent": agent, "message": message}
    if thread_id is not None:
        body["thread_id"] = thread_id
    response = client.post("/v1/chat", json=body)
    assert response.status_code == 200, response.text
    reply: dict[str, Any] = response.json()
    return reply
