"""What a model response cost. Pydantic AI prices every response itself with genai-prices' bundled snapshot (its
`usage.cost`; None for a model or provider it does not know, such as `offline`); an operator's own price for a
model (SWITCHBOARD_MODEL_PRICES) takes precedence. Never fetched from the network: prices move with the
genai-prices version installed."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from genai_prices.types import ModelPrice as GenaiModelPrice
from pydantic_ai.messages import ModelResponse
from pydantic_ai.usage import RequestUsage

from switchboard.observability.metrics import MODEL_COST, MODEL_REQUESTS, MODEL_TOKENS
from switchboard.usage.settings import ModelPrice


def price_for(prices: Mapping[str, ModelPrice], *names: str | None) -> ModelPrice | None:
    """The operator's price for the first of `names` that has one: the agent's model string
    (`openai-chat:my-model`), the same without its provider (`my-model`), or the name the provider answered with."""
    if not prices:
        return None
    for name in names:
        if not name:
            continue
        for candidate in (name, name.split(":", 1)[-1]):
            if candidate in prices:
                return prices[candidate]
    return None


def priced(usage: RequestUsage, price: ModelPrice) -> Decimal:
    """`usage` at `price`, as genai-prices computes a price (cache tokens are part of the input tokens)."""
    model_price = GenaiModelPrice(
        input_mtok=price.input_per_mtok,
        output_mtok=price.output_per_mtok,
        cache_read_mtok=price.cache_read_per_mtok,
        cache_write_mtok=price.cache_write_per_mtok,
    )
    total = model_price.calc_price(usage)["total_price"]
    return Decimal(total)


def response_cost(response: ModelResponse, model_name: str | None, prices: Mapping[str, ModelPrice]) -> Decimal | None:
    """The response's cost in USD: the operator's price when one is set for its model, else Pydantic AI's
    (genai-prices); None when unknown, never 0 for unknown."""
    price = price_for(prices, model_name, response.model_name)
    if price is not None and not response.usage.unmeasured_requests:
        return priced(response.usage, price)
    return response.usage.cost


def count_response(agent: str, model: str, usage: RequestUsage, cost: Decimal | None) -> None:
    """The Prometheus counters of one model response."""
    MODEL_REQUESTS.labels(agent, model).inc()
    tokens = MODEL_TOKENS
    tokens.labels(agent, model, "input").inc(usage.input_tokens)
    tokens.labels(agent, model, "output").inc(usage.output_tokens)
    if usage.cache_read_tokens:
        tokens.labels(agent, model, "cache_read").inc(usage.cache_read_tokens)
    if usage.cache_write_tokens:
        tokens.labels(agent, model, "cache_write").inc(usage.cache_write_tokens)
    if cost is not None:
        MODEL_COST.labels(agent, model).inc(float(cost))
