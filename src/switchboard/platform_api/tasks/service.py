"""Tasks as thin adapters over the core's services: a delegation or research task is runs (`RunService`), a
scheduled task a schedule (`ScheduleService`), a triggered task a trigger (`TriggerService`). Everything is
checked before anything is written and happens in the caller's unit of work, so a refused request stores
nothing. Errors the core names by its own fields (`cron`, `instructions`…) are renamed to the 002 fields."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.agents.registry import AgentRegistry
from switchboard.auth.principal import Principal
from switchboard.kit.clock import utc_now
from switchboard.kit.errors import Conflict, NotFound, ValidationFailed
from switchboard.kit.pagination import keyset_page
from switchboard.models import Run, Schedule, Trigger
from switchboard.platform_api.models import RUN_TASKS, PlatformTask, TaskType
from switchboard.platform_api.patterns import agent_for
from switchboard.platform_api.tasks import views
from switchboard.platform_api.tasks.notification_config import notify_targets
from switchboard.platform_api.tasks.schemas import TaskCreate, TaskPatch, TaskStatus
from switchboard.runs.schemas import RunCreate
from switchboard.runs.service import RunOrigin, RunService
from switchboard.schedules.schemas import ScheduleCreate, SchedulePatch
from switchboard.schedules.service import ScheduleService
from switchboard.settings import Settings
from switchboard.triggers.schemas import TriggerCreate, TriggerUpdate
from switchboard.triggers.service import TriggerService

# The core's field names → this API's.
RENAMED = {"cron": "schedule_expression", "message": "prompt", "instructions": "prompt"}


@contextmanager
def fields_renamed() -> Iterator[None]:
    try:
        yield
    except ValidationFailed as failed:
        message = failed.message
        details = failed.details
        for core, ours in RENAMED.items():
            if message.startswith(f"{core}:"):
                message = f"{ours}:{message.removeprefix(f'{core}:')}"
        if isinstance(details, list):
            details = [
                {**d, "field": RENAMED.get(d.get("field", ""), d.get("field"))} if isinstance(d, dict) else d
                for d in details
            ]
        raise ValidationFailed(message, details=details) from None


def _invalid(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(f"{field}: {message}", details=[{"field": field, "message": message}])


class TaskService:
    def __init__(self, session: AsyncSession, agents: AgentRegistry, settings: Settings) -> None:
        self.session = session
        self.agents = agents
        self.settings = settings
        self.runs = RunService(session, agents, settings)
        self.schedules = ScheduleService(session, agents, settings)
        self.triggers = TriggerService(session, agents, settings)

    # --- create ---

    async def create(
        self, user: Principal, body: TaskCreate, request_id: str | None
    ) -> tuple[PlatformTask, str | None]:
        """The new task, and a triggered task's signing secret (shown once)."""
        given = body.model_fields_set
        kind = body.task_type
        if kind == TaskType.SCHEDULED and body.schedule_expression is None:
            raise _invalid("schedule_expression", "is required for a scheduled task")
        if kind != TaskType.SCHEDULED:
            for field in ("schedule_expression", "timezone"):
                if field in given:
                    raise _invalid(field, f"only scheduled tasks have one, not {kind} tasks")
        if kind != TaskType.TRIGGERED and "trigger_config" in given:
            raise _invalid("trigger_config", f"only triggered tasks have one, not {kind} tasks")
        agent = agent_for(self.agents, kind, body.agent, field="task_type")
        targets = await notify_targets(self.settings, body.notification_config)
        task = PlatformTask(
            id=uuid.uuid4(),
            user_id=user.user_id,
            task_type=kind,
            agent=agent,
            prompt=body.prompt,
            notify=targets or None,
            trigger_config=body.trigger_config.model_dump(mode="json") if body.trigger_config else {},
            enabled=True,
        )
        secret: str | None = None
        with fields_renamed():
            if kind in RUN_TASKS:
                task.last_run_id = (await self._run(user, task, request_id)).id
            elif kind == TaskType.SCHEDULED:
                assert body.schedule_expression is not None
                schedule = await self.schedules.create(
                    user,
                    ScheduleCreate(
                        agent=agent,
                        message=body.prompt,
                        cron=body.schedule_expression,
                        timezone=body.timezone,
                        metadata={views.TASK_KEY: str(task.id)},
                    ),
                )
                schedule.notify = task.notify  # checked above, under this API's field names
                task.schedule_id = schedule.id
            else:
                config = body.trigger_config
                shown, secret = await self.triggers.create(
                    user,
                    TriggerCreate(
                        agent=agent,
                        name=(config.name if config and config.name else body.prompt[:200]),
                        instructions=body.prompt,
                        signature=config.signature if config else "standard",
                    ),
                )
                shown.trigger.notify = task.notify
                task.trigger_id = shown.trigger.id
        self.session.add(task)
        await self.session.flush()
        await self.session.refresh(task)
        return task, secret

    async def _run(self, user: Principal, task: PlatformTask, request_id: str | None) -> Run:
        """A run of the task now, queued for any worker (never executed inside the request)."""
        body = RunCreate(agent=task.agent, message=task.prompt, metadata={views.TASK_KEY: str(task.id)})
        run, _ = await self.runs.create(user, body, request_id=request_id, origin=RunOrigin(notify=task.notify or []))
        return run

    # --- read ---

    async def get(self, user: Principal, task_id: uuid.UUID, *, for_update: bool = False) -> PlatformTask:
        """The caller's task; another user's is not found."""
        query = select(PlatformTask).where(PlatformTask.id == task_id, PlatformTask.user_id == user.user_id)
        if for_update:
            query = query.with_for_update(of=PlatformTask).execution_options(populate_existing=True)
        task = await self.session.scalar(query)
        if task is None:
            raise NotFound(f"Task {task_id} not found.")
        return task

    async def page(
        self,
        user: Principal,
        task_type: TaskType | None,
        status: TaskStatus | None,
        limit: int,
        cursor: str | None,
    ) -> tuple[list[PlatformTask], str | None]:
        """The caller's tasks, newest first, of a type and in a status when asked."""
        query = views.joined(user.user_id)
        if task_type is not None:
            query = query.where(PlatformTask.task_type == task_type.value)
        if status is not None:
            query = query.where(views.status_sql() == status.value)
        columns = [PlatformTask.created_at, PlatformTask.id]
        return await keyset_page(self.session, query, columns, limit=limit, cursor=cursor, descending=True)

    # --- change ---

    async def update(self, user: Principal, task_id: uuid.UUID, patch: TaskPatch) -> PlatformTask:
        task = await self.get(user, task_id, for_update=True)
        given = patch.model_fields_set
        if task.task_type != TaskType.SCHEDULED:
            for field in ("schedule_expression", "timezone"):
                if field in given:
                    raise _invalid(field, f"only scheduled tasks have one, not {task.task_type} tasks")
        if patch.agent is not None:
            self.agents.require_runnable(patch.agent)
        if patch.prompt is not None:
            self.agents.check_input(patch.agent or task.agent, patch.prompt, "prompt")
        if "notification_config" in given:
            task.notify = await notify_targets(self.settings, patch.notification_config) or None
        changes: dict[str, Any] = {}
        if patch.prompt is not None:
            changes["prompt"] = patch.prompt
        if patch.agent is not None:
            changes["agent"] = patch.agent
        if patch.enabled is not None:
            changes["enabled"] = patch.enabled
        with fields_renamed():
            if task.task_type == TaskType.SCHEDULED:
                await self._update_schedule(user, task, patch, changes)
            elif task.task_type == TaskType.TRIGGERED:
                await self._update_trigger(user, task, changes)
        for name, value in changes.items():
            setattr(task, name, value)
        task.updated_at = utc_now()
        await self.session.flush()
        return task

    async def _update_schedule(
        self, user: Principal, task: PlatformTask, patch: TaskPatch, changes: dict[str, Any]
    ) -> None:
        schedule_id = self._schedule_id(task)
        values: dict[str, Any] = {"message" if k == "prompt" else k: v for k, v in changes.items()}
        if patch.schedule_expression is not None:
            values["cron"] = patch.schedule_expression
        if patch.timezone is not None:
            values["timezone"] = patch.timezone
        schedule = await self.schedules.update(user, schedule_id, SchedulePatch.model_validate(values))
        schedule.notify = task.notify

    async def _update_trigger(self, user: Principal, task: PlatformTask, changes: dict[str, Any]) -> None:
        trigger_id = self._trigger_id(task)
        values = {"instructions" if k == "prompt" else k: v for k, v in changes.items()}
        shown = await self.triggers.update(user, trigger_id, TriggerUpdate.model_validate(values))
        shown.trigger.notify = task.notify

    def _schedule_id(self, task: PlatformTask) -> uuid.UUID:
        if task.schedule_id is None:
            raise Conflict(f"Task {task.id}'s schedule was deleted (through /v1/schedules); create a new task.")
        return task.schedule_id

    def _trigger_id(self, task: PlatformTask) -> uuid.UUID:
        if task.trigger_id is None:
            raise Conflict(f"Task {task.id}'s trigger was deleted (through /v1/triggers); create a new task.")
        return task.trigger_id

    async def disable(self, user: Principal, task_id: uuid.UUID) -> PlatformTask:
        """No more runs until enabled again (PATCH enabled true). Runs already started go on."""
        return await self.update(user, task_id, TaskPatch(enabled=False))

    async def delete(self, user: Principal, task_id: uuid.UUID) -> None:
        """The task and its schedule or trigger go; its runs stay, as the record of what was done (still in
        /v1/runs, their metadata naming the task). Runs not finished are not cancelled: that is
        POST /v1/runs/{id}/cancel."""
        task = await self.get(user, task_id, for_update=True)
        if task.schedule_id is not None:
            await self.schedules.delete(user, task.schedule_id)
        if task.trigger_id is not None:
            await self.triggers.delete(user, task.trigger_id)
        await self.session.execute(delete(PlatformTask).where(PlatformTask.id == task.id))

    # --- run now ---

    async def execute(self, user: Principal, task_id: uuid.UUID, request_id: str | None) -> Run:
        """A run of the task now, queued: a scheduled task's as the schedule's run-now, a triggered task's with
        its instructions and no event. A disabled task is refused (409)."""
        task = await self.get(user, task_id, for_update=True)
        schedule = await self.session.get(Schedule, task.schedule_id) if task.schedule_id else None
        trigger = await self.session.get(Trigger, task.trigger_id) if task.trigger_id else None
        if not views.enabled(task, schedule, trigger):
            raise Conflict(f'Task {task_id} is disabled: enable it first (PATCH /tasks/{task_id} {{"enabled": true}}).')
        if task.task_type in RUN_TASKS:
            run = await self._run(user, task, request_id)
        elif schedule is not None:
            run = await self.schedules.run_now(user, schedule.id, request_id)
        else:
            assert trigger is not None
            body = RunCreate(
                agent=trigger.agent,
                message=trigger.instructions,
                thread_id=trigger.thread_id,
                metadata={views.TASK_KEY: str(task.id), "executed_without_event": True},
            )
            origin = RunOrigin(trigger_id=trigger.id, notify=trigger.notify or [])
            run, _ = await self.runs.create(user, body, request_id=request_id, origin=origin)
        task.last_run_id = run.id
        await self.session.flush()
        return run
