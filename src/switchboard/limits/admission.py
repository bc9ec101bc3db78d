"""Admission of a new run against its user's tier: at most `max_concurrent_runs` runs queued or running at once.
Called by `RunService.create` in the creating transaction, for every run a user's request, schedule or trigger
creates. (Filled in by the limits work: see issue 12.)"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from switchboard.auth.principal import Principal
from switchboard.settings import Settings


async def admit_run(connection: AsyncConnection, settings: Settings, user: Principal) -> None:
    """Raise `RateLimited` (429) when the user already has their tier's maximum of runs queued or running."""
