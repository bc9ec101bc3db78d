"""The thread history a run sends to the model: the run's own messages (a resumed run continues from them) and a
window of the thread's earlier turns, the agent's `HistoryWindow`, read in one statement.

Reading and re-validating the whole thread on every turn made a conversation slower with each turn (turn 150
of the support demo cost 4-5 times turn 10); the window keeps a turn's cost flat in the thread's length. The stored
JSON is read as text and validated in one pass (`validate_json`), never decoded into dicts first.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace

from pydantic_ai.messages import (
    ModelMessage,
    ModelMessagesTypeAdapter,
    ModelRequest,
    SystemPromptPart,
    repair_messages,
)
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from switchboard.agents.spec import CHARS_PER_TOKEN, HistoryWindow
from switchboard.models.runs import RunStatus

# Four parts: 0, the run's own messages; 1, the thread's earlier messages, newest first, with the running total
# of their size, as many as the window may take plus one (to know whether it cut); 2, the thread's first message
# (where a system prompt is, if the agent has one); 3, the thread's last message number. Failed runs are left
# out of the history (their prompt never got an answer worth keeping); cancelled and timed-out runs keep what
# they produced.
_HISTORY = text("""
(SELECT 0 AS part, seq, turn, message::text AS message, 0 AS chars
   FROM thread_messages WHERE thread_id = :thread_id AND run_id = :run_id)
UNION ALL
(SELECT 1, seq, turn, message::text, sum(octet_length(message::text)) OVER (ORDER BY seq DESC)
   FROM thread_messages
   WHERE thread_id = :thread_id AND run_id IS DISTINCT FROM :run_id
     AND (run_id IS NULL OR run_id NOT IN (
         SELECT id FROM runs WHERE thread_id = :thread_id AND status = :failed))
   ORDER BY seq DESC LIMIT :limit)
UNION ALL
(SELECT 2, seq, turn, message::text, 0 FROM thread_messages WHERE thread_id = :thread_id ORDER BY seq LIMIT 1)
UNION ALL
(SELECT 3, coalesce(max(seq), 0), 0, '', 0 FROM thread_messages WHERE thread_id = :thread_id)
""")


@dataclass(frozen=True)
class _Row:
    part: int
    seq: int
    turn: int
    message: str
    chars: int


@dataclass
class History:
    prior: list[ModelMessage]  # the window of earlier turns, made provider-valid
    own: list[ModelMessage]  # what this run wrote before
    last_seq: int  # the thread's last message number (0: none yet)


async def read_history(
    connection: AsyncConnection, thread_id: uuid.UUID, run_id: uuid.UUID, window: HistoryWindow
) -> History:
    limit = None if window.max_messages is None else window.max_messages + 1
    params = {"thread_id": thread_id, "run_id": run_id, "limit": limit, "failed": RunStatus.FAILED.value}
    result = await connection.execute(_HISTORY, params)
    rows = [_Row(*row) for row in result]
    own = sorted((row for row in rows if row.part == 0), key=lambda row: row.seq)
    earlier, cut = _window(sorted((row for row in rows if row.part == 1), key=lambda row: -row.seq), window)
    prior = _validate(earlier)
    if cut:
        first = next((row for row in rows if row.part == 2), None)
        if first is not None and (not earlier or first.seq < earlier[0].seq):
            prior = _with_system_prompt(prior, _validate([first]))
    return History(
        prior=repair_messages(prior) if prior else [],
        own=_validate(own),
        last_seq=next(row.seq for row in rows if row.part == 3),
    )


def _window(newest_first: Sequence[_Row], window: HistoryWindow) -> tuple[list[_Row], bool]:
    """The rows the window keeps, oldest first, and whether it left any out. A cut never splits a turn: the
    turn it falls in is left out whole (so a tool call is never sent without its result)."""
    budget = None if window.max_tokens is None else window.max_tokens * CHARS_PER_TOKEN
    kept: list[_Row] = []
    cut_in_turn: int | None = None
    for row in newest_first:
        if (window.max_messages is not None and len(kept) >= window.max_messages) or (
            budget is not None and row.chars > budget
        ):
            cut_in_turn = row.turn
            break
        kept.append(row)
    if cut_in_turn is None:
        return kept[::-1], False
    return [row for row in reversed(kept) if row.turn != cut_in_turn], True


def _validate(rows: Sequence[_Row]) -> list[ModelMessage]:
    if not rows:
        return []
    return ModelMessagesTypeAdapter.validate_json("[" + ",".join(row.message for row in rows) + "]")


def _with_system_prompt(prior: list[ModelMessage], first: list[ModelMessage]) -> list[ModelMessage]:
    """Keep the thread's system prompt at the head of a cut window: Pydantic AI adds an agent's `system_prompt`
    only to a run without history, so once the window drops the first message it would be gone for good."""
    system = [part for message in first for part in getattr(message, "parts", []) if isinstance(part, SystemPromptPart)]
    if not system:
        return prior
    if prior and isinstance(prior[0], ModelRequest):
        return [replace(prior[0], parts=[*system, *prior[0].parts]), *prior[1:]]
    return [ModelRequest(parts=system), *prior]
