"""Usage, cost and budget settings (part of `switchboard.settings.Settings`)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field
from pydantic_settings import BaseSettings


class ModelPrice(BaseModel):
    """An operator's price for a model, in USD per million tokens (genai-prices' units). Input tokens include the
    cache's: cache reads and writes are charged at their own price when given, at the input price otherwise."""

    model_config = ConfigDict(extra="forbid")

    input_per_mtok: Decimal = Field(ge=0, description="USD per million input tokens.")
    output_per_mtok: Decimal = Field(ge=0, description="USD per million output tokens.")
    cache_read_per_mtok: Decimal | None = Field(default=None, ge=0, description="USD per million cached tokens read.")
    cache_write_per_mtok: Decimal | None = Field(
        default=None, ge=0, description="USD per million tokens written to the cache."
    )


class UsageSettings(BaseSettings):
    model_prices: dict[str, ModelPrice] = Field(
        default_factory=dict,
        description='Prices of your own models, as JSON: {"model": {"input_per_mtok": 0.5, "output_per_mtok": 1.5, '
        '"cache_read_per_mtok": 0.05, "cache_write_per_mtok": 0.6}} (USD per million tokens). "model" is the '
        'agent\'s model string (e.g. "openai-chat:my-model") or the name the provider answers with ("my-model"). '
        "They take precedence over genai-prices' bundled prices; a model in neither has an unknown cost (null).",
    )
    agent_daily_cost_usd: dict[str, Annotated[Decimal, Field(ge=0)]] = Field(
        default_factory=dict,
        description='Daily cost caps per agent, in USD per UTC day, as JSON: {"support": 5}. Counts every user\'s '
        "runs of the agent (its runs as another agent's tool or a pipeline's step too).",
    )
    usage_max_days: int = Field(
        default=400, ge=1, le=3660, description="The longest period GET /v1/usage and /v1/admin/usage answer for."
    )
