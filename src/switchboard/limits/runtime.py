"""The rate limits of a serving process, made once at start-up (`open_limits`) and kept in the app's state."""

from __future__ import annotations

from dataclasses import dataclass

import structlog
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from switchboard.limits.address import AddressLimit
from switchboard.limits.limiter import RateLimiter, close_limiter, limiter_for
from switchboard.models import User
from switchboard.settings import Settings

log = structlog.get_logger(__name__)


@dataclass
class Limits:
    limiter: RateLimiter
    auth_failures: AddressLimit | None  # requests with a bad API key, per client address
    trigger_ingest: AddressLimit | None  # events at /v1/hooks/…, per client address


async def open_limits(engine: AsyncEngine, settings: Settings) -> Limits:
    limiter = limiter_for(engine, settings)
    auth = settings.auth_failures_per_minute
    ingest = settings.trigger_ingest_per_minute
    limits = Limits(
        limiter=limiter,
        auth_failures=None if auth is None else AddressLimit(limiter, auth, "auth_failures", "requests with a bad key"),
        trigger_ingest=None if ingest is None else AddressLimit(limiter, ingest, "trigger_ingest", "trigger events"),
    )
    await _log_unknown_tiers(engine, settings)
    return limits


async def close_limits(engine: AsyncEngine) -> None:
    await close_limiter(engine)


async def _log_unknown_tiers(engine: AsyncEngine, settings: Settings) -> None:
    """Users on a tier no longer configured have no limits but their overrides (`tiers.tier_of`): say so once."""
    if not settings.tiers:
        return  # no tiers at all: the operator turned limits off
    try:
        async with engine.connect() as connection:
            query = select(User.tier).where(User.tier.not_in(settings.tiers)).distinct()
            unknown = list(await connection.scalars(query))
    except DBAPIError:  # a database not migrated yet: a warning is not worth failing the start for
        return
    if unknown:
        log.warning(
            "limits.unknown_tiers",
            tiers=sorted(unknown),
            configured=sorted(settings.tiers),
            note="users on these tiers have no limits but their own overrides; PATCH /v1/admin/users/{id} a tier",
        )
