"""Tiers: the numbers a user's limits come from. A user has a tier (`users.tier`, set by an admin) and may have
per-user overrides of any of its numbers (`users.limits`); `None` for a number means no limit."""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from switchboard.auth.principal import Principal


class TierNumbers(BaseModel):
    """One tier's numbers, as SWITCHBOARD_TIERS gives them (and as a user's overrides give some of them)."""

    model_config = ConfigDict(extra="forbid")

    rpm: int | None = Field(default=None, ge=1, description="Run-creating requests per minute; null: no limit.")
    tpm: int | None = Field(default=None, ge=1, description="Model tokens per minute; null: no limit.")
    daily_cost_usd: Decimal | None = Field(
        default=None, ge=0, description="Cost of model requests per UTC day, in USD; null: no cap."
    )
    max_concurrent_runs: int | None = Field(
        default=None, ge=1, description="Runs queued or running at once; null: no limit."
    )


# Marks a field that takes a tier's name: the OpenAPI lists the server's tiers there (`kit.openapi`).
TIER_NAME_MARK = "x-switchboard-tier-name"

DEFAULT_TIERS: dict[str, dict[str, Any]] = {
    "free": {"rpm": 60, "tpm": 100_000, "daily_cost_usd": "1", "max_concurrent_runs": 4},
    "basic": {"rpm": 300, "tpm": 1_000_000, "daily_cost_usd": "20", "max_concurrent_runs": 16},
    "pro": {"rpm": 1200, "tpm": 4_000_000, "daily_cost_usd": "200", "max_concurrent_runs": 64},
}


@dataclass(frozen=True)
class Tier:
    """A user's effective numbers: their tier's, with their overrides applied."""

    name: str
    rpm: int | None
    tpm: int | None
    daily_cost_usd: Decimal | None
    max_concurrent_runs: int | None


def tier_of(tiers: dict[str, TierNumbers], principal: Principal) -> Tier:
    """The principal's effective tier. A tier name no longer configured gives no limits beyond the overrides
    (an operator who removes a tier should not lock its users out), and is logged by `limits` at start-up."""
    numbers = tiers.get(principal.tier, TierNumbers())
    tier = Tier(
        name=principal.tier,
        rpm=numbers.rpm,
        tpm=numbers.tpm,
        daily_cost_usd=numbers.daily_cost_usd,
        max_concurrent_runs=numbers.max_concurrent_runs,
    )
    if not principal.limits:
        return tier
    overrides = TierNumbers.model_validate(principal.limits)
    return replace(tier, **{name: getattr(overrides, name) for name in overrides.model_fields_set})
