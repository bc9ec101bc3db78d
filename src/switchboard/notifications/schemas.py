"""Request and response shapes of webhook endpoints and deliveries."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from switchboard.kit.schemas import FromRow, Patch
from switchboard.models.notifications import Channel, DeliveryStatus
from switchboard.notifications.outbox import EVENT_TYPES

EventType = Literal[EVENT_TYPES]  # type: ignore[valid-type]
URL_DESCRIPTION = (
    "Where to POST events (http or https). It must resolve to a public address (a loopback, private, link-local "
    "or metadata address is refused) unless the server allows private URLs."
)


class WebhookCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str = Field(
        max_length=2048,
        pattern=r"^https?://",
        examples=["https://example.com/hooks/switchboard"],
        description=URL_DESCRIPTION,
    )
    event_types: Annotated[list[EventType], Field(min_length=1, max_length=20)] | None = Field(
        default=None, description="Only these events; omitted: every event."
    )
    description: str | None = Field(default=None, max_length=500)
    enabled: StrictBool = True


class WebhookUpdate(Patch):
    """Only the fields given change; `event_types: null` means every event, `description: null` none.
    `enabled: true` on an endpoint the server disabled re-enables it."""

    model_config = ConfigDict(extra="forbid")
    NULLABLE = frozenset({"event_types", "description"})

    url: Annotated[str, Field(max_length=2048, pattern=r"^https?://")] | None = Field(
        default=None, description=URL_DESCRIPTION
    )
    event_types: Annotated[list[EventType], Field(min_length=1, max_length=20)] | None = None
    description: str | None = Field(default=None, max_length=500)
    enabled: StrictBool | None = None


class WebhookOut(FromRow):
    id: uuid.UUID
    url: str
    event_types: list[str] | None = Field(description="null: every event.")
    description: str | None
    enabled: bool
    disabled_reason: str | None = Field(
        description="Why the server disabled the endpoint (it answered 410, or failed every delivery for days)."
    )
    disabled_at: datetime | None
    failing_since: datetime | None = Field(description="Every delivery since this time has failed (null: healthy).")
    last_success_at: datetime | None
    previous_secret_expires_at: datetime | None = Field(
        description="After a rotation, the old secret signs too until then."
    )
    created_at: datetime
    updated_at: datetime


class WebhookWithSecret(WebhookOut):
    secret: str = Field(
        description="The signing secret (`whsec_…`): shown now only. Verify deliveries with any Standard Webhooks "
        "library: `webhook-signature` is `v1,<base64 HMAC-SHA256 of webhook-id.webhook-timestamp.body>`."
    )


class WebhookPage(BaseModel):
    items: list[WebhookOut]
    next_cursor: str | None = None


class AttemptOut(FromRow):
    attempt: int
    started_at: datetime
    duration_ms: float
    status_code: int | None = Field(description="The receiver's HTTP status (250 for an email accepted).")
    response_excerpt: str | None = Field(description="The start of the answer (at most 1 KiB).")
    error: str | None


class DeliveryOut(BaseModel):
    id: uuid.UUID
    event_id: str = Field(description="The `webhook-id` header: the same on every attempt.")
    event_type: str
    run_id: uuid.UUID | None
    channel: Channel
    endpoint_id: uuid.UUID | None = Field(description="null for a run's own `notify` destination.")
    destination: str = Field(description="Where it goes (a Slack URL shows only its host).")
    status: DeliveryStatus = Field(
        description="`pending` (first attempt due), `failed` (retrying at `next_attempt_at`), `succeeded`, `dead` "
        "(no more attempts: the schedule ran out, the endpoint answered 410 or was disabled)."
    )
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    delivered_at: datetime | None
    created_at: datetime
    attempt_log: list[AttemptOut] = Field(default_factory=list, description="Every attempt, oldest first.")


class DeliveryPage(BaseModel):
    items: list[DeliveryOut]
    next_cursor: str | None = None


def destination(channel: str, url: str | None, target: dict[str, Any] | None) -> str:
    if target is None:
        return url or ""
    if channel == Channel.WEBHOOK:
        return str(target["url"])
    if channel == Channel.SLACK:
        return str(target.get("shown", "slack"))
    return ", ".join(target.get("to", []))
