"""Tokens per minute inside a run: checked before each model request, charged with the real counts after each
response (a Pydantic AI capability the run engine adds to every run).

Tokens are known only once the model has answered, so a response is charged after the fact (input + output): a
large one puts the user's bucket into debt, and the next model request of any of their runs waits it out. Before a
request the bucket is only looked at (is one token free?). Over the limit, a run either waits, for at most
SWITCHBOARD_TPM_MAX_WAIT_SECONDS in all (a cancel interrupts the wait: the engine cancels the run's task while it
is in a model request), or fails at once with `rate_limited` (SWITCHBOARD_TPM_EXCEEDED=fail), keeping what it
wrote so far.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta

import structlog
from pydantic_ai.capabilities import AbstractCapability
from pydantic_ai.messages import ModelResponse
from pydantic_ai.models import ModelRequestContext
from pydantic_ai.tools import RunContext
from sqlalchemy.ext.asyncio import AsyncEngine

from switchboard.agents.spec import AgentDeps
from switchboard.engine.load import LoadedRun
from switchboard.engine.outcome import RunStopped
from switchboard.kit.clock import utc_now
from switchboard.limits.guard import tpm_key
from switchboard.limits.limiter import LimiterUnavailable, Rate, RateLimiter, limiter_for
from switchboard.limits.tiers import tier_of
from switchboard.observability.metrics import RATE_LIMITED
from switchboard.settings import Settings

log = structlog.get_logger(__name__)


@dataclass
class TokenGate(AbstractCapability[AgentDeps]):
    limiter: RateLimiter
    key: str
    rate: Rate
    tier: str
    wait: bool  # SWITCHBOARD_TPM_EXCEEDED=wait
    max_wait_seconds: float
    waited: float = 0.0  # in this execution of the run, in all

    async def before_model_request(
        self, ctx: RunContext[AgentDeps], request_context: ModelRequestContext
    ) -> ModelRequestContext:
        while True:
            try:
                decision = await self.limiter.peek(self.key, self.rate)
            except LimiterUnavailable:  # a store's outage does not fail runs: this request goes unchecked
                log.warning("run.tpm_unchecked", run_id=str(ctx.deps.run_id), reason="the limiter is unavailable")
                return request_context
            if decision.allowed:
                return request_context
            RATE_LIMITED.labels("tpm").inc()
            delay = decision.retry_after
            if not self.wait or self.waited + delay > self.max_wait_seconds:
                raise RunStopped("rate_limited", self._message(delay), utc_now() + timedelta(seconds=delay))
            log.info("run.tpm_wait", run_id=str(ctx.deps.run_id), wait_seconds=round(delay, 3))
            await asyncio.sleep(delay)
            self.waited += delay

    async def after_model_request(
        self, ctx: RunContext[AgentDeps], *, request_context: ModelRequestContext, response: ModelResponse
    ) -> ModelResponse:
        tokens = response.usage.input_tokens + response.usage.output_tokens
        if tokens > 0:
            try:
                await self.limiter.charge(self.key, self.rate, tokens)
            except LimiterUnavailable:
                log.warning("run.tpm_uncharged", run_id=str(ctx.deps.run_id), tokens=tokens)
        return response

    def _message(self, delay: float) -> str:
        waited = f" after waiting {self.waited:.0f} s" if self.waited else ""
        return (
            f"Rate limit reached: {self.rate.limit} model tokens per minute (tier {self.tier}){waited}; tokens are "
            f"back in {delay:.1f} s. What the run wrote so far is kept."
        )


def token_gate(engine: AsyncEngine, settings: Settings, loaded: LoadedRun) -> AbstractCapability[AgentDeps] | None:
    """The run's TPM gate, or None when its user's tier has no TPM limit."""
    tier = tier_of(settings.tiers, loaded.principal)
    if tier.tpm is None:
        return None
    return TokenGate(
        limiter=limiter_for(engine, settings),
        key=tpm_key(loaded.principal.user_id),
        rate=Rate(tier.tpm),
        tier=tier.name,
        wait=settings.tpm_exceeded == "wait",
        max_wait_seconds=settings.tpm_max_wait_seconds,
    )
