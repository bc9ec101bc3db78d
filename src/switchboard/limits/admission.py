"""Admission of a new run against its user's tier: at most `max_concurrent_runs` runs queued or running at once.
Called by `RunService.create` in the creating transaction, for every run a user's request, schedule or trigger
creates.

Exact under concurrency: the user's advisory lock (held until the creating transaction ends) serialises their
creates, so of N simultaneous requests for the last free slot exactly one sees it free, in any number of
processes. Counted: the user's top-level runs that are queued, running, or waiting for their child runs (a
pipeline at work); child runs belong to their parent's count, and a run paused for a person's approval holds
nothing. A user whose tier has no such limit costs no query.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from switchboard.auth.principal import Principal
from switchboard.kit.errors import RateLimited
from switchboard.limits.tiers import tier_of
from switchboard.models.base import sql_list
from switchboard.models.runs import RunStatus
from switchboard.observability.metrics import RATE_LIMITED
from switchboard.settings import Settings

BUSY = (RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.WAITING)
_LOCK = text("SELECT pg_advisory_xact_lock(hashtext(:key))")
_BUSY_SQL = sql_list(BUSY)  # constants
_COUNT = text(f"SELECT count(*) FROM runs WHERE user_id = :user_id AND parent_id IS NULL AND status IN {_BUSY_SQL}")  # noqa: S608
# A run's end is not something we can time: a client told to come back in a second or two polls politely.
RETRY_AFTER_SECONDS = 2


async def busy_runs(connection: AsyncConnection, user_id: int) -> int:
    """The user's runs that count against `max_concurrent_runs` now."""
    return int(await connection.scalar(_COUNT, {"user_id": user_id}) or 0)


async def admit_run(connection: AsyncConnection, settings: Settings, user: Principal) -> None:
    """Raise `RateLimited` (429) when the user already has their tier's maximum of runs queued or running."""
    limit = tier_of(settings.tiers, user).max_concurrent_runs
    if limit is None:
        return
    await connection.execute(_LOCK, {"key": f"switchboard.runs_of:{user.user_id}"})
    busy = await busy_runs(connection, user.user_id)
    if busy < limit:
        return
    RATE_LIMITED.labels("concurrent_runs").inc()
    raise RateLimited(
        f"Rate limit reached: {limit} runs at once (tier {user.tier}), and {busy} of yours are queued or running. "
        "Retry when one has finished, or cancel one (POST /v1/runs/{id}/cancel).",
        details={"limit": "max_concurrent_runs", "max_concurrent_runs": limit, "busy": busy},
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )
