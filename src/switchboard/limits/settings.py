"""The rate limits' settings (part of `switchboard.settings.Settings`)."""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings

from switchboard.limits.tiers import DEFAULT_TIERS, TierNumbers


class LimitSettings(BaseSettings):
    tiers: dict[str, TierNumbers] = Field(
        default_factory=lambda: {name: TierNumbers.model_validate(n) for name, n in DEFAULT_TIERS.items()},
        description="The tiers, as JSON: {name: {rpm, tpm, daily_cost_usd, max_concurrent_runs}}; a missing or null "
        "number is no limit.",
    )
    default_tier: str = Field(default="free", description="The tier of a user created without one.")
    redis_url: str | None = Field(
        default=None,
        description="redis://… : keep the rate limits in Redis instead of PostgreSQL (same limits, same semantics).",
    )

    @field_validator("redis_url", mode="before")
    @classmethod
    def _blank_redis_is_unset(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value
