"""The rate limits' settings (part of `switchboard.settings.Settings`)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings

from switchboard.kit.setting_types import BlankIsUnset
from switchboard.limits.tiers import DEFAULT_TIERS, TierNumbers


class LimitSettings(BaseSettings):
    tiers: dict[str, TierNumbers] = Field(
        default_factory=lambda: {name: TierNumbers.model_validate(n) for name, n in DEFAULT_TIERS.items()},
        description="The tiers, as JSON: {name: {rpm, tpm, daily_cost_usd, max_concurrent_runs}}; a missing or null "
        "number is no limit.",
    )
    default_tier: str = Field(default="free", description="The tier of a user created without one.")
    redis_url: Annotated[str | None, BlankIsUnset] = Field(
        default=None,
        description="redis://… : keep the rate limits in Redis instead of PostgreSQL (same limits, same semantics).",
    )

    redis_key_prefix: str = Field(
        default="switchboard:rl:",
        description="Prefix of the rate limiter's Redis keys (several servers, or tests, may share one Redis).",
    )
    tpm_exceeded: Literal["wait", "fail"] = Field(
        default="wait",
        description="A run that reaches its user's tokens per minute before a model request: `wait` until the "
        "tokens are back (at most tpm_max_wait_seconds, then it fails), or `fail` at once (error rate_limited).",
    )
    tpm_max_wait_seconds: float = Field(
        default=60.0,
        ge=0,
        description="The longest a run waits, in all, for its user's tokens per minute before failing with "
        "rate_limited (tpm_exceeded=wait). A cancel interrupts the wait.",
    )
    auth_failures_per_minute: Annotated[int | None, BlankIsUnset] = Field(
        default=60,
        ge=1,
        description="Requests with an invalid or revoked API key per minute per client address; past it, 429 before "
        "any database lookup (keys this process authenticated moments ago still pass). Unset: no limit.",
    )
    trigger_ingest_per_minute: Annotated[int | None, BlankIsUnset] = Field(
        default=600,
        ge=1,
        description="Events per minute per client address at the inbound trigger hooks (/v1/hooks/…), counted "
        "before the trigger is read or the signature checked; past it, 429. Unset: no limit.",
    )

    @field_validator("tiers")
    @classmethod
    def _tier_names_fit(cls, tiers: dict[str, TierNumbers]) -> dict[str, TierNumbers]:
        for name in tiers:
            if not 1 <= len(name) <= 32 or name != name.strip():
                raise ValueError(f"tier names are 1 to 32 characters without surrounding spaces, not {name!r}")
        return tiers

    @model_validator(mode="after")
    def _default_tier_is_a_tier(self) -> Any:
        if self.tiers and self.default_tier not in self.tiers:
            raise ValueError(
                f"default_tier {self.default_tier!r} is not one of the tiers: {', '.join(sorted(self.tiers))}"
            )
        return self
