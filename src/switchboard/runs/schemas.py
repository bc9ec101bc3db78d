"""Request and response shapes of the runs API."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from types import SimpleNamespace
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    Field,
    SerializerFunctionWrapHandler,
    StrictBool,
    computed_field,
    model_serializer,
)

from switchboard.agents.schemas import AgentName
from switchboard.kit.schemas import ExactNumber, FromRow, Metadata
from switchboard.models.runs import MultitaskStrategy, RunStatus, StepKind, StepStatus
from switchboard.notifications.targets import NOTIFY_FIELD, NotifyTarget, shown


class RunLimits(BaseModel):
    max_model_requests: Annotated[int, Field(ge=1, le=1000), ExactNumber] | None = Field(
        default=None, description="Most model requests the run may make (default 50)."
    )
    max_tool_calls: Annotated[int, Field(ge=0, le=10000), ExactNumber] | None = Field(
        default=None, description="Most tool calls the run may make."
    )
    timeout_seconds: Annotated[float, Field(gt=0, le=86400), ExactNumber] | None = Field(
        default=None, description="Wall-clock limit from the run's start; past it → `timed_out`."
    )
    max_cost_usd: Annotated[float, Field(gt=0, le=1_000_000), ExactNumber] | None = Field(
        default=None,
        description="Most the run's model requests may cost, in USD (its child runs' included): it stops between "
        "model requests, `failed` with `budget_exceeded`, keeping what it wrote. Models without a known price "
        "(such as `offline`) cost nothing here.",
    )


class RunCreate(BaseModel):
    agent: AgentName = Field(examples=["support"], description="A registered agent's name.")
    message: str = Field(min_length=1, examples=["Show me all my orders"], description="The user's message.")
    thread_id: uuid.UUID | None = Field(default=None, description="Run on this thread; omit to start a new one.")
    multitask_strategy: MultitaskStrategy = Field(
        default=MultitaskStrategy.ENQUEUE,
        description="When the thread already has an unfinished run: `enqueue` waits for it, `reject` answers "
        "409, `interrupt` cancels it (and any run queued before this one) and then starts.",
    )
    metadata: Metadata = Field(
        default_factory=dict, description="Stored with the run, returned as is (at most 16 KiB)."
    )
    limits: RunLimits = Field(default_factory=RunLimits)
    notify: list[NotifyTarget] | None = NOTIFY_FIELD


class RunError(BaseModel):
    type: str = Field(
        description="`model_error`, `usage_limit_exceeded`, `budget_exceeded`, `rate_limited`, `timed_out`, "
        "`max_attempts_exceeded`, `internal_error`; "
        "for a pipeline `step_failed` (with `step` and its `run_id`), `step_input_failed` or `pipeline_output_failed`."
    )
    message: str
    step: str | None = Field(default=None, description="`step_failed`: the pipeline step that failed.")
    run_id: uuid.UUID | None = Field(default=None, description="`step_failed`: that step's run.")
    retry_at: datetime | None = Field(
        default=None,
        description="`rate_limited`, and `budget_exceeded` by a daily budget: when a new run would be admitted.",
    )

    @model_serializer(mode="wrap")
    def _only_what_applies(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # `step` and `run_id` belong to a pipeline's failures: absent from every other error, not null.
        data: dict[str, Any] = handler(self)
        return {key: value for key, value in data.items() if value is not None or key in ("type", "message")}


class ChildRunOut(FromRow):
    """A child run as part of its parent's tree: a pipeline's step, or an agent another agent called as a tool."""

    id: uuid.UUID
    step: str | None = Field(description="The pipeline step it does, or the id of the tool call that started it.")
    agent: str
    status: RunStatus
    output: Any = None
    error: RunError | None = None
    usage: dict[str, int] = Field(default_factory=dict)
    cost_usd: float | None = Field(default=None, description="Its cost in USD (its own children's included).")
    model: str | None = Field(default=None, validation_alias="model_name")
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    children: list[ChildRunOut] = Field(default_factory=list, description="Its own child runs, if any.")

    @computed_field(description="From its start to its end, in seconds (None until both are known).")  # type: ignore[prop-decorator]
    @property
    def seconds(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return round((self.finished_at - self.started_at).total_seconds(), 3)


class PendingApproval(FromRow):
    tool_call_id: str
    tool_name: str
    args: Any


class RunOut(FromRow):
    id: uuid.UUID
    thread_id: uuid.UUID
    agent: str
    status: RunStatus
    message: str = Field(validation_alias="input", description="The message the run was created with.")
    output: Any = Field(
        default=None,
        description="The agent's output when `succeeded` (text, or the agent's structured output); for a "
        "cancelled or timed-out run, the text it had produced so far, if any.",
    )
    error: RunError | None = None
    pending_approvals: list[PendingApproval] = Field(
        default_factory=list, description="Tool calls waiting for `POST /v1/runs/{id}/approvals` (`requires_action`)."
    )
    usage: dict[str, int] = Field(
        default_factory=dict,
        description="Model requests, tool calls and tokens (`input_tokens` include `cache_read_tokens` and "
        "`cache_write_tokens`), and `unpriced_requests`: responses whose cost is unknown. A parent's include its "
        "child runs' (to total a user's usage, add up the runs without a `parent_id`).",
    )
    cost_usd: float | None = Field(
        default=None,
        description="What its model requests cost in USD (its child runs' included), from genai-prices or the "
        "operator's prices. null: no response had a known price (the `offline` model, an unpriced model); with "
        "`usage.unpriced_requests` > 0 the known part only.",
    )
    model: str | None = Field(
        default=None, validation_alias="model_name", description="The model used. `offline` is rules, not an LLM."
    )
    multitask_strategy: MultitaskStrategy
    metadata: dict[str, Any] = Field(validation_alias="metadata_")
    limits: RunLimits
    attempts: int = Field(description="How many times a worker claimed the run.")
    worker: str | None = Field(
        default=None,
        validation_alias="worker_id",
        description="The worker that last executed the run (`host:pid:loop:id`), for matching with its logs.",
    )
    notify: Annotated[list[dict[str, Any]], BeforeValidator(shown)] = Field(
        default_factory=list, description="Where this run is told about besides your webhook endpoints (no secrets)."
    )
    schedule_id: uuid.UUID | None = Field(default=None, description="The schedule that created the run, if any.")
    scheduled_for: datetime | None = Field(default=None, description="The schedule's tick the run is for.")
    trigger_id: uuid.UUID | None = Field(default=None, description="The trigger whose event created the run, if any.")
    parent_id: uuid.UUID | None = Field(
        default=None,
        description="A child run's parent: the pipeline, or the run whose agent called this one as a tool.",
    )
    step: str | None = Field(default=None, description="A child run's step in its parent (see `parent_id`).")
    children: list[ChildRunOut] | None = Field(
        default=None,
        description="`GET /v1/runs/{id}` only: its child runs, as a tree, oldest first, each with its step, status, "
        "output, usage and timing (a pipeline's steps; agents its agent called as tools).",
    )
    last_event_id: int = Field(
        validation_alias="event_seq", description="The number of the run's latest event (see /v1/runs/{id}/events)."
    )
    request_id: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> RunOut:
        """From the run's row as a statement returned it, its columns by name (see `transitions.settle`)."""
        return cls.model_validate(SimpleNamespace(**row, metadata_=row["metadata"]))


