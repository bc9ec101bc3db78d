"""`GET /v1/limits`: the caller's limits and where they stand now."""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.auth.dependencies import PrincipalDep, SessionDep
from switchboard.auth.principal import Principal
from switchboard.kit.errors import API_ERRORS
from switchboard.limits.admission import busy_runs
from switchboard.limits.guard import rpm_key, tpm_key
from switchboard.limits.limiter import Decision, Rate
from switchboard.limits.schemas import ConcurrencyStanding, LimitOverrides, LimitsOut, RateStanding, effective
from switchboard.limits.tiers import tier_of
from switchboard.state import AppState, app_state

router = APIRouter(prefix="/v1/limits", tags=["users and keys"], responses=API_ERRORS)


def _standing(decision: Decision) -> RateStanding:
    return RateStanding(limit=decision.limit, remaining=decision.remaining, reset_seconds=round(decision.reset, 3))


@router.get("", summary="Your limits (your tier's, with your overrides) and what is left of them now")
async def my_limits(caller: PrincipalDep, request: Request, session: SessionDep) -> LimitsOut:
    """Read-only: looking takes nothing from the limits. A change of your tier shows within a few seconds."""
    return await limits_standing(app_state(request), caller, session)


async def limits_standing(state: AppState, caller: Principal, session: AsyncSession) -> LimitsOut:
    """The caller's limits and where they stand now (GET /v1/limits; the console's usage page too)."""
    tier = tier_of(state.settings.tiers, caller)
    limiter = state.limits.limiter
    rpm = None if tier.rpm is None else _standing(await limiter.peek(rpm_key(caller.user_id), Rate(tier.rpm)))
    tpm = None if tier.tpm is None else _standing(await limiter.peek(tpm_key(caller.user_id), Rate(tier.tpm)))
    runs = None
    if tier.max_concurrent_runs is not None:
        in_use = await busy_runs(await session.connection(), caller.user_id)
        runs = ConcurrencyStanding(limit=tier.max_concurrent_runs, in_use=in_use)
    return LimitsOut(
        tier=tier.name,
        effective=effective(tier),
        overrides=LimitOverrides.model_validate(dict(caller.limits)),
        rpm=rpm,
        tpm=tpm,
        max_concurrent_runs=runs,
    )
