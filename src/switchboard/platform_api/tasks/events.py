"""An event for a triggered task, sent with the owner's API key to POST /tasks/webhooks/{id}: through the same
machinery as the trigger's signed ingest URL — recorded once per event id, and turned into a run whose message
is the task's instructions followed by the payload fenced and labelled as untrusted data
(`triggers.message`). Only the credential differs: here the API key of the task's owner (seed 002's example
with a key added); a sender that should not hold that key uses the signed `ingest_url` instead."""

from __future__ import annotations

import uuid

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.agents.registry import AgentRegistry
from switchboard.auth.principal import Principal
from switchboard.kit.errors import Conflict, PayloadTooLarge
from switchboard.models import Trigger, TriggerEvent
from switchboard.platform_api.models import TaskType
from switchboard.platform_api.tasks import views
from switchboard.platform_api.tasks.schemas import EventAccepted
from switchboard.platform_api.tasks.service import TaskService
from switchboard.runs.schemas import RunCreate
from switchboard.runs.service import RunOrigin
from switchboard.settings import Settings
from switchboard.triggers.ingest import record_event
from switchboard.triggers.message import event_message, read_payload


async def receive(
    session: AsyncSession,
    agents: AgentRegistry,
    settings: Settings,
    user: Principal,
    task_id: uuid.UUID,
    body: bytes,
    event_id: str | None,
    request_id: str | None,
) -> EventAccepted:
    """The event's run (a new one; or, for an event id received before, the first delivery's)."""
    if len(body) > settings.trigger_max_payload_bytes:
        raise PayloadTooLarge(
            f"The event is {len(body)} bytes; this server takes events of at most "
            f"{settings.trigger_max_payload_bytes} bytes (SWITCHBOARD_TRIGGER_MAX_PAYLOAD_BYTES)."
        )
    tasks = TaskService(session, agents, settings)
    task = await tasks.get(user, task_id, for_update=True)
    if task.task_type != TaskType.TRIGGERED:
        raise Conflict(f"Task {task_id} is a {task.task_type} task: only triggered tasks take events.")
    trigger = await session.get(Trigger, task.trigger_id) if task.trigger_id else None
    if trigger is None or not trigger.enabled:
        raise Conflict(f'Task {task_id} is disabled: enable it first (PATCH /tasks/{task_id} {{"enabled": true}}).')
    payload = read_payload(body)
    event_id = event_id or f"evt_{uuid.uuid4().hex}"
    earlier = await record_event(session, trigger.id, event_id, len(body), None)
    if earlier is not None:  # this event id was received before (a retried delivery): its first run
        return EventAccepted(task_id=task.id, run_id=earlier.run_id, event_id=event_id, duplicate=True)
    run, _ = await tasks.runs.create(
        user,
        RunCreate(
            agent=trigger.agent,
            message=event_message(trigger.name, trigger.instructions, payload),
            thread_id=trigger.thread_id,
            metadata={views.TASK_KEY: str(task.id), "trigger_event_id": event_id},
        ),
        request_id=request_id,
        origin=RunOrigin(trigger_id=trigger.id, notify=trigger.notify or []),
    )
    await session.execute(
        update(TriggerEvent)
        .where(TriggerEvent.trigger_id == trigger.id, TriggerEvent.event_id == event_id)
        .values(run_id=run.id)
    )
    task.last_run_id = run.id
    await session.flush()
    return EventAccepted(task_id=task.id, run_id=run.id, event_id=event_id, duplicate=False)
