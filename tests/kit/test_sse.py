"""The one server-sent-events parser (the chat client's and the tests')."""

from __future__ import annotations

import json

from switchboard.kit.sse import parse_sse


def test_parse_sse_joins_fields_and_splits_events() -> None:
    lines = iter(
        ["event: thread", 'data: {"a": 1}', "", ": keepalive", "", "event: done", 'data: {"b":', "data: 2}", ""]
    )
    events = list(parse_sse(lines))
    assert [(e.event, json.loads(e.data), e.id) for e in events] == [
        ("thread", {"a": 1}, None),
        ("done", {"b": 2}, None),
    ]


def test_parse_sse_keeps_ids_and_names_unnamed_events_message() -> None:
    lines = ["id: 7", "event: status", "data: {}", "", "id: 8", "data: plain", "", ": ping", "data: last"]
    events = list(parse_sse(lines))
    assert [(e.id, e.event, e.data) for e in events] == [
        ("7", "status", "{}"),
        ("8", "message", "plain"),
        (None, "message", "last"),
    ]
