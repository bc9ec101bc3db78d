"""An event arriving at `/v1/hooks/{trigger_id}`: checked, in order of cost, then turned into one run.

1. Its size (413), before anything else: no database, no HMAC over a body we will not take.
2. The trigger, by one indexed read: unknown, disabled, its agent gone, or the API key it acts with revoked (or
   deleted) are all the same 404, so a sender learns nothing about which.
3. The signature, over the raw bytes (401). Nothing has been parsed or written so far; a rejected request costs a
   read and an HMAC.
4. Only then the payload is read (JSON, else text; 422 for bytes that are not text), and in one transaction the
   event is recorded under UNIQUE (trigger_id, event_id) — and, GitHub-style, UNIQUE (trigger_id, body_sha256),
   since nothing there signs the id — with ON CONFLICT DO NOTHING and its run created. Of any number of
   deliveries of one event, concurrent or not, exactly one inserts; the others wait for its commit and answer
   with its run.

The run is created as the trigger's owner (never as the sender, who has no identity here), through
`RunService.create` like any other run: its tools act only as that user.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
import uuid
from dataclasses import dataclass

import structlog
from sqlalchemy import or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import Headers

from switchboard.auth.principal import principal_of
from switchboard.kit.clock import utc_now
from switchboard.kit.errors import BadRequest, NotFound, PayloadTooLarge
from switchboard.kit.request_context import current_request_id
from switchboard.kit.secret_box import SecretUnreadable, secret_box
from switchboard.models import ApiKey, Trigger, TriggerEvent, User
from switchboard.runs.schemas import RunCreate
from switchboard.runs.service import RunOrigin, RunService
from switchboard.settings import Settings
from switchboard.state import AppState
from switchboard.triggers.message import event_message, read_payload
from switchboard.triggers.signatures import verify_github, verify_standard

log = structlog.get_logger(__name__)

MAX_EVENT_ID_CHARS = 200  # trigger_events.event_id


@dataclass(frozen=True)
class Received:
    run_id: uuid.UUID | None
    event_id: str
    duplicate: bool


async def receive(state: AppState, trigger_id: uuid.UUID, headers: Headers, body: bytes) -> Received:
    settings = state.settings
    if len(body) > settings.trigger_max_payload_bytes:
        raise PayloadTooLarge(
            f"The event is {len(body)} bytes; this server takes events of at most "
            f"{settings.trigger_max_payload_bytes} bytes (SWITCHBOARD_TRIGGER_MAX_PAYLOAD_BYTES)."
        )
    async with state.db.unit_of_work() as session:
        found = await session.execute(
            select(Trigger, User, ApiKey)
            .join(User, User.id == Trigger.user_id)
            .join(ApiKey, ApiKey.id == Trigger.api_key_id)  # an inner join: no key (deleted) → no trigger
            .where(Trigger.id == trigger_id, Trigger.enabled, ApiKey.revoked_at.is_(None))
        )
        row = found.one_or_none()
        if row is None or row[0].agent not in state.agents:
            raise NotFound(f"No trigger {trigger_id} accepts events.")
        trigger, owner, key = row
        event_id = _verified_event_id(trigger, headers, body, settings)
        payload = read_payload(body)
        # GitHub signs no id and no time: its body is what a replay under a fresh delivery id would repeat.
        digest = hashlib.sha256(body).hexdigest() if trigger.signature == "github" else None
        received = await record_event(session, trigger.id, event_id, len(body), digest)
        if received is not None:  # seen before: the first delivery's run
            return received
        run_service = RunService(session, state.agents, settings)
        run, _ = await run_service.create(
            principal_of(owner, api_key=key),  # the key's rights (scopes) and budget, as when it saved the trigger
            RunCreate(
                agent=trigger.agent,
                message=event_message(trigger.name, trigger.instructions, payload),
                thread_id=trigger.thread_id,
                metadata={"trigger_event_id": event_id},
            ),
            request_id=current_request_id(),
            origin=RunOrigin(trigger_id=trigger.id, notify=trigger.notify or []),
        )
        await session.execute(
            update(TriggerEvent)
            .where(TriggerEvent.trigger_id == trigger.id, TriggerEvent.event_id == event_id)
            .values(run_id=run.id)
        )
    log.info("trigger.event_accepted", trigger_id=str(trigger_id), event_id=event_id, run_id=str(run.id))
    return Received(run_id=run.id, event_id=event_id, duplicate=False)


def trigger_secrets(trigger: Trigger, settings: Settings) -> list[str]:
    """What may sign the trigger's events: its secret, and its previous one within the rotation grace. A current
    secret this server can no longer open is a 404, as for a trigger that takes no events."""
    secrets = [_opened(trigger, trigger.secret, settings)]
    expires = trigger.previous_secret_expires_at
    if trigger.previous_secret is not None and expires is not None and expires > utc_now():
        with contextlib.suppress(NotFound):  # the current one is readable: events signed with it go through
            secrets.append(_opened(trigger, trigger.previous_secret, settings))
    return secrets


def _verified_event_id(trigger: Trigger, headers: Headers, body: bytes, settings: Settings) -> str:
    """The event's id once its signature matches the trigger's secret, or the previous one within its grace."""
    secrets = trigger_secrets(trigger, settings)
    if trigger.signature == "github":
        verify_github(headers, body, secrets)
        event_id = headers.get("x-github-delivery")
        what = "X-GitHub-Delivery"
    else:
        event_id = verify_standard(headers, body, secrets, time.time())
        what = "webhook-id"
    if not event_id or len(event_id) > MAX_EVENT_ID_CHARS:
        raise BadRequest(
            f"{what} must identify the event in 1 to {MAX_EVENT_ID_CHARS} characters: a repeated delivery of an "
            "event is recognised by it (and runs once).",
            details=[{"field": what, "message": "missing or too long"}],
        )
    return event_id


def _opened(trigger: Trigger, sealed: str, settings: Settings) -> str:
    try:
        return secret_box(settings).open(sealed)
    except SecretUnreadable as unreadable:
        # The server's key changed since the secret was sealed: no event can be checked with it until the owner
        # rotates the secret. Not the sender's doing, nor theirs to know: as for a trigger that takes no events.
        log.error("trigger.secret_unreadable", trigger_id=str(trigger.id), error=str(unreadable))
        raise NotFound(f"No trigger {trigger.id} accepts events.") from None


async def record_event(
    session: AsyncSession, trigger_id: uuid.UUID, event_id: str, size: int, digest: str | None
) -> Received | None:
    """Insert the event; None when this delivery is the first, else the earlier delivery's outcome. An insert
    that meets a concurrent one of the same id (or, GitHub-style, the same body) waits for it to commit (then
    does nothing) or roll back (then inserts): never two rows, never two runs."""
    inserted = await session.scalar(
        pg_insert(TriggerEvent)
        .values(trigger_id=trigger_id, event_id=event_id, size_bytes=size, body_sha256=digest)
        .on_conflict_do_nothing()  # either unique constraint: the event id, or the body's digest
        .returning(TriggerEvent.id)
    )
    if inserted is not None:
        return None
    same = TriggerEvent.event_id == event_id
    if digest is not None:
        same = or_(same, TriggerEvent.body_sha256 == digest)
    earlier = (
        await session.execute(
            select(TriggerEvent.run_id, TriggerEvent.event_id)
            .where(TriggerEvent.trigger_id == trigger_id, same)
            .order_by(TriggerEvent.id)
            .limit(1)
        )
    ).one()
    return Received(run_id=earlier.run_id, event_id=earlier.event_id, duplicate=True)
