"""Shared by the runs tests: create a run, poll it until a status, and read a run's server-sent events with
their ids. Everything goes over real HTTP."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx

FINAL = ("succeeded", "failed", "cancelled", "timed_out")


@dataclass(frozen=True)
class Event:
    """One server-sent event of a run: `id:` (its number), `event:` (its type) and the JSON `data:`."""

    id: int
    type: str
    data: dict[str, Any]


def parse_sse(lines: Iterable[str]) -> Iterator[Event]:
    """Events from SSE lines as they arrive (comments such as `: ping` are skipped). Every event must have an id."""
    event_id: str | None = None
    name: str | None = None
    data: list[str] = []
    for line in lines:
        if line == "":
            if name is not None or data:
                assert event_id is not None, (name, data)
                yield Event(id=int(event_id), type=name or "message", data=json.loads("\n".join(data)))
            event_id, name, data = None, None, []
        elif line.startswith(":"):
            continue
        elif line.startswith("id:"):
            event_id = line.removeprefix("id:").strip()
        elif line.startswith("event:"):
            name = line.removeprefix("event:").strip()
        elif line.startswith("data:"):
            data.append(line.removeprefix("data:").removeprefix(" "))
    if name is not None or data:
        assert event_id is not None, (name, data)
        yield Event(id=int(event_id), type=name or "message", data=json.loads("\n".join(data)))


@contextmanager
def open_events(
    client: httpx.Client, run_id: str, *, params: dict[str, Any] | None = None, headers: dict[str, str] | None = None
) -> Iterator[Iterator[Event]]:
    """GET /v1/runs/{id}/events, yielding its events as they arrive (for a live tail, or to stop early)."""
    with client.stream("GET", f"/v1/runs/{run_id}/events", params=params, headers=headers) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream"), response.headers
        yield parse_sse(response.iter_lines())


def read_events(
    client: httpx.Client, run_id: str, *, params: dict[str, Any] | None = None, headers: dict[str, str] | None = None
) -> list[Event]:
    """GET /v1/runs/{id}/events to the end of the stream (the server closes it after `end`)."""
    with open_events(client, run_id, params=params, headers=headers) as events:
        return list(events)


def read_until(events: Iterator[Event], event_type: str) -> list[Event]:
    """Events from a stream up to and including the first of `event_type` (fails if the stream ends first)."""
    seen: list[Event] = []
    for event in events:
        seen.append(event)
        if event.type == event_type:
            return seen
    raise AssertionError(f"the stream ended without a {event_type!r} event: {[e.type for e in seen]}")


def create_run(client: httpx.Client, agent: str, message: str, **fields: Any) -> dict[str, Any]:
    """POST /v1/runs that must be accepted (202); returns the run."""
    response = client.post("/v1/runs", json={"agent": agent, "message": message, **fields})
    assert response.status_code == 202, response.text
    run: dict[str, Any] = response.json()
    return run


def get_run(client: httpx.Client, run_id: str) -> dict[str, Any]:
    response = client.get(f"/v1/runs/{run_id}")
    assert response.status_code == 200, response.text
    run: dict[str, Any] = response.json()
    return run


def wait_for_status(client: httpx.Client, run_id: str, *statuses: str, timeout: float = 10.0) -> dict[str, Any]:
    """Poll GET /v1/runs/{id} until its status is one of `statuses` (default: any final status); returns it."""
    wanted = statuses or FINAL
    deadline = time.monotonic() + timeout
    while True:
        run = get_run(client, run_id)
        if run["status"] in wanted:
            return run
        assert time.monotonic() < deadline, f"run {run_id} is {run['status']}, not {wanted} after {timeout} s"
        time.sleep(0.02)
