"""Request and response shapes of seed 002's tasks API."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, model_validator

from switchboard.agents.schemas import AgentName
from switchboard.kit.pagination import Page
from switchboard.kit.schemas import METADATA_MAX_BYTES, Patch, json_bytes
from switchboard.models.runs import RunStatus
from switchboard.platform_api.models import TaskType
from switchboard.platform_api.tasks.notification_config import NotificationConfig
from switchboard.runs.schemas import RunError
from switchboard.schedules.schemas import CronExpression, TimezoneName
from switchboard.triggers.schemas import SIGNATURE_DOC, SignatureStyle

PROMPT_DOC = "What the agent is asked to do (a triggered task: its instructions; each event follows them as data)."
NOTIFICATION_DOC = "Where each run's outcome is sent. `null` in a PATCH: nowhere."


class TaskStatus(StrEnum):
    """Derived, never stored: a delegation or research task's from its latest run; a scheduled or triggered
    task is `active` or `disabled` as its schedule or trigger is."""

    PENDING = "pending"  # its latest run is queued
    RUNNING = "running"
    AWAITING_APPROVAL = "awaiting_approval"  # a tool call of its latest run waits for a person
    COMPLETED = "completed"
    FAILED = "failed"  # failed or timed out
    CANCELLED = "cancelled"
    IDLE = "idle"  # no run (its runs were deleted with their conversation)
    ACTIVE = "active"
    DISABLED = "disabled"


class TriggerConfig(BaseModel):
    """A triggered task's trigger. Other fields are kept with the task as given."""

    model_config = ConfigDict(extra="allow")

    name: str | None = Field(default=None, min_length=1, max_length=200, description="Default: the task's prompt.")
    signature: SignatureStyle = Field(
        default="standard", description=f"For the signed ingest URL (`ingest_url`). {SIGNATURE_DOC}"
    )

    @model_validator(mode="after")
    def _bounded(self) -> TriggerConfig:
        size = json_bytes(self.model_dump(mode="json"))
        if size > METADATA_MAX_BYTES:
            raise ValueError(f"is {size} bytes as JSON; the limit is {METADATA_MAX_BYTES}")
        return self


class TaskCreate(BaseModel):
    """Which fields go with which task type: see `create_body` (the OpenAPI schema has one variant per type)."""

    model_config = ConfigDict(extra="forbid")

    task_type: TaskType = Field(
        examples=["delegation"],
        description="`delegation`: one background run now; `research`: the same, by the `researcher` agent; "
        "`scheduled`: a run at each tick of `schedule_expression`; `triggered`: a run for each event sent to "
        "POST /tasks/webhooks/{id} (or, signed, to its `ingest_url`).",
    )
    prompt: str = Field(min_length=1, examples=["Research the latest trends in AI and write a summary"])
    agent: AgentName | None = Field(
        default=None, description="Run this agent instead of the default (`researcher` for research, else `assistant`)."
    )
    schedule_expression: CronExpression | None = Field(default=None, description="Scheduled tasks only (required).")
    timezone: TimezoneName = Field(default="UTC", description="Scheduled tasks only: the expression's timezone.")
    trigger_config: TriggerConfig | None = Field(default=None, description="Triggered tasks only.")
    notification_config: NotificationConfig | None = Field(default=None, description=NOTIFICATION_DOC)


class TaskPatch(Patch):
    """Only the fields given change, on the task and on its schedule or trigger."""

    NULLABLE = frozenset({"notification_config"})

    prompt: Annotated[str, Field(min_length=1)] | None = Field(default=None, description=PROMPT_DOC)
    agent: AgentName | None = None
    schedule_expression: CronExpression | None = Field(default=None, description="Scheduled tasks only.")
    timezone: TimezoneName | None = Field(default=None, description="Scheduled tasks only.")
    notification_config: NotificationConfig | None = Field(default=None, description=NOTIFICATION_DOC)
    enabled: StrictBool | None = Field(default=None, description="false: as POST /tasks/{id}/disable; true: enable.")


class TaskRun(BaseModel):
    """One run of a task (GET /v1/runs/{id} for all of it)."""

    id: uuid.UUID
    status: RunStatus
    output: Any = Field(default=None, description="The agent's output once `succeeded`.")
    error: RunError | None = None
    model: str | None = Field(default=None, description="`offline` is deterministic rules, not an LLM.")
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class TaskOut(BaseModel):
    id: uuid.UUID
    task_type: TaskType
    status: TaskStatus
    agent: str
    prompt: str = Field(description=PROMPT_DOC)
    enabled: bool
    schedule_expression: str | None = Field(default=None, description="Scheduled tasks: the cron expression.")
    timezone: str | None = None
    schedule_description: str | None = Field(default=None, description="The expression in words.")
    next_run_at: datetime | None = Field(default=None, description="Scheduled tasks: the next tick.")
    trigger_config: dict[str, Any] | None = None
    webhook_url: str | None = Field(
        default=None, description="Triggered tasks: POST events here with your API key (path on this server)."
    )
    ingest_url: str | None = Field(
        default=None,
        description="Triggered tasks: where a sender without an API key posts events signed with the trigger's "
        "secret (Standard Webhooks, or GitHub-style).",
    )
    notification_config: dict[str, Any] = Field(description="As given, without secrets (Slack: its origin only).")
    schedule_id: uuid.UUID | None = Field(default=None, description="Its schedule (/v1/schedules/{id}).")
    trigger_id: uuid.UUID | None = Field(default=None, description="Its trigger (/v1/triggers/{id}).")
    latest_run: TaskRun | None = None
    created_at: datetime
    updated_at: datetime


class TaskCreated(TaskOut):
    trigger_secret: str | None = Field(
        default=None,
        description="Triggered tasks: the signing secret for `ingest_url` (`whsec_…`), shown in this response "
        "only (POST /v1/triggers/{trigger_id}/rotate-secret makes a new one).",
    )


class TaskDetail(TaskOut):
    runs: list[TaskRun] = Field(description="Its runs, newest first (at most 20; /v1/runs has them all).")


class TaskPage(Page[TaskOut]):
    pass


class EventAccepted(BaseModel):
    task_id: uuid.UUID
    run_id: uuid.UUID | None = Field(description="The run the event started (or, for a repeat, the first one).")
    event_id: str
    duplicate: bool = Field(description="This event id was received before: no new run.")
