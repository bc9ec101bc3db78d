"""A run's progress while it executes, and how its messages are written: a row per message in the thread, a
`model_request` step per model response, a `message` event each, and the run's usage, in the caller's
transaction."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic_ai.messages import ModelMessage, ModelMessagesTypeAdapter, ModelResponse
from pydantic_ai.usage import RunUsage
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncConnection

from switchboard.models import RunStep, ThreadMessage
from switchboard.runs.context import LoadedRun
from switchboard.runs.journal import Event, dumps
from switchboard.threads.service import text_of

_UPDATE_USAGE = text(
    "UPDATE runs SET usage = CAST(:usage AS jsonb), model_name = :model WHERE id = :id RETURNING cancel_requested"
)


def usage_dict(usage: RunUsage) -> dict[str, int]:
    return {
        "requests": usage.requests,
        "tool_calls": usage.tool_calls,
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
    }


def now() -> datetime:
    return datetime.now(UTC)


def dump_messages(messages: list[ModelMessage]) -> list[Any]:
    """Messages as JSON-able data, once for both their rows and their events."""
    return ModelMessagesTypeAdapter.dump_python(messages, mode="json")  # type: ignore[no-any-return]


@dataclass
class Progress:
    loaded: LoadedRun
    model_name: str
    persisted: int = 0  # how many of the run's new messages are written
    next_seq: int = 0
    request_started_at: datetime | None = None
    partial_text: str = ""
    usage: dict[str, int] = field(default_factory=dict)
    unwritten: list[ModelMessage] = field(default_factory=list)  # the final messages, written with the outcome
    # A response that called no tool, with its request: written with the next write, the outcome's normally.
    deferred: list[ModelMessage] = field(default_factory=list)
    deferred_text: str = ""


def message_events(progress: Progress, messages: list[ModelMessage], dumped: list[Any]) -> list[Event]:
    return [
        ("message", {"seq": progress.next_seq + i, "kind": message.kind, "message": data})
        for i, (message, data) in enumerate(zip(messages, dumped, strict=True))
    ]


async def write_messages(
    connection: AsyncConnection, progress: Progress, messages: list[ModelMessage], dumped: list[Any]
) -> bool:
    """Insert the messages (and a step per model response); returns whether a cancel has been requested."""
    run = progress.loaded.run
    rows: list[dict[str, Any]] = []
    steps: list[dict[str, Any]] = []
    for message, data in zip(messages, dumped, strict=True):
        rows.append(
            {
                "thread_id": run.thread_id,
                "run_id": run.id,
                "seq": progress.next_seq,
                "turn": run.turn,
                "kind": message.kind,
                "message": data,
                "text": text_of(message),
                "model_name": progress.model_name if isinstance(message, ModelResponse) else None,
                "request_id": run.request_id,
                "acting_user_id": run.acting_user_id,
            }
        )
        progress.next_seq += 1
        if isinstance(message, ModelResponse):
            steps.append(
                {
                    "run_id": run.id,
                    "kind": "model_request",
                    "status": "succeeded",
                    "attempt": run.attempts,
                    "model_name": progress.model_name,
                    "usage": {
                        "input_tokens": message.usage.input_tokens,
                        "output_tokens": message.usage.output_tokens,
                    },
                    "started_at": progress.request_started_at or message.timestamp,
                    "finished_at": now(),
                }
            )
    await connection.execute(insert(ThreadMessage), rows)
    if steps:
        await connection.execute(insert(RunStep), steps)
    updated = await connection.execute(
        _UPDATE_USAGE, {"usage": dumps(progress.usage), "model": progress.model_name, "id": run.id}
    )
    return bool(updated.scalar())
