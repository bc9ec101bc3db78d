"""The agents this server runs, by name, with their resolved models; and its pipelines, which run by name like
agents (`POST /v1/runs {"agent": "<pipeline>"}`) and share their names' space."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from switchboard.agents.model_resolution import ResolvedModel, resolve_model
from switchboard.agents.spec import AgentSpec, HistoryWindow
from switchboard.kit.errors import PayloadTooLarge, ValidationFailed
from switchboard.pipelines.spec import PipelineSpec
from switchboard.safety.screen import InputScreen
from switchboard.settings import Settings

if TYPE_CHECKING:
    from switchboard.tools.catalogue import ToolCatalogue


@dataclass(frozen=True)
class RegisteredAgent:
    spec: AgentSpec
    model: ResolvedModel


class AgentRegistry:
    def __init__(self, specs: Iterable[AgentSpec], settings: Settings, pipelines: Iterable[PipelineSpec] = ()) -> None:
        self._agents: dict[str, RegisteredAgent] = {}
        for spec in specs:
            if spec.name in self._agents:
                raise ValueError(f"two plugins register an agent named {spec.name!r}")
            self._agents[spec.name] = RegisteredAgent(spec=spec, model=resolve_model(spec, settings))
        for registered in self._agents.values():  # at start-up, not at the first call: an agent tool must work
            missing = sorted(set(registered.spec.delegates_to()) - set(self._agents))
            if missing:
                raise ValueError(
                    f"agent {registered.spec.name!r} has agent tools for unknown agents: {', '.join(missing)}"
                )
        self._pipelines: dict[str, PipelineSpec] = {}
        for pipeline in pipelines:
            if pipeline.name in self._agents or pipeline.name in self._pipelines:
                raise ValueError(f"pipeline {pipeline.name!r}: an agent or another pipeline has that name")
            unknown = sorted({step.agent for step in pipeline.steps()} - set(self._agents))
            if unknown:  # at start-up, not at the first run: a pipeline over a missing agent cannot work
                raise ValueError(f"pipeline {pipeline.name!r} has steps of unknown agents: {', '.join(unknown)}")
            self._pipelines[pipeline.name] = pipeline
        self._max_prompt_chars = settings.max_prompt_chars
        self._screen = InputScreen.build(settings.input_screen, settings.input_screen_patterns)
        self.tool_timeout_seconds = settings.tool_timeout_seconds

    def require(self, name: str) -> RegisteredAgent:
        """The agent a request body names in its `agent` field; unknown → 422 naming the field."""
        if name not in self._agents:
            raise self._unknown(name)
        return self._agents[name]

    def require_runnable(self, name: str) -> RegisteredAgent | PipelineSpec:
        """What a run may name: an agent or a pipeline; unknown → 422 naming the field."""
        runnable = self._agents.get(name) or self._pipelines.get(name)
        if runnable is None:
            raise self._unknown(name)
        return runnable

    def _unknown(self, name: str) -> ValidationFailed:
        known = ", ".join(sorted(self.names())) or "none"
        return ValidationFailed(
            f"agent: unknown agent {name!r}; known agents and pipelines: {known} (GET /v1/agents)",
            details=[{"field": "agent", "message": "unknown agent"}],
        )

    def input_limit(self, name: str) -> tuple[int, str]:
        """The longest input a run of `name` takes, in characters, and what sets it (for an error to say): the
        agent's or pipeline's own `max_input_chars`, else SWITCHBOARD_MAX_PROMPT_CHARS."""
        pipeline = self._pipelines.get(name)
        registered = self._agents.get(name)
        declared = pipeline.max_input_chars if pipeline else registered.spec.max_input_chars if registered else None
        if declared:
            return declared, f"{name}'s own limit"
        return self._max_prompt_chars, "SWITCHBOARD_MAX_PROMPT_CHARS"

    def check_input(self, name: str, text: str, field: str) -> None:
        """A run's input longer than `input_limit` is a 413 naming `field`; then the input screen (`safety.screen`:
        the agent's mode, else SWITCHBOARD_INPUT_SCREEN) flags it, or refuses it with 422 input_rejected."""
        limit, why = self.input_limit(name)
        if len(text) > limit:
            raise PayloadTooLarge(f"{field} is {len(text)} characters; the limit is {limit} ({why}).")
        registered = self._agents.get(name)
        self._screen.check(name, text, field, registered.spec.input_screen if registered else None)

    @cached_property
    def tools(self) -> ToolCatalogue:
        """Every agent's tools by the name the tool door calls them (`tools.catalogue`)."""
        from switchboard.tools.catalogue import ToolCatalogue  # the catalogue reads registered agents

        return ToolCatalogue.of(self.all())

    def may_have_children(self, name: str) -> bool:
        """Whether a run of `name` can have child runs: a pipeline, or an agent with agent tools."""
        registered = self._agents.get(name)
        return name in self._pipelines or (registered is not None and bool(registered.spec.delegates_to()))

    def pipeline(self, name: str) -> PipelineSpec | None:
        return self._pipelines.get(name)

    def pipelines(self) -> list[PipelineSpec]:
        return [self._pipelines[name] for name in sorted(self._pipelines)]

    def names(self) -> list[str]:
        """Every name a run may be created with."""
        return sorted([*self._agents, *self._pipelines])

    def history_window(self, name: str) -> HistoryWindow:
        """How much thread history a run of agent `name` sends to the model (an unknown agent: the default)."""
        registered = self._agents.get(name)
        return registered.spec.history if registered is not None else HistoryWindow()

    def __contains__(self, name: object) -> bool:
        return name in self._agents or name in self._pipelines

    def all(self) -> list[RegisteredAgent]:
        return [self._agents[name] for name in sorted(self._agents)]
