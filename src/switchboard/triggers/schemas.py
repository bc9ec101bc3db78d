"""Request and response shapes of the triggers API and of the ingest URL's answers."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, Field, PlainValidator, StrictBool, WithJsonSchema

from switchboard.agents.schemas import AgentName
from switchboard.kit.pagination import Page
from switchboard.kit.schemas import Patch
from switchboard.models.runs import RunStatus
from switchboard.notifications.targets import NOTIFY_FIELD, NotifyTarget, shown

SignatureStyle = Literal["standard", "github"]


def _thread_choice(value: object) -> Literal["new"] | uuid.UUID:
    # One message for both forms (a plain union would report one error per branch, named `thread.uuid` …).
    if value == "new":
        return "new"
    if isinstance(value, uuid.UUID):
        return value
    if isinstance(value, str):
        try:
            return uuid.UUID(value)
        except ValueError:
            pass
    raise ValueError('must be "new" or the id of one of your threads')


ThreadChoice = Annotated[
    Literal["new"] | uuid.UUID,
    PlainValidator(_thread_choice),
    WithJsonSchema({"anyOf": [{"type": "string", "enum": ["new"]}, {"type": "string", "format": "uuid"}]}),
]

SIGNATURE_DOC = (
    "How senders sign: `standard` (Standard Webhooks: webhook-id, webhook-timestamp, webhook-signature) or "
    "`github` (X-Hub-Signature-256, keyed with the secret string as shown; X-GitHub-Delivery identifies the event)."
)
THREAD_DOC = (
    '`"new"`: each event runs on a thread of its own; a thread id (one of yours, of the same agent): every event '
    "runs on that thread, one after another, each seeing the earlier ones."
)
INSTRUCTIONS_DOC = (
    "What the agent should do with each event. The event's payload follows them in the run's message, fenced and "
    "labelled as untrusted data."
)


class TriggerCreate(BaseModel):
    agent: AgentName = Field(examples=["support"], description="A registered agent's name.")
    name: str = Field(min_length=1, max_length=200, examples=["order shipped (shop)"])
    instructions: str = Field(
        min_length=1, examples=["An order was shipped: tell me its details."], description=INSTRUCTIONS_DOC
    )
    enabled: StrictBool = True
    notify: list[NotifyTarget] | None = NOTIFY_FIELD
    thread: ThreadChoice = Field(default="new", description=THREAD_DOC)
    signature: SignatureStyle = Field(default="standard", description=SIGNATURE_DOC)


class TriggerUpdate(Patch):
    """Only the fields given change; `notify: null` removes the targets."""

    NULLABLE = frozenset({"notify"})

    agent: AgentName | None = None
    name: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    instructions: Annotated[str, Field(min_length=1)] | None = Field(default=None, description=INSTRUCTIONS_DOC)
    enabled: StrictBool | None = None
    notify: list[NotifyTarget] | None = NOTIFY_FIELD
    thread: ThreadChoice | None = Field(default=None, description=THREAD_DOC)
    signature: SignatureStyle | None = Field(default=None, description=SIGNATURE_DOC)


class TriggerOut(BaseModel):
    id: uuid.UUID
    agent: str
    name: str
    instructions: str
    enabled: bool
    thread: str = Field(description=THREAD_DOC, examples=["new"])
    notify: Annotated[list[dict[str, Any]], BeforeValidator(shown)] = Field(
        default_factory=list, description="Where each run is told about besides your webhook endpoints (no secrets)."
    )
    signature: SignatureStyle = Field(description=SIGNATURE_DOC)
    ingest_url: str = Field(description="Where senders POST events (no API key: the signature is the credential).")
    accepting_events: bool = Field(description="Whether the ingest URL starts runs now.")
    not_accepting_reason: str | None = Field(default=None, description="Why not, when it does not.")
    previous_secret_expires_at: datetime | None = Field(
        default=None, description="After a rotation, until when the previous secret is still accepted."
    )
    created_at: datetime
    updated_at: datetime


class TriggerWithSecret(TriggerOut):
    secret: str = Field(
        description="The signing secret (`whsec_…`). Shown in this response only: store it with the sender now."
    )


class TriggerPage(Page[TriggerOut]):
    pass


class TriggerEventOut(BaseModel):
    event_id: str = Field(description="The sender's id of the event (webhook-id, or X-GitHub-Delivery).")
    received_at: datetime
    size_bytes: int
    run_id: uuid.UUID | None = Field(description="The run the event started (null if that run was deleted).")
    run_status: RunStatus | None


class TriggerEventPage(Page[TriggerEventOut]):
    pass


class EventAccepted(BaseModel):
    run_id: uuid.UUID | None = Field(description="The run the event started (for a repeat: the first one's).")
    event_id: str
    duplicate: bool = Field(description="True when this event id was received before: no new run was started.")
