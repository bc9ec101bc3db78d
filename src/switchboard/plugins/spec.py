"""What a plugin is. Switchboard finds plugins through the `switchboard.plugins` entry point group and the
`SWITCHBOARD_PLUGINS` setting; each names a `Plugin` object or a function returning one."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.agents.spec import AgentSpec
from switchboard.pipelines.spec import PipelineSpec
from switchboard.settings import Settings


@dataclass(frozen=True)
class SeedContext:
    session: AsyncSession
    settings: Settings
    # `switchboard demo --reset`: put the plugin's example data back as seeding first makes it.
    reset: bool = False


@dataclass(frozen=True)
class Plugin:
    """A bundle of agents and what they need.

    - `agents`: the agents it registers.
    - `pipelines`: named pipelines over agents (its own or other plugins'), called by name like an agent.
    - `routers`: extra HTTP routes (they may use `switchboard.auth.dependencies` for identity).
    - `migrations`: a folder of Alembic revisions on a branch of the plugin's own, applied with the core's.
      Tables are declared on `switchboard.models.Base` so they can refer to core tables such as `users`.
    - `raw_body_paths`: path prefixes of its routes that verify a signature over the raw body: the request guard
      passes their bodies through unparsed (size still limited), and the route checks them itself.
    - `seed`: example data for `switchboard demo`; must be idempotent; returns lines to print. With
      `context.reset` (`switchboard demo --reset`), it first undoes what was done to that data since.
    """

    name: str
    agents: Sequence[AgentSpec] = ()
    pipelines: Sequence[PipelineSpec] = ()
    routers: Sequence[APIRouter] = ()
    migrations: Path | None = None
    raw_body_paths: Sequence[str] = ()
    seed: Callable[[SeedContext], Awaitable[list[str]]] | None = field(default=None)
