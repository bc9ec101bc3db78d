"""One scheduler tick: the due schedules claimed, each one's run created and its next tick set, in ONE transaction.

Exactly once per tick, whatever the number of schedulers: the due rows are claimed `FOR UPDATE SKIP LOCKED` (two
schedulers never hold the same schedule), the run and the advanced `next_fire_at` commit together (a crash does
both or neither), and the run row is unique on `(schedule_id, scheduled_for)`, so even a clock that goes back
cannot make a tick twice. Missed ticks collapse: the next tick is computed from after `now`, never a burst.

Each schedule fires in a SAVEPOINT: one that cannot fire (its agent removed, its owner's key revoked) is disabled
with a `disabled_reason` instead of failing the batch. (A schedule on a thread goes when the thread is deleted.)
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.agents.registry import AgentRegistry
from switchboard.auth.principal import principal_of
from switchboard.kit.db import database_unavailable
from switchboard.kit.errors import AppError, BudgetExceeded, Conflict, RateLimited
from switchboard.models import ApiKey, User
from switchboard.models.automation import Schedule
from switchboard.runs.service import RunOrigin, RunService
from switchboard.schedules import cron
from switchboard.schedules.service import run_request
from switchboard.settings import Settings

log = structlog.get_logger(__name__)

BATCH = 100
"""Schedules one transaction claims; more due than this are taken by the next (at once, or by another process)."""

TICK_UNIQUE = "uq_runs_schedule_tick"  # runs: one per (schedule_id, scheduled_for)
KEY_REVOKED = "the API key that saved this schedule was revoked; resume it (with a valid key) to start it again"


@dataclass(frozen=True)
class Fired:
    claimed: int  # due schedules this transaction held
    created: int  # runs created


async def fire_due(session: AsyncSession, agents: AgentRegistry, settings: Settings, now: datetime) -> Fired:
    """Fire the schedules due at `now` in the session's transaction (the caller commits)."""
    due = list(
        await session.scalars(
            select(Schedule)
            .where(Schedule.enabled, Schedule.next_fire_at <= now)
            .order_by(Schedule.next_fire_at)
            .limit(BATCH)
            .with_for_update(skip_locked=True)
        )
    )
    if not due:
        return Fired(0, 0)
    users = {u.id: u for u in await session.scalars(select(User).where(User.id.in_({s.user_id for s in due})))}
    key_ids = {s.api_key_id for s in due if s.api_key_id is not None}
    # The key each schedule acts under: its run has that key's rights (scopes) and counts against its budget.
    live = select(ApiKey).where(ApiKey.id.in_(key_ids), ApiKey.revoked_at.is_(None))
    live_keys = {key.id: key for key in await session.scalars(live)}
    grace = timedelta(seconds=settings.schedule_grace_seconds)
    created = 0
    for schedule in due:
        tick = schedule.next_fire_at
        assert tick is not None  # selected by next_fire_at <= now
        if schedule.api_key_id not in live_keys:
            _disable(schedule, KEY_REVOKED)
            continue
        if now - tick > grace:
            _missed(schedule, tick, now, "older than the grace period (SWITCHBOARD_SCHEDULE_GRACE_SECONDS)")
        else:
            key = live_keys[schedule.api_key_id]
            run_id = await _fire_one(session, agents, settings, schedule, users[schedule.user_id], key, tick)
            if run_id is not None:
                created += 1
                schedule.last_fired_at = tick
                schedule.last_run_id = run_id
                log.info(
                    "schedule.fired", schedule_id=str(schedule.id), run_id=str(run_id), scheduled_for=tick.isoformat()
                )
        if schedule.enabled:
            _advance(schedule, max(now, tick))
    await session.flush()
    return Fired(len(due), created)


async def _fire_one(
    session: AsyncSession,
    agents: AgentRegistry,
    settings: Settings,
    schedule: Schedule,
    owner: User,
    key: ApiKey,
    tick: datetime,
) -> uuid.UUID | None:
    """The tick's run, created as the schedule's owner (never anyone else) under the key that saved it (its scopes,
    its budget); None if it was not (the schedule is then disabled, or the tick recorded as missed)."""
    origin = RunOrigin(schedule_id=schedule.id, scheduled_for=tick, notify=schedule.notify or [])
    try:
        async with session.begin_nested():
            run, _ = await RunService(session, agents, settings).create(
                principal_of(owner, api_key=key), run_request(schedule), origin=origin
            )
            return run.id
    except IntegrityError as exc:
        if TICK_UNIQUE not in str(exc.orig):
            _stop_after_error(schedule, exc)
            return None
        # This tick has its run already: only a clock set back (or a next_fire_at set back by hand) gets here.
        log.warning("schedule.tick_exists", schedule_id=str(schedule.id), scheduled_for=tick.isoformat())
        return None
    except BudgetExceeded as spent:
        # A cost budget of today is spent: this tick is lost, not the schedule (the next fires once it resets).
        _missed(schedule, tick, tick, spent.message)
        return None
    except RateLimited as busy:
        # The owner has their tier's most runs at once (max_concurrent_runs): this tick is lost, not the schedule.
        _missed(schedule, tick, tick, busy.message)
        return None
    except Conflict as busy:
        # The agent's concurrency limit refuses new runs while it is full: this tick is lost, not the schedule.
        _missed(schedule, tick, tick, busy.message)
        return None
    except AppError as refused:
        _disable(schedule, refused.message)  # its agent is gone, its message now too long for the server…
        return None
    except Exception as exc:
        _stop_after_error(schedule, exc)
        return None


def _stop_after_error(schedule: Schedule, exc: Exception) -> None:
    if database_unavailable(exc):
        raise exc  # the whole transaction is lost: the scheduler retries it when the database is back
    # A bug, but in this schedule only: stop it (with a traceback in the log) rather than every schedule.
    log.error("schedule.fire_failed", schedule_id=str(schedule.id), exc_info=exc)
    _disable(schedule, "an internal error stopped this schedule; resume it to try again")


def _advance(schedule: Schedule, after: datetime) -> None:
    """The next tick strictly after `after` (missed ones collapse into none); past `end_at`, the schedule ends."""
    tick = cron.next_tick(schedule.cron, schedule.timezone, after)
    if tick is None or (schedule.end_at is not None and tick > schedule.end_at):
        _disable(schedule, "ended: no tick before its end_at" if tick is not None else "ended: no tick ever again")
        return
    schedule.next_fire_at = tick


def _missed(schedule: Schedule, tick: datetime, now: datetime, reason: str) -> None:
    schedule.missed_ticks += 1
    schedule.last_missed_at = tick
    late = (now - tick).total_seconds()
    log.warning(
        "schedule.missed",
        schedule_id=str(schedule.id),
        scheduled_for=tick.isoformat(),
        late_seconds=late,
        reason=reason,
    )


def _disable(schedule: Schedule, reason: str) -> None:
    schedule.enabled = False
    schedule.next_fire_at = None
    schedule.disabled_reason = reason
    log.warning("schedule.disabled", schedule_id=str(schedule.id), user_id=schedule.user_id, reason=reason)
