"""A thread's stored messages as the chat page shows them: the user's words, the assistant's replies, and each
tool call as one card with its arguments and, once there is one, its result (matched by the call's id)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

from switchboard.models import Run, ThreadMessage
from switchboard.runs.schemas import RunOut

SUMMARY_CHARS = 80  # a tool call's arguments, cut to this in its card's one-line summary


@dataclass
class ToolCard:
    call_id: str
    name: str
    args: Any
    result: Any = None
    has_result: bool = False
    failed: bool = False  # the result is a retry prompt (the call was refused or its arguments invalid)
    run_id: uuid.UUID | None = None
    pending: bool = False  # waits for a person's approval

    @property
    def summary(self) -> str:
        return short_json(self.args)


@dataclass
class Entry:
    role: Literal["user", "assistant"]
    text: str | None
    run_id: uuid.UUID | None
    turn: int
    cards: list[ToolCard] = field(default_factory=list)


def short_json(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    text = " ".join(text.split())
    return text if len(text) <= SUMMARY_CHARS else text[: SUMMARY_CHARS - 1] + "…"


def _args(raw: Any) -> Any:
    """Pydantic AI keeps a call's arguments as a dict or as the JSON text the model wrote."""
    if isinstance(raw, str):
        try:
            return json.loads(raw)
        except ValueError:
            return raw
    return raw


def history(messages: list[ThreadMessage], paused: list[RunOut], working: list[Run]) -> list[Entry]:
    """The messages as entries in order; the calls of `paused` runs that wait for approval are marked pending
    (and added at the end when the thread does not hold them yet); the message of each run still `working` is
    added at the end unless the thread holds it (the page then follows the run's reply)."""
    entries: list[Entry] = []
    cards: dict[str, ToolCard] = {}
    for row in messages:
        parts: list[dict[str, Any]] = row.message.get("parts", [])
        if row.kind == "response":
            entry = Entry("assistant", row.text, row.run_id, row.turn)
            for part in parts:
                if part.get("part_kind") == "tool-call":
                    call_id = str(part.get("tool_call_id", ""))
                    card = ToolCard(call_id, str(part.get("tool_name", "")), _args(part.get("args")), run_id=row.run_id)
                    cards[call_id] = card
                    entry.cards.append(card)
            last = entries[-1] if entries else None
            if last is not None and last.role == "assistant" and (last.run_id, last.turn) == (row.run_id, row.turn):
                last.cards.extend(entry.cards)  # one turn's responses (a call, then the reply) as one message
                last.text = "\n".join(text for text in (last.text, entry.text) if text) or None
            elif entry.text or entry.cards:
                entries.append(entry)
            continue
        for part in parts:
            kind = part.get("part_kind")
            if kind in ("tool-return", "retry-prompt"):
                call = cards.get(str(part.get("tool_call_id", "")))
                if call is not None:
                    call.result, call.has_result, call.failed = part.get("content"), True, kind == "retry-prompt"
        if row.role == "user":
            entries.append(Entry("user", row.text, row.run_id, row.turn))
    for run in paused:
        for pending in run.pending_approvals:
            found = cards.get(pending.tool_call_id)
            if found is None:
                found = ToolCard(pending.tool_call_id, pending.tool_name, pending.args, run_id=run.id)
                entries.append(Entry("assistant", None, run.id, 0, [found]))
            found.pending, found.run_id = True, run.id
    said = {entry.run_id for entry in entries if entry.role == "user"}
    entries.extend(Entry("user", run.input, run.id, run.turn) for run in working if run.id not in said)
    return entries
