"""The platform API's one table: a task (seed 002) and what it stands for in the core — runs (delegation,
research), a schedule (scheduled) or a trigger (triggered). Declared on the core Base so it can refer to users,
runs, schedules and triggers; migrated on the plugin's own Alembic branch (see `migrations/`)."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from switchboard.models import Base
from switchboard.models.base import CreatedAt, EnumText, sql_list


class TaskType(StrEnum):
    DELEGATION = "delegation"  # one background run now (and again on execute)
    SCHEDULED = "scheduled"  # a cron schedule
    TRIGGERED = "triggered"  # a trigger: each event starts a run
    RESEARCH = "research"  # one background run of the researcher agent


RUN_TASKS = frozenset({TaskType.DELEGATION, TaskType.RESEARCH})
"""Task types that are runs started on request (no schedule, no trigger)."""


class PlatformTask(CreatedAt, Base):
    """A seed 002 task of one user. Its status is derived, never stored: from its latest run (delegation,
    research) or from its schedule or trigger being enabled (scheduled, triggered)."""

    __tablename__ = "platform_tasks"
    __table_args__ = (
        CheckConstraint(f"task_type IN {sql_list(TaskType)}", name="task_type"),
        Index("ix_platform_tasks_user", "user_id", "created_at", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    task_type: Mapped[TaskType] = mapped_column(EnumText(TaskType, 16))
    agent: Mapped[str] = mapped_column(String(100))
    prompt: Mapped[str] = mapped_column(Text)
    # Its notification_config as `notify` targets, stored as on runs (secrets sealed); its schedule or trigger
    # holds the same.
    notify: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONB(none_as_null=True), default=None)
    # A triggered task's trigger_config as given (its `signature` and `name` went to the trigger).
    trigger_config: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
    # Delegation and research tasks only: false once disabled (no execute until enabled again). A scheduled or
    # triggered task is enabled when its schedule or trigger is.
    enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    # What the task stands for. SET NULL: a schedule or trigger deleted through /v1 leaves the task disabled,
    # and a run deleted with its thread leaves the task without a latest run.
    schedule_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("schedules.id", ondelete="SET NULL"), default=None, index=True
    )
    trigger_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("triggers.id", ondelete="SET NULL"), default=None, index=True
    )
    last_run_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("runs.id", ondelete="SET NULL"), default=None, index=True
    )
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())
