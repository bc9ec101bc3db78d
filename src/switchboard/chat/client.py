"""A small HTTP client for `switchboard chat`: sends one turn to a running server and streams the reply, and
follows a run (resumed after an approval) through its numbered events."""

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
    """The server refused the turn (`status`, `type` from its error body) or the stream broke off."""

    def __init__(self, message: str, status: int | None = None, type_: str | None = None) -> None:
        super().__init__(f"{status}: {message}" if status is not None else message)
        self.message = message
        self.status = status
        self.type = type_

    @property
    def line(self) -> str:
        """The error as the REPL prints it after `error: `, like the other client commands: `409 conflict: …`."""
        prefix = " ".join(str(part) for part in (self.status, self.type) if part is not None)
        return f"{prefix}: {self.message}" if prefix else self.message


def _refused(response: httpx.Response) -> ChatClientError:
    response.read()
    try:
        error = response.json()["error"]
        message, type_ = str(error["message"]), str(error["type"])
    except (ValueError, KeyError, TypeError):
        message, type_ = response.text, None
    return ChatClientError(message, response.status_code, type_)


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
            raise _refused(response)
        for sse in parse_sse(response.iter_lines()):
            event = StreamEvent(sse.event, json.loads(sse.data))
            on_event(event)
            if event.event == "done":
                return event.data
            if event.event == "error":
                error = event.data.get("error", {})
                raise ChatClientError(str(error.get("message", event.data)), None, error.get("type"))
    raise ChatClientError("the stream ended without a result")


def follow_run(
    base_url: str,
    key: str,
    run_id: str,
    after: int,
    on_event: Callable[[StreamEvent], None],
    *,
    timeout: float = 300.0,
) -> StreamEvent:
    """GET /v1/runs/{id}/events after event number `after`; calls `on_event` for each event until the run's `end`
    or its next `approval_required` (the run pauses again: no `end` comes until someone decides), and returns
    that last event."""
    headers = {"Authorization": f"Bearer {key}", "Accept": "text/event-stream", "Last-Event-ID": str(after)}
    with (
        httpx.Client(base_url=base_url, timeout=timeout) as client,
        client.stream("GET", f"/v1/runs/{run_id}/events", headers=headers) as response,
    ):
        if response.status_code != 200:
            raise _refused(response)
        for sse in parse_sse(response.iter_lines()):
            event = StreamEvent(sse.event, json.loads(sse.data))
            on_event(event)
            if event.event in ("end", "approval_required"):
                return event
    raise ChatClientError(f"the run's events ended before it did (see GET /v1/runs/{run_id})")
