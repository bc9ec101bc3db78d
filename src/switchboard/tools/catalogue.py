"""Every registered agent's tools, by the name the tool door calls them.

A tool's door name is its own name when every agent that has a tool of that name has the same one (the same
function, declared the same way: the support agent and the sidekick share `get_order`); the tool then belongs to
all of them. When two agents have different tools under one name, neither gets the bare name: each is called
`<agent>.<tool>` (a bare name that could mean either tool is refused with 404 naming both). `<agent>.<tool>` is
accepted for every tool, ambiguous or not.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic_ai import Tool
from pydantic_ai.models import Model
from pydantic_ai.tools import ToolDefinition

from switchboard.auth.principal import Principal
from switchboard.tools.access import ToolAccess

if TYPE_CHECKING:
    from switchboard.agents.registry import RegisteredAgent


@dataclass(frozen=True)
class DoorTool:
    name: str
    tool: Tool[Any]
    agents: tuple[str, ...]
    access: ToolAccess
    # The model of its first agent: a tool's RunContext names one, though a door call makes no model request.
    model: Model

    @property
    def definition(self) -> ToolDefinition:
        return self.tool.tool_def

    @property
    def requires_approval(self) -> bool:
        return bool(self.tool.requires_approval)

    @property
    def idempotent(self) -> bool:
        return bool((self.tool.metadata or {}).get("idempotent", True))


def _identity(tool: Tool[Any]) -> tuple[Any, ...]:
    """What makes two agents' tools of one name the same tool."""
    return (tool.function, tool.requires_approval, repr(sorted((tool.metadata or {}).items())), tool.description)


@dataclass(frozen=True)
class ToolCatalogue:
    by_name: dict[str, DoorTool]  # the names GET /v1/tools lists
    qualified: dict[str, DoorTool]  # `<agent>.<tool>` for every tool
    ambiguous: dict[str, list[str]]  # a bare name several different tools have → their qualified names

    @classmethod
    def of(cls, agents: Iterable[RegisteredAgent]) -> ToolCatalogue:
        found: dict[str, list[tuple[RegisteredAgent, Tool[Any]]]] = defaultdict(list)
        for registered in agents:
            for tool in registered.spec.tools():
                found[str(tool.name)].append((registered, tool))
        by_name: dict[str, DoorTool] = {}
        qualified: dict[str, DoorTool] = {}
        ambiguous: dict[str, list[str]] = {}
        for name, owners in sorted(found.items()):
            shared = len({_identity(tool) for _, tool in owners}) == 1
            for registered, tool in owners:
                agents_of = tuple(sorted(r.spec.name for r, _ in owners)) if shared else (registered.spec.name,)
                door_name = name if shared else f"{registered.spec.name}.{name}"
                entry = DoorTool(
                    name=door_name,
                    tool=tool,
                    agents=agents_of,
                    access=ToolAccess.of(tool.metadata, tool.timeout),
                    model=registered.model.model,
                )
                qualified[f"{registered.spec.name}.{name}"] = by_name.get(door_name, entry)
                by_name.setdefault(door_name, entry)
            if not shared:
                ambiguous[name] = sorted(f"{r.spec.name}.{name}" for r, _ in owners)
        return cls(by_name=by_name, qualified=qualified, ambiguous=ambiguous)

    def find(self, name: str) -> DoorTool | None:
        return self.by_name.get(name) or self.qualified.get(name)

    def callable_by(self, user: Principal) -> list[DoorTool]:
        """The tools `user` may call through the door (approval-gated ones included: they are listed, and refused
        when called, with what to do instead)."""
        return [t for t in self.by_name.values() if t.access.door and t.access.allows(user)]
