"""Reading server-sent events (the client side): the one parser for `switchboard chat` and the tests."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class ServerSentEvent:
    event: str  # "message" when the event named none
    data: str  # the `data:` lines joined with newlines
    id: str | None = None


def parse_sse(lines: Iterable[str]) -> Iterator[ServerSentEvent]:
    """Events from text lines as they arrive: `id:`, `event:` and `data:` fields; a blank line ends an event;
    comments (`: ping`) and events without data are skipped."""
    event_id: str | None = None
    name: str | None = None
    data: list[str] = []
    for line in lines:
        if line == "":
            if data:
                yield ServerSentEvent(event=name or "message", data="\n".join(data), id=event_id)
            event_id, name, data = None, None, []
        elif line.startswith(":"):
            continue
        elif line.startswith("id:"):
            event_id = line.removeprefix("id:").strip()
        elif line.startswith("event:"):
            name = line.removeprefix("event:").strip()
        elif line.startswith("data:"):
            data.append(line.removeprefix("data:").removeprefix(" "))
    if data:
        yield ServerSentEvent(event=name or "message", data="\n".join(data), id=event_id)
