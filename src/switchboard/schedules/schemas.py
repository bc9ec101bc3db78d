"""Request and response shapes of the schedules API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, Field, StrictBool, computed_field

from switchboard.agents.schemas import AgentName
from switchboard.kit.pagination import Page
from switchboard.kit.schemas import FromRow, Metadata, Patch, Timestamp
from switchboard.notifications.targets import NOTIFY_FIELD, NotifyTarget, shown
from switchboard.runs.schemas import RunLimits, RunOut
from switchboard.schedules.cron import described

CronExpression = Annotated[
    str,
    Field(
        min_length=1,
        max_length=200,
        examples=["0 9 * * 1-5"],
        description="5 fields (minute hour day-of-month month day-of-week), or 6 with seconds first; `L`, `W`, "
        "`#` and @hourly/@daily/@weekly/@monthly/@yearly are understood.",
    ),
]
TimezoneName = Annotated[
    str, Field(min_length=1, max_length=64, examples=["Europe/Berlin"], description="An IANA timezone.")
]


ThreadChoice = Annotated[
    str,
    Field(
        pattern=r"^(new|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$",
        examples=["new"],
        description='`"new"`: each tick starts a new thread; a thread id: every tick runs on that thread.',
    ),
]


def _thread_shown(thread_id: uuid.UUID | None) -> str:
    return "new" if thread_id is None else str(thread_id)


class ScheduleCreate(BaseModel):
    agent: AgentName = Field(examples=["support"], description="A registered agent's name.")
    message: str = Field(min_length=1, examples=["Summarise my open orders"], description="Each run's message.")
    cron: CronExpression
    timezone: TimezoneName = "UTC"
    thread: ThreadChoice = "new"
    enabled: StrictBool = True
    end_at: Timestamp | None = Field(default=None, description="No tick after this time; must be in the future.")
    metadata: Metadata = Field(default_factory=dict, description="Stored with each run (at most 16 KiB).")
    limits: RunLimits = Field(default_factory=RunLimits, description="Each run's limits.")
    notify: list[NotifyTarget] | None = NOTIFY_FIELD


class SchedulePatch(Patch):
    """Only the fields given change; `end_at: null` removes the end, `notify: null` the targets."""

    NULLABLE = frozenset({"end_at", "notify"})

    agent: AgentName | None = None
    message: Annotated[str, Field(min_length=1)] | None = None
    cron: CronExpression | None = None
    timezone: TimezoneName | None = None
    thread: ThreadChoice | None = None
    enabled: StrictBool | None = None
    end_at: Timestamp | None = None
    metadata: Metadata | None = None
    limits: RunLimits | None = None
    notify: list[NotifyTarget] | None = NOTIFY_FIELD


class ScheduleOut(FromRow):
    id: uuid.UUID
    agent: str
    message: str
    cron: str
    timezone: str
    thread: Annotated[str, BeforeValidator(_thread_shown)] = Field(
        validation_alias="thread_id", description='`"new"` or the thread every tick runs on.'
    )
    enabled: bool
    end_at: datetime | None
    metadata: dict[str, Any] = Field(validation_alias="metadata_")
    limits: RunLimits
    notify: Annotated[list[dict[str, Any]], BeforeValidator(shown)] = Field(
        default_factory=list, description="Where each run is told about besides your webhook endpoints (no secrets)."
    )
    next_fire_at: datetime | None = Field(description="The next tick; null while paused or after the last one.")
    last_fired_at: datetime | None = Field(description="The last tick that created a run.")
    last_run_id: uuid.UUID | None = Field(description="The last run the schedule created (a tick or run-now).")
    missed_ticks: int = Field(description="Ticks skipped because they were older than the grace period.")
    last_missed_at: datetime | None
    disabled_reason: str | None = Field(
        description="Why the scheduler stopped the schedule (its key revoked, its agent or thread gone, its end "
        "reached); cleared by resume."
    )
    created_at: datetime
    updated_at: datetime

    @computed_field  # type: ignore[prop-decorator]
    @property
    def description(self) -> str:
        """The expression in words, with its timezone."""
        return described(self.cron, self.timezone)


class SchedulePage(Page[ScheduleOut]):
    pass


class ScheduleRunPage(Page[RunOut]):
    pass
