"""The agents this server runs, by name, with their resolved models."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from switchboard.agents.model_resolution import ResolvedModel, resolve_model
from switchboard.agents.spec import AgentSpec, HistoryWindow
from switchboard.kit.errors import ValidationFailed
from switchboard.settings import Settings


@dataclass(frozen=True)
class RegisteredAgent:
    spec: AgentSpec
    model: ResolvedModel


class AgentRegistry:
    def __init__(self, specs: Iterable[AgentSpec], settings: Settings) -> None:
        self._agents: dict[str, RegisteredAgent] = {}
        for spec in specs:
            if spec.name in self._agents:
                raise ValueError(f"two plugins register an agent named {spec.name!r}")
            self._agents[spec.name] = RegisteredAgent(spec=spec, model=resolve_model(spec, settings))

    def require(self, name: str) -> RegisteredAgent:
        """The agent a request body names in its `agent` field; unknown → 422 naming the field."""
        if name not in self._agents:
            known = ", ".join(sorted(self._agents)) or "none"
            raise ValidationFailed(
                f"agent: unknown agent {name!r}; known agents: {known} (GET /v1/agents)",
                details=[{"field": "agent", "message": "unknown agent"}],
            )
        return self._agents[name]

    def history_window(self, name: str) -> HistoryWindow:
        """How much thread history a run of agent `name` sends to the model (an unknown agent: the default)."""
        registered = self._agents.get(name)
        return registered.spec.history if registered is not None else HistoryWindow()

    def __contains__(self, name: object) -> bool:
        return name in self._agents

    def all(self) -> list[RegisteredAgent]:
        return [self._agents[name] for name in sorted(self._agents)]
