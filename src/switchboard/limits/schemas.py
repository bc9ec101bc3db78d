"""The limits' shapes in the API: a user's overrides, their effective numbers, and where they stand now."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from switchboard.limits.tiers import Tier, TierNumbers


class LimitOverrides(BaseModel):
    """A user's own numbers, replacing their tier's. In a PATCH: a number sets one, null removes it (the tier's
    number applies again), an omitted one is left as it is."""

    model_config = ConfigDict(extra="forbid")

    rpm: int | None = Field(default=None, ge=1, le=10**9, description="Run-creating requests per minute.")
    tpm: int | None = Field(default=None, ge=1, le=10**12, description="Model tokens per minute.")
    daily_cost_usd: Decimal | None = Field(
        default=None, ge=0, le=Decimal("1000000"), max_digits=14, decimal_places=6, description="Daily cost cap, USD."
    )
    max_concurrent_runs: int | None = Field(default=None, ge=1, le=10**6, description="Runs queued or running at once.")


def effective(tier: Tier) -> TierNumbers:
    return TierNumbers(
        rpm=tier.rpm, tpm=tier.tpm, daily_cost_usd=tier.daily_cost_usd, max_concurrent_runs=tier.max_concurrent_runs
    )


class RateStanding(BaseModel):
    limit: int = Field(description="Per minute.")
    remaining: int = Field(description="How many could be used at once, now.")
    reset_seconds: float = Field(description="Until the whole limit is available again.")


class ConcurrencyStanding(BaseModel):
    limit: int
    in_use: int = Field(description="Your runs queued, running or waiting for their child runs now.")


class LimitsOut(BaseModel):
    tier: str = Field(description="Your tier; your numbers are its numbers, with your own overrides applied.")
    effective: TierNumbers = Field(description="Your numbers (null: no limit).")
    overrides: LimitOverrides = Field(description="Your own overrides of your tier's numbers (null: the tier's).")
    rpm: RateStanding | None = Field(description="Run-creating requests per minute; null: no limit.")
    tpm: RateStanding | None = Field(
        description="Model tokens per minute; null: no limit. Remaining 0 with a reset beyond 60 s: token debt "
        "(a response larger than what was left), which runs wait out."
    )
    max_concurrent_runs: ConcurrencyStanding | None = Field(description="Runs at once; null: no limit.")
