"""Triggers as their owner manages them: create (the secret generated and shown once), read, list, change, delete,
rotate the secret, and the events that came in.

A trigger acts with the authority of the API key last used to create or change it (`api_key_id`): when that key
is revoked, its ingest URL answers 404 until the owner changes the trigger with a working key (any PATCH, or a
rotation, records the caller's key). Another user's trigger is not found, never forbidden.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.agents.registry import AgentRegistry
from switchboard.auth.principal import Principal
from switchboard.kit.clock import utc_now
from switchboard.kit.errors import NotFound, ValidationFailed
from switchboard.kit.pagination import keyset_page
from switchboard.kit.secret_box import ROTATION_GRACE, new_signing_secret, secret_box
from switchboard.models import ApiKey, Run, Trigger, TriggerEvent
from switchboard.models.runs import RunStatus
from switchboard.notifications.targets import stored
from switchboard.settings import Settings
from switchboard.threads.service import ThreadService
from switchboard.triggers.schemas import (
    ThreadChoice,
    TriggerCreate,
    TriggerEventOut,
    TriggerOut,
    TriggerUpdate,
    TriggerWithSecret,
)

HOOKS_PATH = "/v1/hooks"


@dataclass(frozen=True)
class Shown:
    """A trigger as its owner reads it: the row and whether the key it acts with still works."""

    trigger: Trigger
    key_live: bool


class TriggerService:
    def __init__(self, session: AsyncSession, agents: AgentRegistry, settings: Settings) -> None:
        self.session = session
        self.agents = agents
        self.settings = settings

    # --- write ---

    async def create(self, user: Principal, body: TriggerCreate) -> tuple[Shown, str]:
        """The new trigger and its secret in plain text (for this response only). Nothing is stored unless every
        field is valid."""
        self.agents.require_runnable(body.agent)
        self._check_instructions(body.agent, body.instructions)
        thread_id = await self._thread_id(user, body.agent, body.thread)
        secret = new_signing_secret()
        trigger = Trigger(
            id=uuid.uuid4(),
            user_id=user.user_id,
            api_key_id=user.api_key_id,
            agent=body.agent,
            name=body.name,
            instructions=body.instructions,
            enabled=body.enabled,
            thread_id=thread_id,
            notify=await stored(self.settings, body.notify) or None,
            signature=body.signature,
            secret=secret_box(self.settings).seal(secret),
        )
        self.session.add(trigger)
        await self.session.flush()
        await self.session.refresh(trigger)
        return Shown(trigger, key_live=user.api_key_id is not None), secret

    async def update(self, user: Principal, trigger_id: uuid.UUID, body: TriggerUpdate) -> Shown:
        trigger = await self._owned(user, trigger_id, for_update=True)
        given = body.model_fields_set
        agent = body.agent if body.agent is not None else trigger.agent
        if body.agent is not None:
            self.agents.require_runnable(body.agent)
        if body.instructions is not None:
            self._check_instructions(agent, body.instructions)
        if body.thread is not None:
            trigger.thread_id = await self._thread_id(user, agent, body.thread)
        elif body.agent is not None and trigger.thread_id is not None:
            await self._thread_id(user, agent, trigger.thread_id)  # the kept thread must be the new agent's too
        if "notify" in given:
            trigger.notify = await stored(self.settings, body.notify) or None
        trigger.agent = agent
        for field in ("name", "instructions", "enabled", "signature"):
            value = getattr(body, field)
            if value is not None:
                setattr(trigger, field, value)
        trigger.api_key_id = user.api_key_id
        trigger.updated_at = utc_now()
        await self.session.flush()
        return Shown(trigger, key_live=user.api_key_id is not None)

    async def rotate_secret(self, user: Principal, trigger_id: uuid.UUID) -> tuple[Shown, str]:
        """A new secret; the current one becomes the previous, accepted for 24 h more (one previous at a time:
        rotating again within the 24 h ends the older one's grace at once)."""
        trigger = await self._owned(user, trigger_id, for_update=True)
        secret = new_signing_secret()
        now = utc_now()
        trigger.previous_secret = trigger.secret
        trigger.previous_secret_expires_at = now + ROTATION_GRACE
        trigger.secret = secret_box(self.settings).seal(secret)
        trigger.api_key_id = user.api_key_id
        trigger.updated_at = now
        await self.session.flush()
        return Shown(trigger, key_live=user.api_key_id is not None), secret

    async def delete(self, user: Principal, trigger_id: uuid.UUID) -> None:
        """Its events go with it; the runs it started stay (their `trigger_id` becomes null)."""
        trigger = await self._owned(user, trigger_id)
        await self.session.execute(delete(Trigger).where(Trigger.id == trigger.id))

    # --- read ---

    async def get(self, user: Principal, trigger_id: uuid.UUID) -> Shown:
        trigger = await self._owned(user, trigger_id)
        return Shown(trigger, key_live=trigger.api_key_id in await self._live_keys([trigger]))

    async def page(self, user: Principal, limit: int, cursor: str | None) -> tuple[list[Shown], str | None]:
        """The user's triggers, newest first."""
        query = select(Trigger).where(Trigger.user_id == user.user_id)
        columns = [Trigger.created_at, Trigger.id]
        triggers, next_cursor = await keyset_page(
            self.session, query, columns, limit=limit, cursor=cursor, descending=True
        )
        live = await self._live_keys(triggers)
        return [Shown(t, key_live=t.api_key_id in live) for t in triggers], next_cursor

    async def events(
        self, user: Principal, trigger_id: uuid.UUID, limit: int, cursor: str | None
    ) -> tuple[list[TriggerEventOut], str | None]:
        """What came in, newest first, with the status of the run each started."""
        trigger = await self._owned(user, trigger_id)
        query = select(TriggerEvent).where(TriggerEvent.trigger_id == trigger.id)
        events, next_cursor = await keyset_page(
            self.session, query, [TriggerEvent.id], limit=limit, cursor=cursor, descending=True
        )
        run_ids = [event.run_id for event in events if event.run_id is not None]
        statuses: dict[uuid.UUID, RunStatus] = {}
        if run_ids:
            rows = await self.session.execute(select(Run.id, Run.status).where(Run.id.in_(run_ids)))
            statuses = {run_id: status for run_id, status in rows}
        outs = [
            TriggerEventOut(
                event_id=event.event_id,
                received_at=event.received_at,
                size_bytes=event.size_bytes,
                run_id=event.run_id,
                run_status=statuses.get(event.run_id) if event.run_id is not None else None,
            )
            for event in events
        ]
        return outs, next_cursor

    def out(self, shown: Shown) -> TriggerOut:
        return TriggerOut(**self._shown_fields(shown))

    def out_with_secret(self, shown: Shown, secret: str) -> TriggerWithSecret:
        return TriggerWithSecret(**self._shown_fields(shown), secret=secret)

    def _shown_fields(self, shown: Shown) -> dict[str, Any]:
        trigger = shown.trigger
        reason = None
        if not trigger.enabled:
            reason = "disabled: PATCH it with enabled true to resume"
        elif not shown.key_live:
            reason = "the API key it acts with was revoked: change it (any PATCH) with a working key to resume"
        base = self.settings.public_base_url()
        return dict(
            id=trigger.id,
            agent=trigger.agent,
            name=trigger.name,
            instructions=trigger.instructions,
            enabled=trigger.enabled,
            thread=str(trigger.thread_id) if trigger.thread_id is not None else "new",
            notify=trigger.notify or [],
            signature="github" if trigger.signature == "github" else "standard",
            ingest_url=f"{base}{HOOKS_PATH}/{trigger.id}",
            accepting_events=reason is None,
            not_accepting_reason=reason,
            previous_secret_expires_at=trigger.previous_secret_expires_at,
            created_at=trigger.created_at,
            updated_at=trigger.updated_at,
        )

    # --- checks ---

    async def _owned(self, user: Principal, trigger_id: uuid.UUID, *, for_update: bool = False) -> Trigger:
        query = select(Trigger).where(Trigger.id == trigger_id, Trigger.user_id == user.user_id)
        if for_update:
            query = query.with_for_update()
        trigger = await self.session.scalar(query)
        if trigger is None:
            raise NotFound(f"Trigger {trigger_id} not found.")
        return trigger

    async def _live_keys(self, triggers: list[Trigger]) -> set[int | None]:
        key_ids = {t.api_key_id for t in triggers if t.api_key_id is not None}
        if not key_ids:
            return set()
        rows = await self.session.scalars(select(ApiKey.id).where(ApiKey.id.in_(key_ids), ApiKey.revoked_at.is_(None)))
        return set(rows)

    async def _thread_id(self, user: Principal, agent: str, choice: ThreadChoice) -> uuid.UUID | None:
        """None for "new"; else the id of the caller's thread of `agent` (another user's: 404 naming the field)."""
        if choice == "new":
            return None
        assert isinstance(choice, uuid.UUID)
        return (await ThreadService(self.session).of_agent(user, choice, agent, field="thread")).id

    def _check_instructions(self, agent: str, instructions: str) -> None:
        """A 422 (the instructions are a setting of the trigger, not a request's message), at the agent's limit."""
        limit, why = self.agents.input_limit(agent)
        if len(instructions) > limit:
            message = f"is {len(instructions)} characters; the limit is {limit} ({why})"
            raise ValidationFailed(f"instructions: {message}.", details=[{"field": "instructions", "message": message}])
