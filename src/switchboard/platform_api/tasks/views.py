"""A task as the API shows it: what it stands for (its schedule or trigger, its latest run) read in a few
queries for a whole page, and its status derived — in Python for the rows shown and, identically, in SQL for
the `status` filter."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, false, literal, or_, select
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.models import Run, Schedule, Trigger
from switchboard.models.runs import RunStatus
from switchboard.platform_api.models import PlatformTask, TaskType
from switchboard.platform_api.tasks.notification_config import shown_config
from switchboard.platform_api.tasks.schemas import TaskOut, TaskRun, TaskStatus
from switchboard.schedules.cron import described
from switchboard.settings import Settings
from switchboard.triggers.service import HOOKS_PATH

TASK_KEY = "platform_task_id"  # in a run's metadata: the task that started it
WEBHOOKS_PATH = "/tasks/webhooks"
RUNS_SHOWN = 20

RUN_STATUSES: dict[RunStatus, TaskStatus] = {
    RunStatus.QUEUED: TaskStatus.PENDING,
    RunStatus.RUNNING: TaskStatus.RUNNING,
    RunStatus.WAITING: TaskStatus.RUNNING,
    RunStatus.REQUIRES_ACTION: TaskStatus.AWAITING_APPROVAL,
    RunStatus.SUCCEEDED: TaskStatus.COMPLETED,
    RunStatus.FAILED: TaskStatus.FAILED,
    RunStatus.TIMED_OUT: TaskStatus.FAILED,
    RunStatus.CANCELLED: TaskStatus.CANCELLED,
}


def enabled(task: PlatformTask, schedule: Schedule | None, trigger: Trigger | None) -> bool:
    if task.task_type == TaskType.SCHEDULED:
        return schedule is not None and schedule.enabled
    if task.task_type == TaskType.TRIGGERED:
        return trigger is not None and trigger.enabled
    return task.enabled


def status(task: PlatformTask, schedule: Schedule | None, trigger: Trigger | None, last: Run | None) -> TaskStatus:
    """Keep in step with `status_sql`."""
    if task.task_type in (TaskType.SCHEDULED, TaskType.TRIGGERED):
        return TaskStatus.ACTIVE if enabled(task, schedule, trigger) else TaskStatus.DISABLED
    if not task.enabled:
        return TaskStatus.DISABLED
    return TaskStatus.IDLE if last is None else RUN_STATUSES[last.status]


def status_sql() -> ColumnElement[str]:
    """The status of a row of `joined()`, as `status` computes it."""
    from_run = case(
        *[(Run.status == run_status.value, literal(shown.value)) for run_status, shown in RUN_STATUSES.items()],
        else_=literal(TaskStatus.IDLE.value),
    )
    active, disabled = literal(TaskStatus.ACTIVE.value), literal(TaskStatus.DISABLED.value)
    return case(
        (
            PlatformTask.task_type == TaskType.SCHEDULED.value,
            case((and_(Schedule.id.is_not(None), Schedule.enabled), active), else_=disabled),
        ),
        (
            PlatformTask.task_type == TaskType.TRIGGERED.value,
            case((and_(Trigger.id.is_not(None), Trigger.enabled), active), else_=disabled),
        ),
        (PlatformTask.enabled.is_(false()), disabled),
        else_=from_run,
    )


def joined(user_id: int) -> Select[PlatformTask]:
    """The user's tasks with their schedule, trigger and latest run (a delegation or research task's) joined,
    for filtering on `status_sql()`."""
    return (
        select(PlatformTask)
        .outerjoin(Schedule, Schedule.id == PlatformTask.schedule_id)
        .outerjoin(Trigger, Trigger.id == PlatformTask.trigger_id)
        .outerjoin(Run, Run.id == PlatformTask.last_run_id)
        .where(PlatformTask.user_id == user_id)
    )


def runs_of(task: PlatformTask) -> Select[Run]:
    """The task's runs: those it started (marked in their metadata, which stays when the task goes) and those
    of its schedule or trigger (events sent to the signed ingest URL included)."""
    mine: list[ColumnElement[bool]] = [Run.metadata_[TASK_KEY].astext == str(task.id)]
    if task.schedule_id is not None:
        mine.append(Run.schedule_id == task.schedule_id)
    if task.trigger_id is not None:
        mine.append(Run.trigger_id == task.trigger_id)
    return select(Run).where(Run.user_id == task.user_id, or_(*mine))


def task_run(run: Run) -> TaskRun:
    return TaskRun(
        id=run.id,
        status=run.status,
        output=run.output,
        error=run.error,
        model=run.model_name,
        created_at=run.created_at,
        started_at=run.started_at,
        finished_at=run.finished_at,
    )


async def recent_runs(session: AsyncSession, task: PlatformTask) -> list[TaskRun]:
    query = runs_of(task).order_by(Run.created_at.desc(), Run.id.desc()).limit(RUNS_SHOWN)
    return [task_run(run) for run in await session.scalars(query)]


async def outs(session: AsyncSession, settings: Settings, tasks: Sequence[PlatformTask]) -> list[TaskOut]:
    """The tasks as shown, in four queries whatever their number."""
    schedule_ids = [t.schedule_id for t in tasks if t.schedule_id is not None]
    trigger_ids = [t.trigger_id for t in tasks if t.trigger_id is not None]
    schedules = {s.id: s for s in await session.scalars(select(Schedule).where(Schedule.id.in_(schedule_ids)))}
    triggers = {t.id: t for t in await session.scalars(select(Trigger).where(Trigger.id.in_(trigger_ids)))}
    # A trigger's newest run, whichever way its event came in (this API, or the signed ingest URL).
    newest = await session.execute(
        select(Run.trigger_id, Run.id)
        .where(Run.trigger_id.in_(trigger_ids))
        .ext(distinct_on(Run.trigger_id))
        .order_by(Run.trigger_id, Run.created_at.desc(), Run.id.desc())
    )
    newest_by_trigger = {trigger_id: run_id for trigger_id, run_id in newest}
    latest_ids: dict[uuid.UUID, uuid.UUID | None] = {}
    for task in tasks:
        latest = task.last_run_id
        schedule = schedules.get(task.schedule_id) if task.schedule_id else None
        if schedule is not None and schedule.last_run_id is not None:
            latest = schedule.last_run_id
        if task.trigger_id is not None and task.trigger_id in newest_by_trigger:
            latest = newest_by_trigger[task.trigger_id]
        latest_ids[task.id] = latest
    wanted = [run_id for run_id in latest_ids.values() if run_id is not None]
    runs = {r.id: r for r in await session.scalars(select(Run).where(Run.id.in_(wanted)))}
    base = settings.public_base_url()
    shown: list[TaskOut] = []
    for task in tasks:
        schedule = schedules.get(task.schedule_id) if task.schedule_id else None
        trigger = triggers.get(task.trigger_id) if task.trigger_id else None
        latest_id = latest_ids[task.id]
        latest_run = runs.get(latest_id) if latest_id is not None else None
        last_own = runs.get(task.last_run_id) if task.last_run_id is not None else None
        shown.append(_out(task, schedule, trigger, latest_run, last_own, base))
    return shown


def _out(
    task: PlatformTask,
    schedule: Schedule | None,
    trigger: Trigger | None,
    latest: Run | None,
    last_own: Run | None,
    base: str,
) -> TaskOut:
    fields: dict[str, Any] = {}
    if task.task_type == TaskType.SCHEDULED and schedule is not None:
        fields = dict(
            schedule_expression=schedule.cron,
            timezone=schedule.timezone,
            schedule_description=described(schedule.cron, schedule.timezone),
            next_run_at=schedule.next_fire_at,
        )
    if task.task_type == TaskType.TRIGGERED:
        fields = dict(
            trigger_config=task.trigger_config,
            webhook_url=f"{base}{WEBHOOKS_PATH}/{task.id}",
            ingest_url=f"{base}{HOOKS_PATH}/{trigger.id}" if trigger is not None else None,
        )
    return TaskOut(
        id=task.id,
        task_type=task.task_type,
        # A delegation or research task's status is its own latest run's (the one `status_sql` joins).
        status=status(task, schedule, trigger, last_own),
        agent=task.agent,
        prompt=task.prompt,
        enabled=enabled(task, schedule, trigger),
        notification_config=shown_config(task.notify),
        schedule_id=task.schedule_id,
        trigger_id=task.trigger_id,
        latest_run=task_run(latest) if latest is not None else None,
        created_at=task.created_at,
        updated_at=task.updated_at,
        **fields,
    )
