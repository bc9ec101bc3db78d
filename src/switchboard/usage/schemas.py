"""The shapes of GET /v1/usage and GET /v1/admin/usage."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field


class GroupBy(StrEnum):
    DAY = "day"
    AGENT = "agent"
    MODEL = "model"


class AdminGroupBy(StrEnum):
    DAY = "day"
    AGENT = "agent"
    MODEL = "model"
    USER = "user"


class UsageTotals(BaseModel):
    requests: int = Field(description="Model responses.")
    input_tokens: int = Field(description="Input tokens, cache reads and writes included.")
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    cost_usd: float | None = Field(
        description="Their cost in USD; null when none had a known price. With `unpriced_requests` > 0, the cost "
        "of the others only."
    )
    unpriced_requests: int = Field(
        description="Responses without a known price (the `offline` model, a model neither genai-prices nor "
        "SWITCHBOARD_MODEL_PRICES prices): counted in tokens, not dollars."
    )
    runs: int = Field(description="Runs that made them (child runs counted on their own).")


class UsageGroup(UsageTotals):
    key: str = Field(
        description="The group: a UTC date (YYYY-MM-DD), an agent's name, a model, or a user's id.",
        examples=["2026-11-28", "support", "openai:gpt-4o", "3"],
    )
    email: str | None = Field(default=None, description="`group_by=user`: the user's email.")


class UsageReport(BaseModel):
    group_by: str
    since: datetime = Field(description="From this instant (inclusive), by when each model request started.")
    until: datetime = Field(description="To this instant (exclusive).")
    user_id: int | None = Field(default=None, description="Whose usage; null: every user's (admins).")
    groups: list[UsageGroup]
    total: UsageTotals = Field(
        description="All of it: equal to the sum of `usage` and `cost_usd` over the runs without a `parent_id` "
        "whose model requests all fall in the period."
    )
