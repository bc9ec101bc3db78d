"""The agent alone: the bench agent driven the way the executor drives it (node by node, streamed, with the run
ledger capability and usage limits), with no database at all, in the bench process. Its CPU time per run is the
floor under the worker's, so 1000 / that is the most one worker process could ever drain per second.
"""

from __future__ import annotations

import time
import uuid

from pydantic_ai import Agent
from pydantic_ai.usage import UsageLimits

from bench.agent import AGENT
from bench.database import Context
from switchboard.agents.spec import AgentDeps
from switchboard.engine.ledger import RunLedger


async def agent_alone(ctx: Context, n: int = 1000) -> float:
    """CPU ms per run of the bench agent driven as the executor drives it (node by node, streamed, with the run
    ledger capability and usage limits) but with no database at all, in this process: the floor under the
    worker's CPU per run, whatever the engine does. The best of 5 batches (the least disturbed)."""
    registered = ctx.registry.require(AGENT)
    deps = AgentDeps(user=ctx.principal)

    async def once() -> None:
        ledger = RunLedger(engine=ctx.engine, run_id=uuid.uuid4(), owner="bench", attempt=1)
        async with registered.spec.agent.iter(
            "ping",
            deps=deps,
            model=registered.model.model,
            model_settings=registered.model.settings,
            usage_limits=UsageLimits(request_limit=50),
            capabilities=[ledger],
        ) as run:
            async for node in run:
                if Agent.is_end_node(node):
                    break
                if Agent.is_model_request_node(node) or Agent.is_call_tools_node(node):
                    async with node.stream(run.ctx) as stream:
                        async for _ in stream:
                            pass

    for _ in range(50):
        await once()
    batches: list[float] = []
    for _ in range(5):
        began = time.process_time()
        for _ in range(n // 5):
            await once()
        batches.append((time.process_time() - began) * 1000 / (n // 5))
    return round(min(batches), 2)
