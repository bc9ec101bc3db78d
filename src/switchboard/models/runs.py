"""Runs (the unit of work and the queue), their numbered events, their steps (the tool-call ledger and the
model-request timeline) and the idempotency keys of the requests that create them."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Identity,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from switchboard.models.base import Base, CreatedAt, EnumText, sql_list


class RunStatus(StrEnum):
    """`queued → running → (requires_action | waiting ⇄ queued → running) → succeeded | failed | cancelled |
    timed_out`; every change is a named statement in `switchboard.engine.transitions`."""

    QUEUED = "queued"
    RUNNING = "running"
    REQUIRES_ACTION = "requires_action"  # paused: a tool call waits for a person's approval
    WAITING = "waiting"  # paused: it waits for its child runs (a pipeline's steps, an agent called as a tool)
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    TIMED_OUT = "timed_out"


FINAL = frozenset({RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED, RunStatus.TIMED_OUT})
"""A run in a final status never changes again."""
ACTIVE = frozenset({RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.REQUIRES_ACTION, RunStatus.WAITING})
"""Not finished: what holds a thread's place (one active run per thread executes at a time)."""
PAUSED = frozenset({RunStatus.REQUIRES_ACTION, RunStatus.WAITING})
"""Started, holding no worker: waiting for a person, or for child runs."""
HOLDS_THREAD = frozenset({RunStatus.RUNNING, RunStatus.REQUIRES_ACTION, RunStatus.WAITING})
"""Started and not finished: a later run of the same thread waits for these."""
SETTLED = FINAL | {RunStatus.REQUIRES_ACTION}
"""Where a waiting client stops waiting: finished, or needing a person."""


class StepKind(StrEnum):
    MODEL_REQUEST = "model_request"
    TOOL_CALL = "tool_call"


class StepStatus(StrEnum):
    RUNNING = "running"  # a non-idempotent tool call started, no outcome recorded yet
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # a model request that failed (its error is in `result`)
    RETRIED = "retried"
    UNKNOWN = "unknown"  # its worker stopped mid-call and the tool is not idempotent: never re-run
    AWAITING_APPROVAL = "awaiting_approval"
    DENIED = "denied"


class MultitaskStrategy(StrEnum):
    """What a new run does when its thread already has an active run."""

    ENQUEUE = "enqueue"
    REJECT = "reject"
    INTERRUPT = "interrupt"


class Run(CreatedAt, Base):
    """One agent execution. `status='queued'` rows, in `queue_seq` order, are the queue workers claim from."""

    __tablename__ = "runs"
    __table_args__ = (
        CheckConstraint(f"status IN {sql_list(RunStatus)}", name="status"),
        Index("ix_runs_queue", "queue_seq", postgresql_where=text(f"status = '{RunStatus.QUEUED}'")),
        Index("ix_runs_thread_active", "thread_id", postgresql_where=text(f"status NOT IN {sql_list(FINAL)}")),
        Index("ix_runs_lease", "lease_expires_at", postgresql_where=text(f"status = '{RunStatus.RUNNING}'")),
        Index("ix_runs_user_created", "user_id", "created_at", "id"),
        Index("ix_runs_agent_status", "agent", "status"),
        # A schedule's tick creates one run, whatever the number of schedulers (`schedules.scheduler`).
        Index(
            "uq_runs_schedule_tick",
            "schedule_id",
            "scheduled_for",
            unique=True,
            postgresql_where=text("scheduled_for IS NOT NULL"),
        ),
        Index("ix_runs_schedule", "schedule_id", "created_at", postgresql_where=text("schedule_id IS NOT NULL")),
        Index("ix_runs_trigger", "trigger_id", postgresql_where=text("trigger_id IS NOT NULL")),
        # A parent's children, and one child per step: a step's run cannot be created twice (a resumed parent
        # looks before it spawns, under its lock; this index is the guarantee).
        Index("uq_runs_parent_step", "parent_id", "step", unique=True, postgresql_where=text("parent_id IS NOT NULL")),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    queue_seq: Mapped[int] = mapped_column(BigInteger, Identity(), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    thread_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("threads.id", ondelete="CASCADE"))
    turn: Mapped[int] = mapped_column(Integer)
    agent: Mapped[str] = mapped_column(String(100))
    status: Mapped[RunStatus] = mapped_column(EnumText(RunStatus, 20), default=RunStatus.QUEUED)
    input: Mapped[str] = mapped_column(Text)
    multitask_strategy: Mapped[MultitaskStrategy] = mapped_column(
        EnumText(MultitaskStrategy, 16), default=MultitaskStrategy.ENQUEUE
    )
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JSONB, default=dict, server_default="{}")
    limits: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
    output: Mapped[Any | None] = mapped_column(JSONB, default=None)
    error: Mapped[dict[str, Any] | None] = mapped_column(JSONB, default=None)  # {"type", "message"}
    usage: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
    # What its model requests cost in USD (its children's included, like `usage`); None: unknown (an offline
    # model, a model without a price), never 0 for unknown.
    cost_usd: Mapped[Decimal | None] = mapped_column(Numeric(18, 9), default=None)
    # The API key of the request that created it (per-key budgets, and the run's rights: its scopes); a child run
    # has its parent's; None for schedules and triggers.
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id", ondelete="SET NULL"), default=None)
    # The creating request's W3C trace context (`traceparent`…): the worker's spans join the request's trace.
    trace_context: Mapped[dict[str, str] | None] = mapped_column(JSONB(none_as_null=True), default=None)
    model_name: Mapped[str | None] = mapped_column(String(200), default=None)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The number of the run's last event; events are numbered 1, 2, 3… per run.
    event_seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    lease_owner: Mapped[str | None] = mapped_column(String(200), default=None)
    # The worker that last executed the run (`lease_owner` is cleared when it settles; this stays).
    worker_id: Mapped[str | None] = mapped_column(String(200), default=None)
    lease_expires_at: Mapped[datetime | None] = mapped_column(default=None)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    # False: each model response is asked for whole, not streamed (nobody waits on its tokens; see `engine.local`).
    stream_tokens: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    request_id: Mapped[str | None] = mapped_column(String(128), default=None)
    # Where to tell about this run besides the user's webhook endpoints (`notifications.targets`).
    notify: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONB(none_as_null=True), default=None)
    # Created by a schedule (at its tick `scheduled_for`; None for "run now") or by a trigger's event.
    schedule_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("schedules.id", ondelete="SET NULL"), default=None)
    scheduled_for: Mapped[datetime | None] = mapped_column(default=None)
    trigger_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("triggers.id", ondelete="SET NULL"), default=None)
    acting_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    # A child run: its parent (a pipeline, or a run that called an agent as a tool) and what it is to the parent
    # (the pipeline's step name, or the tool call's id).
    parent_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), default=None)
    step: Mapped[str | None] = mapped_column(String(200), default=None)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())


