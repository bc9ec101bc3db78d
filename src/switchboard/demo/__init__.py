"""The demo shop: seed 000's support agent and its data, written only against Switchboard's public
extension API (a `Plugin` found through the `switchboard.plugins` entry point), as a user would write theirs."""

from __future__ import annotations

from pathlib import Path

from switchboard.plugins import Plugin


def plugin() -> Plugin:
    from switchboard.demo.agent import support_spec
    from switchboard.demo.endpoints import router
    from switchboard.demo.seed import seed_demo
    from switchboard.demo.sidekick import sidekick_spec
    from switchboard.demo.support_chat import router as support_chat_router

    return Plugin(
        name="demo",
        agents=[support_spec(), sidekick_spec()],
        routers=[router, support_chat_router],
        migrations=Path(__file__).parent / "migrations",
        seed=seed_demo,
    )
