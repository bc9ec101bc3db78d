"""Work that starts itself: cron schedules and signed inbound triggers, each owned by a user and acting as them
(never as whoever sends an event). Both stop when the API key that created them is revoked."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Identity,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from switchboard.models.base import Base, CreatedAt


class Schedule(CreatedAt, Base):
    """A cron expression in an IANA timezone that creates a run of `agent` on `message` at each tick."""

    __tablename__ = "schedules"
    __table_args__ = (
        Index("ix_schedules_due", "next_fire_at", postgresql_where=text("enabled")),
        Index("ix_schedules_user", "user_id", "created_at", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id", ondelete="SET NULL"), default=None)
    agent: Mapped[str] = mapped_column(String(100))
    message: Mapped[str] = mapped_column(Text)
    cron: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    thread_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("threads.id", ondelete="CASCADE"), default=None)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    end_at: Mapped[datetime | None] = mapped_column(default=None)
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JSONB, default=dict, server_default="{}")
    limits: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
    notify: Mapped[list[dict[str, Any]] | None] = mapped_column(
        JSONB(none_as_null=True), default=None
    )  # as `runs.notify`
    next_fire_at: Mapped[datetime | None] = mapped_column(default=None)  # None: will not fire again
    last_fired_at: Mapped[datetime | None] = mapped_column(default=None)
    last_run_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    missed_ticks: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_missed_at: Mapped[datetime | None] = mapped_column(default=None)
    disabled_reason: Mapped[str | None] = mapped_column(Text, default=None)  # set when the scheduler stopped it
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())


class Trigger(CreatedAt, Base):
    """An ingest URL (`/v1/hooks/{id}`) whose signed events start runs of `agent` on `instructions`."""

    __tablename__ = "triggers"
    __table_args__ = (
        CheckConstraint("signature IN ('standard', 'github')", name="signature"),
        Index("ix_triggers_user", "user_id", "created_at", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id", ondelete="SET NULL"), default=None)
    agent: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    instructions: Mapped[str] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    thread_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("threads.id", ondelete="CASCADE"), default=None)
    notify: Mapped[list[dict[str, Any]] | None] = mapped_column(
        JSONB(none_as_null=True), default=None
    )  # as `runs.notify`
    # 'standard': Standard Webhooks headers; 'github': X-Hub-Signature-256 (and X-GitHub-Delivery for the id).
    signature: Mapped[str] = mapped_column(String(16), default="standard")
    secret: Mapped[str] = mapped_column(Text)  # encrypted `whsec_…`
    previous_secret: Mapped[str | None] = mapped_column(Text, default=None)
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(default=None)
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())


class TriggerEvent(Base):
    """An event a trigger accepted, by its sender's id (`webhook-id`): the same id twice is one run."""

    __tablename__ = "trigger_events"
    __table_args__ = (
        UniqueConstraint("trigger_id", "event_id"),
        # A GitHub-style event's id is not signed (nor is any time), so a signed body could be replayed under
        # fresh ids: for those, the body itself is one event too.
        UniqueConstraint("trigger_id", "body_sha256"),
        Index("ix_trigger_events_trigger", "trigger_id", "id"),
        Index("ix_trigger_events_run", "run_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    trigger_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("triggers.id", ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(String(200))
    run_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("runs.id", ondelete="SET NULL"), default=None)
    size_bytes: Mapped[int] = mapped_column(Integer)
    body_sha256: Mapped[str | None] = mapped_column(String(64), default=None)  # GitHub-style triggers only
    received_at: Mapped[datetime] = mapped_column(server_default=func.now())
