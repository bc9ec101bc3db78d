"""A small HTTP client for `switchboard chat`: sends one turn to a running server and streams the reply."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from switchboard.kit.sse import parse_sse


@dataclass(frozen=True)
class StreamEvent:
    event: str
    data: dict[str, Any]


class ChatClientError(RuntimeError):
    pass


def stream_turn(
    base_url: str,
    key: str,
    body: dict[str, Any],
    on_event: Callable[[StreamEvent], None],
    *,
    timeout: float = 300.0,
) -> dict[str, Any]:
    """POST /v1/chat/stream; calls `on_event` for each event; returns the `done` event's data."""
    headers = {"Authorization": f"Bearer {key}", "Accept": "text/event-stream"}
    with (
        httpx.Client(base_url=base_url, timeout=timeout) as client,
        client.stream("POST", "/v1/chat/stream", json=body, headers=headers) as response,
    ):
        if response.status_code != 200:
            response.read()
            try:
                message = response.json()["error"]["message"]
            except (ValueError, KeyError, TypeError):
                message = response.text
            raise ChatClientError(f"{response.status_code}: {message}")
        for sse in parse_sse(response.iter_lines()):
            event = StreamEvent(sse.event, json.loads(sse.data))
            on_event(event)
            if event.event == "done":
                return event.data
            if event.event == "error":
                raise ChatClientError(str(event.data.get("error", {}).get("message", event.data)))
    raise ChatClientError("the stream ended without a result")
