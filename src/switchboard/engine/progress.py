"""A run's progress while it executes, and how its messages become rows: a thread message each, a
`model_request` step per model response, and a `message` event each."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic_ai.messages import ModelMessage, ModelMessagesTypeAdapter, ModelResponse
from pydantic_ai.run import AgentRun
from pydantic_ai.usage import RunUsage
from sqlalchemy.ext.asyncio import AsyncConnection

from switchboard.agents.spec import AgentDeps
from switchboard.engine import records
from switchboard.engine.event_buffer import EventBuffer
from switchboard.engine.journal import Event
from switchboard.engine.load import LoadedRun
from switchboard.kit.clock import utc_now
from switchboard.models.runs import StepKind, StepStatus
from switchboard.threads.service import text_of


class UsageCounts(dict[str, int]):
    """A run's usage as `runs.usage` stores it, with what this execution's model responses cost beside it
    (`cost`, not part of the JSON: the run's cost is `runs.cost_usd`, see `Progress.cost`)."""

    cost: Decimal | None = None


def usage_dict(usage: RunUsage) -> UsageCounts:
    """`usage` as stored: a run restored from it (`RunUsage(**usage)`) counts on from these numbers, the count of
    responses without a known price (`unpriced_requests`, kept by `usage.run_gate`) included."""
    counts = UsageCounts(
        requests=usage.requests,
        tool_calls=usage.tool_calls,
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cache_read_tokens=usage.cache_read_tokens,
        cache_write_tokens=usage.cache_write_tokens,
        unpriced_requests=int(getattr(usage, "unpriced_requests", 0)),
    )
    counts.cost = usage.cost  # this execution's: a restored RunUsage starts without the run's earlier cost
    return counts


def add_costs(*costs: Decimal | None) -> Decimal | None:
    """The sum of the known costs; None when none is known (unknown is never 0)."""
    known = [cost for cost in costs if cost is not None]
    return sum(known, Decimal(0)) if known else None


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
    in_model_request: bool = False  # between a model request's start and its whole response
    # The agent run being driven (set by `persist`): what a limit stopped it on is read from it (`limit_passed`).
    live: AgentRun[AgentDeps, Any] | None = field(default=None, repr=False)

    def forget_unwritten(self) -> None:
        """Drop what was produced but not written (a retry makes it again), so nothing writes it meanwhile."""
        self.partial_text = self.deferred_text = ""
        self.deferred, self.unwritten = [], []

    def restart(self, loaded: LoadedRun) -> None:
        """Continue from what is written (`loaded`, read again)."""
        self.forget_unwritten()
        self.loaded = loaded
        self.next_seq = loaded.next_seq
        self.usage = dict(loaded.usage)
        self.persisted = 0
        self.in_model_request = False
        self.live = None

    @property
    def cost(self) -> Decimal | None:
        """The run's cost so far: what it had cost when this execution loaded it, and what this execution's
        responses (and the child runs it heard from) cost since; None while no cost is known."""
        return add_costs(self.loaded.run.cost_usd, getattr(self.usage, "cost", None))

    @property
    def unwritten_text(self) -> str:
        """The text streamed since the last written message: what a retry of the request makes void."""
        return (self.deferred_text if self.deferred else "") + self.partial_text


def message_events(progress: Progress, messages: list[ModelMessage], dumped: list[Any]) -> list[Event]:
    return [
        ("message", {"seq": progress.next_seq + i, "kind": message.kind, "message": data})
        for i, (message, data) in enumerate(zip(messages, dumped, strict=True))
    ]


async def write_messages(
    connection: AsyncConnection, progress: Progress, messages: list[ModelMessage], dumped: list[Any]
) -> bool:
    """Write the messages (and a step per model response) in order; returns whether a cancel was requested."""
    run = progress.loaded.run
    rows: list[dict[str, Any]] = []
    steps: list[dict[str, Any]] = []
    for message, data in zip(messages, dumped, strict=True):
        response = isinstance(message, ModelResponse)
        rows.append(
            {
                "thread_id": run.thread_id,
                "run_id": run.id,
                "seq": progress.next_seq,
                "turn": run.turn,
                "kind": message.kind,
                "message": data,
                "text": text_of(message),
                "model_name": progress.model_name if response else None,
                "request_id": run.request_id,
                "acting_user_id": run.acting_user_id,
            }
        )
        progress.next_seq += 1
        if isinstance(message, ModelResponse):
            steps.append(model_step(progress, message))
    return await records.add_messages(
        connection, run.id, rows, steps, usage=progress.usage, cost=progress.cost, model_name=progress.model_name
    )


def model_step(progress: Progress, response: ModelResponse) -> dict[str, Any]:
    """The `model_request` step of a response: its usage and its cost (None: unknown)."""
    run = progress.loaded.run
    return {
        "run_id": run.id,
        "kind": StepKind.MODEL_REQUEST,
        "status": StepStatus.SUCCEEDED,
        "attempt": run.attempts,
        "model_name": progress.model_name,
        "usage": step_usage(response),
        "cost_usd": response.usage.cost,
        "started_at": progress.request_started_at or response.timestamp,
        "finished_at": utc_now(),
    }


def limit_passed(progress: Progress) -> list[ModelResponse]:
    """The responses a usage limit (a cost or token limit) stopped the run on, after they were billed: Pydantic AI
    keeps them in its history, the run never got to write them. Their usage becomes the run's."""
    if progress.live is None:
        return []
    fresh = progress.live.new_messages()[progress.persisted :]
    responses = [message for message in fresh if isinstance(message, ModelResponse)]
    if responses:
        progress.usage = usage_dict(progress.live.usage)
    return responses


async def write_billed(connection: AsyncConnection, progress: Progress, responses: list[ModelResponse]) -> None:
    """Record `responses` (from `limit_passed`) as steps with their usage and cost, and the run's usage and cost;
    not as thread messages: cut short on their tool calls, they would end the thread's history unanswered."""
    steps = [model_step(progress, response) for response in responses]
    run_id = progress.loaded.id
    await records.add_messages(
        connection, run_id, [], steps, usage=progress.usage, cost=progress.cost, model_name=progress.model_name
    )


def step_usage(response: ModelResponse) -> dict[str, int]:
    """A model response's usage as its step stores it (its cost beside it, in `cost_usd`)."""
    usage = response.usage
    return {
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "cache_read_tokens": usage.cache_read_tokens,
        "cache_write_tokens": usage.cache_write_tokens,
    }


async def persist(progress: Progress, agent_run: AgentRun[AgentDeps, Any], buffer: EventBuffer) -> None:
    """Write the run's messages completed since the last call (and pending events), in one transaction."""
    progress.live = agent_run
    new = agent_run.new_messages()
    fresh = new[progress.persisted :]
    progress.usage = usage_dict(agent_run.usage)
    if not fresh:
        await buffer.flush()
        return
    dumped = dump_messages(fresh)
    events = message_events(progress, fresh, dumped)

    async def write(connection: AsyncConnection) -> None:
        await write_messages(connection, progress, fresh, dumped)

    await buffer.flush(write, closing=events)
    progress.persisted = len(new)
    progress.deferred = []
