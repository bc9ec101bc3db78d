"""The notifications outbox: webhook endpoints users register, the messages state changes produce (one per
event, written in the transaction of the change), a delivery per message and destination, and each attempt."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Identity,
    Index,
    Integer,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from switchboard.models.base import Base, CreatedAt, EnumText, sql_list


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # waiting for its first attempt (or a manual retry)
    FAILED = "failed"  # the last attempt failed; the next one is at `next_attempt_at`
    SUCCEEDED = "succeeded"
    DEAD = "dead"  # no more attempts: the schedule ran out, the destination is gone (410) or disabled


DUE = frozenset({DeliveryStatus.PENDING, DeliveryStatus.FAILED})
"""A delivery in these statuses is sent when `next_attempt_at` comes."""


class Channel(StrEnum):
    WEBHOOK = "webhook"
    SLACK = "slack"
    EMAIL = "email"


class WebhookEndpoint(CreatedAt, Base):
    """A URL a user registered for events; its signing secret is stored encrypted (`kit.secret_box`)."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(String(2048))
    description: Mapped[str | None] = mapped_column(Text, default=None)
    event_types: Mapped[list[str] | None] = mapped_column(JSONB(none_as_null=True), default=None)  # None: every type
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    secret: Mapped[str] = mapped_column(Text)  # encrypted `whsec_…`
    # After a rotation, the old secret signs too until `previous_secret_expires_at`.
    previous_secret: Mapped[str | None] = mapped_column(Text, default=None)
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(default=None)
    failing_since: Mapped[datetime | None] = mapped_column(default=None)  # first failure since the last success
    last_success_at: Mapped[datetime | None] = mapped_column(default=None)
    disabled_reason: Mapped[str | None] = mapped_column(Text, default=None)  # set when we disabled it
    disabled_at: Mapped[datetime | None] = mapped_column(default=None)
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())


class OutboxMessage(CreatedAt, Base):
    """One event (`run.succeeded`…) for one user, its body fixed when it happened: every delivery of it sends
    these bytes, under `webhook-id: msg_<id hex>`."""

    __tablename__ = "outbox_messages"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    run_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    type: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)  # the JSON sent, exactly


class Delivery(CreatedAt, Base):
    """A message on its way to one destination: an endpoint, or a run's own `notify` target (`target`)."""

    __tablename__ = "deliveries"
    __table_args__ = (
        CheckConstraint(f"status IN {sql_list(DeliveryStatus)}", name="status"),
        CheckConstraint(f"channel IN {sql_list(Channel)}", name="channel"),
        Index("ix_deliveries_due", "next_attempt_at", postgresql_where=text(f"status IN {sql_list(DUE)}")),
        Index("ix_deliveries_endpoint", "endpoint_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    message_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("outbox_messages.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    channel: Mapped[Channel] = mapped_column(EnumText(Channel, 16))
    endpoint_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), default=None
    )
    # A run's own destination: {"channel", "url", "secret" (encrypted)?} | {"channel", "webhook_url"} |
    # {"channel", "to": [...]}; None for an endpoint's delivery.
    target: Mapped[dict[str, Any] | None] = mapped_column(JSONB(none_as_null=True), default=None)
    status: Mapped[DeliveryStatus] = mapped_column(EnumText(DeliveryStatus, 16), default=DeliveryStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # When it is next sent; while a dispatcher holds it, when its claim lapses (then it is sent again).
    next_attempt_at: Mapped[datetime | None] = mapped_column(server_default=func.now())
    lease_owner: Mapped[str | None] = mapped_column(String(200), default=None)
    last_status_code: Mapped[int | None] = mapped_column(Integer, default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    delivered_at: Mapped[datetime | None] = mapped_column(default=None)
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())


class DeliveryAttempt(Base):
    """One try of a delivery: when, how long, what came back."""

    __tablename__ = "delivery_attempts"
    __table_args__ = (Index("ix_delivery_attempts_delivery", "delivery_id", "attempt"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    delivery_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("deliveries.id", ondelete="CASCADE"))
    attempt: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime]
    duration_ms: Mapped[float] = mapped_column(Float)
    status_code: Mapped[int | None] = mapped_column(Integer, default=None)
    response_excerpt: Mapped[str | None] = mapped_column(Text, default=None)  # at most 1 KiB
    error: Mapped[str | None] = mapped_column(Text, default=None)