class StepOut(FromRow):
    kind: StepKind
    status: StepStatus = Field(
        description="`succeeded`; for tool calls also `running` (started, no outcome yet), `unknown` (its worker "
        "stopped mid-call and the tool is not idempotent), `awaiting_approval`, `denied` or `retried`."
    )
    attempt: int
    tool_call_id: str | None = None
    tool_name: str | None = None
    args: Any = None
    result: Any = None
    model: str | None = Field(default=None, validation_alias="model_name")
    usage: dict[str, int] | None = None
    cost_usd: float | None = Field(default=None, description="A model request's cost in USD; null: unknown.")
    approved: bool | None = None
    decision_reason: str | None = None
    decided_by: int | None = Field(default=None, description="The user who approved or denied the call.")
    decided_at: datetime | None = None
    started_at: datetime
    finished_at: datetime | None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def duration_ms(self) -> float | None:
        return (self.finished_at - self.started_at).total_seconds() * 1000 if self.finished_at else None


class ApprovalRequest(BaseModel):
    """A tool call waiting for a person's decision."""

    run_id: uuid.UUID
    thread_id: uuid.UUID
    agent: str
    user_id: int = Field(description="Whose run it is.")
    tool_call_id: str
    tool_name: str
    args: Any
    requested_at: datetime
    decide: str = Field(description="Where to send the decision.", examples=["POST /v1/runs/{run_id}/approvals"])


class ApprovalDecision(BaseModel):
    tool_call_id: str = Field(min_length=1, max_length=200)
    approve: StrictBool  # true or false, not 1 or "yes"
    reason: str | None = Field(default=None, max_length=2000, description="Told to the model when denied.")
