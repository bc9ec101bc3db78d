"""Cost inside a run, as a Pydantic AI capability the run engine adds to every run (`engine.gates`):

- after each model response (streamed or whole): its cost — the operator's price for the model if set, otherwise
  Pydantic AI's own from genai-prices — on the response (so its step row gets it, `engine.progress`) and in the
  run's total; a response without a known price is counted in `unpriced_requests`; the Prometheus counters.
- before each model request: the run is stopped (`RunStopped`: `failed`, `budget_exceeded`, what it wrote kept)
  when the request would pass a budget: the user's, the agent's or the API key's daily cap (`usage.budgets`), or
  the run's own `limits.max_cost_usd`. "Would pass": today's spend so far plus the run's last response's cost
  (the next is rarely cheaper, its context being longer) exceeds the cap. The run's own cap is also Pydantic
  AI's `UsageLimits(cost_limit=…)` (`run_cost_limit`), which stops it as soon as a response passes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pydantic_ai.capabilities import AbstractCapability
from pydantic_ai.messages import ModelResponse
from pydantic_ai.models import ModelRequestContext
from pydantic_ai.tools import RunContext
from sqlalchemy.ext.asyncio import AsyncEngine

from switchboard.agents.spec import AgentDeps
from switchboard.engine.load import LoadedRun
from switchboard.engine.outcome import RunStopped
from switchboard.kit.clock import utc_now
from switchboard.limits.tiers import tier_of
from switchboard.observability.metrics import BUDGET_REJECTIONS
from switchboard.settings import Settings
from switchboard.usage.budgets import UNPRICED_NOTE, next_reset, refusal, spending
from switchboard.usage.pricing import count_response, response_cost


def run_cost_limit(loaded: LoadedRun) -> Decimal | None:
    """The run's `limits.max_cost_usd` less what it had cost before this execution (a resumed run's Pydantic AI
    usage starts without it), for `UsageLimits(cost_limit=…)`."""
    limit = (loaded.run.limits or {}).get("max_cost_usd")
    if limit is None:
        return None
    return Decimal(str(limit)) - (loaded.run.cost_usd or Decimal(0))


@dataclass
class CostGate(AbstractCapability[AgentDeps]):
    engine: AsyncEngine
    settings: Settings
    loaded: LoadedRun
    user_cap: Decimal | None
    agent_cap: Decimal | None
    key_cap: Decimal | None  # the run's API key's (`runs.api_key_id`), read with the run
    last_cost: Decimal = Decimal(0)  # the run's last priced response: what the next one is expected to cost

    @classmethod
    def get_serialization_name(cls) -> str | None:
        return None

    @property
    def _daily_caps_may_apply(self) -> bool:
        key = self.loaded.run.api_key_id is not None and self.key_cap is not None
        return self.user_cap is not None or self.agent_cap is not None or key

    async def before_model_request(
        self, ctx: RunContext[AgentDeps], request_context: ModelRequestContext
    ) -> ModelRequestContext:
        run = self.loaded.run
        if self._daily_caps_may_apply:
            now = utc_now()
            async with self.engine.connect() as connection:
                await connection.execution_options(isolation_level="AUTOCOMMIT")
                caps = await spending(
                    connection,
                    now=now,
                    user_id=run.user_id,
                    agent=run.agent,
                    api_key_id=run.api_key_id,
                    user_cap=self.user_cap,
                    agent_cap=self.agent_cap,
                    key_cap=self.key_cap,
                )
            for cap in caps:
                if self._would_pass(cap.spent_usd, cap.limit_usd):
                    BUDGET_REJECTIONS.labels(cap.budget, "mid_run").inc()
                    refused = refusal(cap, now, agent=run.agent, stopping=True)
                    raise RunStopped("budget_exceeded", refused.message, next_reset(now))
        limit = (run.limits or {}).get("max_cost_usd")
        if limit is not None:
            spent = (run.cost_usd or Decimal(0)) + (ctx.usage.cost or Decimal(0))
            if self._would_pass(spent, Decimal(str(limit))):
                BUDGET_REJECTIONS.labels("run", "mid_run").inc()
                raise RunStopped("budget_exceeded", run_budget_message(spent, limit))
        return request_context

    def _would_pass(self, spent: Decimal, limit: Decimal) -> bool:
        return spent >= limit or spent + self.last_cost > limit

    async def after_model_request(
        self, ctx: RunContext[AgentDeps], *, request_context: ModelRequestContext, response: ModelResponse
    ) -> ModelResponse:
        model = self.loaded.run.model_name
        cost = response_cost(response, model, self.settings.model_prices)
        if cost != response.usage.cost:  # the operator's price: the run's total (what cost_limit checks) follows
            assert cost is not None
            ctx.usage.cost = (ctx.usage.cost or Decimal(0)) - (response.usage.cost or Decimal(0)) + cost
            response.usage.cost = cost
        if cost is None:
            usage: Any = ctx.usage  # an extra count of the run's usage, stored and summed with the others
            usage.unpriced_requests = int(getattr(usage, "unpriced_requests", 0)) + 1
        else:
            self.last_cost = cost
        count_response(self.loaded.run.agent, model or response.model_name or "unknown", response.usage, cost)
        return response


def run_budget_message(spent: Decimal, limit: Any) -> str:
    return (
        f"Budget exceeded: the next model request would pass this run's max_cost_usd of ${limit} "
        f"(${spent:.6f} spent). {UNPRICED_NOTE}"
    )


def cost_gate(engine: AsyncEngine, settings: Settings, loaded: LoadedRun) -> AbstractCapability[AgentDeps] | None:
    """The run's cost capability: every run has one (its responses are priced and counted); the budgets it
    checks before each model request are those that apply to it (none: no query)."""
    return CostGate(
        engine=engine,
        settings=settings,
        loaded=loaded,
        user_cap=tier_of(settings.tiers, loaded.principal).daily_cost_usd,
        agent_cap=settings.agent_daily_cost_usd.get(loaded.run.agent),
        key_cap=loaded.principal.key_daily_cost_usd,
    )