class RunEvent(CreatedAt, Base):
    """One event of a run, numbered from 1; what `GET /v1/runs/{id}/events` replays and tails."""

    __tablename__ = "run_events"

    run_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    type: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, Any]] = mapped_column(JSONB)


class RunStep(Base):
    """A step of a run's timeline: a model request, or a tool call. Tool-call rows are the ledger: one per
    (run, tool_call_id), so a call whose result is recorded is answered from here and never executed again."""

    __tablename__ = "run_steps"
    __table_args__ = (
        UniqueConstraint("run_id", "tool_call_id"),
        CheckConstraint(f"status IN {sql_list(StepStatus)}", name="status"),
        Index("ix_run_steps_run_id", "run_id", "id"),
        # Model requests by when they were made: usage over a period, and a day's spend for budgets.
        Index("ix_run_steps_model_requests", "started_at", postgresql_where=text(f"kind = '{StepKind.MODEL_REQUEST}'")),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    run_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    kind: Mapped[StepKind] = mapped_column(EnumText(StepKind, 16))
    status: Mapped[StepStatus] = mapped_column(EnumText(StepStatus, 20))
    attempt: Mapped[int] = mapped_column(Integer)
    tool_call_id: Mapped[str | None] = mapped_column(String(200), default=None)
    tool_name: Mapped[str | None] = mapped_column(String(200), default=None)
    args: Mapped[Any | None] = mapped_column(JSONB, default=None)
    result: Mapped[Any | None] = mapped_column(JSONB, default=None)
    idempotent: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    model_name: Mapped[str | None] = mapped_column(String(200), default=None)
    usage: Mapped[dict[str, Any] | None] = mapped_column(JSONB, default=None)
    # A model request's cost in USD; None: unknown.
    cost_usd: Mapped[Decimal | None] = mapped_column(Numeric(18, 9), default=None)
    # Approval of a tool that requires it: None while pending.
    approved: Mapped[bool | None] = mapped_column(Boolean, default=None)
    decision_reason: Mapped[str | None] = mapped_column(Text, default=None)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    decided_at: Mapped[datetime | None] = mapped_column(default=None)
    started_at: Mapped[datetime] = mapped_column(server_default=func.now())
    finished_at: Mapped[datetime | None] = mapped_column(default=None)


class IdempotencyKey(CreatedAt, Base):
    """A run-creating request made with an `Idempotency-Key`: its fingerprint and the run it created."""

    __tablename__ = "idempotency_keys"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    run_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    response: Mapped[dict[str, Any] | None] = mapped_column(JSONB, default=None)
