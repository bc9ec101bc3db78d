"""Schedules as the API sees them: create, read, list, change, pause, resume, delete, run now, and their runs.

Everything is checked before anything is written (the agent, the thread, the expression and timezone, the end,
the notify targets), in the caller's unit of work, so a refused request stores nothing. Each change that can move
the next tick recomputes it from now and NOTIFYs `SCHEDULES_CHANGED` (delivered at commit), so the schedulers of
every process wake and look again. Firing is `schedules.firing`'s.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.agents.registry import AgentRegistry
from switchboard.auth.principal import Principal
from switchboard.engine import journal
from switchboard.engine.channels import SCHEDULES_CHANGED
from switchboard.kit.clock import utc_now
from switchboard.kit.errors import Conflict, NotFound, ValidationFailed
from switchboard.kit.pagination import keyset_page
from switchboard.models import Run
from switchboard.models.automation import Schedule
from switchboard.notifications.targets import stored
from switchboard.runs.schemas import RunCreate, RunLimits
from switchboard.runs.service import RunOrigin, RunService
from switchboard.schedules import cron
from switchboard.schedules.schemas import ScheduleCreate, SchedulePatch
from switchboard.settings import Settings
from switchboard.threads.service import ThreadService


def run_request(schedule: Schedule) -> RunCreate:
    """The run a tick (or run-now) of the schedule creates, as if its owner had asked for it."""
    return RunCreate(
        agent=schedule.agent,
        message=schedule.message,
        thread_id=schedule.thread_id,
        metadata=schedule.metadata_,
        limits=RunLimits.model_validate(schedule.limits),
    )


def _invalid(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(f"{field}: {message}", details=[{"field": field, "message": message}])


class ScheduleService:
    def __init__(self, session: AsyncSession, agents: AgentRegistry, settings: Settings) -> None:
        self.session = session
        self.agents = agents
        self.settings = settings

    # --- create, change, delete ---

    async def create(self, user: Principal, body: ScheduleCreate) -> Schedule:
        schedule = Schedule(
            id=uuid.uuid4(),
            user_id=user.user_id,
            api_key_id=user.api_key_id,
            agent=body.agent,
            message=body.message,
            cron=body.cron,
            timezone=body.timezone,
            thread_id=None if body.thread == "new" else uuid.UUID(body.thread),
            enabled=body.enabled,
            end_at=body.end_at,
            metadata_=body.metadata,
            limits=body.limits.model_dump(exclude_none=True),
            notify=await stored(self.settings, body.notify) or None,
            missed_ticks=0,
        )
        await self._check(user, schedule)
        self.session.add(schedule)
        await self._changed()
        return await self._reread(schedule)

    async def update(self, user: Principal, schedule_id: uuid.UUID, patch: SchedulePatch) -> Schedule:
        schedule = await self.get(user, schedule_id, for_update=True)
        given = patch.model_fields_set
        values: dict[str, Any] = {
            field: getattr(patch, field)
            for field in ("agent", "message", "cron", "timezone", "enabled", "end_at")
            if field in given
        }
        if "thread" in given:
            values["thread_id"] = None if patch.thread == "new" else uuid.UUID(str(patch.thread))
        if "metadata" in given:
            values["metadata_"] = patch.metadata
        if patch.limits is not None:
            values["limits"] = patch.limits.model_dump(exclude_none=True)
        if "notify" in given:
            values["notify"] = await stored(self.settings, patch.notify) or None
        for name, value in values.items():
            setattr(schedule, name, value)
        if patch.enabled:
            schedule.disabled_reason = None
        schedule.api_key_id = user.api_key_id  # the key that last saved the schedule is the one it acts under
        await self._check(user, schedule)
        await self._changed()
        return await self._reread(schedule)

    async def set_enabled(self, user: Principal, schedule_id: uuid.UUID, enabled: bool) -> Schedule:
        """Pause (no tick until resumed) or resume (from now: ticks missed while paused are not made up)."""
        schedule = await self.get(user, schedule_id, for_update=True)
        schedule.enabled = enabled
        if enabled:
            schedule.disabled_reason = None
            schedule.api_key_id = user.api_key_id
            if schedule.end_at is not None and schedule.end_at <= utc_now():
                raise Conflict(
                    f"Schedule {schedule_id} ended at {schedule.end_at.isoformat()}; change its end_at first."
                )
            self.agents.require_runnable(schedule.agent)
        self._arm(schedule, utc_now())
        await self._changed()
        return await self._reread(schedule)

    async def delete(self, user: Principal, schedule_id: uuid.UUID) -> None:
        """Its runs stay (their `schedule_id` becomes null)."""
        schedule = await self.get(user, schedule_id)
        await self.session.execute(delete(Schedule).where(Schedule.id == schedule.id))
        await self._changed()

    async def _check(self, user: Principal, schedule: Schedule) -> None:
        """Everything a request can get wrong, each naming its field; then the next tick, from now."""
        now = utc_now()
        self.agents.require_runnable(schedule.agent)
        self.agents.check_input(schedule.agent, schedule.message, "message")
        cron.checked(schedule.cron, schedule.timezone, now)
        if schedule.end_at is not None and schedule.end_at <= now:
            raise _invalid("end_at", "is in the past")
        if schedule.thread_id is not None:
            await ThreadService(self.session).of_agent(user, schedule.thread_id, schedule.agent, field="thread")
        self._arm(schedule, now)
        if schedule.enabled and schedule.next_fire_at is None:
            raise _invalid("end_at", "the expression has no tick before end_at")

    def _arm(self, schedule: Schedule, now: datetime) -> None:
        """The next tick after `now` for an enabled schedule (None past its end); None for a paused one."""
        tick = cron.next_tick(schedule.cron, schedule.timezone, now) if schedule.enabled else None
        if tick is not None and schedule.end_at is not None and tick > schedule.end_at:
            tick = None
        schedule.next_fire_at = tick

    async def _changed(self) -> None:
        await self.session.flush()
        await journal.notify(await self.session.connection(), SCHEDULES_CHANGED)

    async def _reread(self, schedule: Schedule) -> Schedule:
        await self.session.refresh(schedule)  # created_at, updated_at: the database's
        return schedule

    # --- read ---

    async def get(self, user: Principal, schedule_id: uuid.UUID, *, for_update: bool = False) -> Schedule:
        """The caller's schedule; another user's is not found."""
        query = select(Schedule).where(Schedule.id == schedule_id, Schedule.user_id == user.user_id)
        if for_update:
            query = query.with_for_update().execution_options(populate_existing=True)
        schedule = await self.session.scalar(query)
        if schedule is None:
            raise NotFound(f"Schedule {schedule_id} not found.")
        return schedule

    async def page(self, user: Principal, limit: int, cursor: str | None) -> tuple[list[Schedule], str | None]:
        """The caller's schedules, newest first."""
        query = select(Schedule).where(Schedule.user_id == user.user_id)
        columns = [Schedule.created_at, Schedule.id]
        return await keyset_page(self.session, query, columns, limit=limit, cursor=cursor, descending=True)

    async def runs(
        self, user: Principal, schedule_id: uuid.UUID, limit: int, cursor: str | None
    ) -> tuple[list[Run], str | None]:
        """The runs the schedule created, newest first."""
        schedule = await self.get(user, schedule_id)
        query = select(Run).where(Run.schedule_id == schedule.id)
        return await keyset_page(
            self.session, query, [Run.created_at, Run.id], limit=limit, cursor=cursor, descending=True
        )

    async def last_run_statuses(self, user: Principal, schedules: list[Schedule]) -> dict[uuid.UUID, str]:
        """The status of each schedule's last run, by run id, in one query (for a list of schedules)."""
        run_ids = {s.last_run_id for s in schedules if s.last_run_id is not None}
        if not run_ids:
            return {}
        rows = await self.session.execute(
            select(Run.id, Run.status).where(Run.id.in_(run_ids), Run.user_id == user.user_id)
        )
        return {run_id: str(status) for run_id, status in rows}

    # --- run now ---

    async def run_now(self, user: Principal, schedule_id: uuid.UUID, request_id: str | None) -> Run:
        """One run now, paused or not, outside the ticks (its `scheduled_for` is null)."""
        schedule = await self.get(user, schedule_id, for_update=True)
        runs = RunService(self.session, self.agents, self.settings)
        origin = RunOrigin(schedule_id=schedule.id, notify=schedule.notify or [])
        run, _ = await runs.create(user, run_request(schedule), request_id=request_id, origin=origin)
        schedule.last_run_id = run.id
        await self.session.flush()
        return run
