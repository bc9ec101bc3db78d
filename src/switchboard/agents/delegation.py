"""An agent as another agent's tool (Pydantic AI's delegation pattern), run by Switchboard as a child run.

    manager = Agent(deps_type=AgentDeps, tools=[agent_tool("researcher", description="Research a question")])

When the model calls the tool, the run engine starts a child run of that agent with the model's `request` as
its input, and the calling run waits for it holding no worker (`waiting`); when the child has finished, the
call's result is the child's output (or what went wrong), recorded in the tool-call ledger, so it is never
asked again after a crash, and the child's usage is counted into the caller's. Several calls in one response
start their child runs at once.
"""

from __future__ import annotations

from pydantic_ai import RunContext, Tool

from switchboard.agents.spec import DELEGATE_TO, AgentDeps


def agent_tool(agent: str, *, name: str | None = None, description: str | None = None) -> Tool[AgentDeps]:
    """A tool that asks agent `agent` to do something; `name` defaults to `ask_<agent>`."""

    async def delegate(ctx: RunContext[AgentDeps], request: str) -> str:
        # The engine's ledger answers this tool (see `engine.delegation`): its body never runs in a run.
        raise RuntimeError(f"the agent tool for {agent!r} runs only inside a run executed by Switchboard")

    return Tool(
        delegate,
        name=name or f"ask_{agent.replace('-', '_')}",
        description=description or f"Ask the {agent} agent. `request`: what you want it to do, in full.",
        metadata={DELEGATE_TO: agent, "idempotent": True},
    )
