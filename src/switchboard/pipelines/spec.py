"""What a plugin hands Switchboard to define a pipeline: a named run whose steps are child runs of agents.

Stages run one after another; the steps of a stage run at once (each a child run any worker may claim). So a
sequential pipeline is stages of one step each, a parallel one a single stage, and a mixed one e.g. a stage of
three analyses and then a step over their outputs. A pipeline is called by name like an agent
(`POST /v1/runs {"agent": "<pipeline>", "input": …}`); while its children work it waits holding no worker.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID


@dataclass(frozen=True)
class StepResult:
    """A finished step: its child run's outcome and timing."""

    name: str
    agent: str
    run_id: UUID
    status: str  # the child run's final status: succeeded | failed | cancelled | timed_out
    output: Any
    error: dict[str, Any] | None
    usage: dict[str, Any]
    started_at: datetime | None
    finished_at: datetime | None

    @property
    def seconds(self) -> float | None:
        """How long the child run took, from its start to its end."""
        if self.started_at is None or self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


@dataclass(frozen=True)
class PipelineState:
    """What a step's input and the pipeline's output are built from."""

    input: str  # the pipeline run's input
    run_id: UUID | None = None  # the pipeline run's id
    outputs: Mapping[str, Any] = field(default_factory=dict)  # outputs of the steps that succeeded, by step name
    steps: Mapping[str, StepResult] = field(default_factory=dict)  # every finished step, optional failures too


@dataclass(frozen=True)
class Step:
    """One child run: `agent` (an agent, not a pipeline) given `input(state)` (by default the pipeline's input).
    A failed `optional` step leaves its output out instead of failing the pipeline."""

    name: str
    agent: str
    input: Callable[[PipelineState], str] | None = None
    optional: bool = False

    def input_for(self, state: PipelineState) -> str:
        return state.input if self.input is None else self.input(state)


@dataclass(frozen=True)
class PipelineSpec:
    """A named pipeline: `stages` of steps, and `output(state)`, the pipeline run's output once every stage is done
    (by default the outputs of its steps, by step name)."""

    name: str
    description: str
    stages: Sequence[Sequence[Step]]
    output: Callable[[PipelineState], Any] | None = None
    # The longest input a run of it takes, in characters; None: SWITCHBOARD_MAX_PROMPT_CHARS.
    max_input_chars: int | None = None

    def __post_init__(self) -> None:
        if not self.stages or any(not stage for stage in self.stages):
            raise ValueError(f"pipeline {self.name!r}: every stage needs at least one step")
        names = [step.name for step in self.steps()]
        if len(set(names)) != len(names):
            raise ValueError(f"pipeline {self.name!r}: step names must be unique, got {names}")

    @classmethod
    def sequential(
        cls,
        name: str,
        description: str,
        steps: Sequence[Step],
        output: Callable[[PipelineState], Any] | None = None,
        **options: Any,
    ) -> PipelineSpec:
        """One step after another; a step's `input` may read the outputs of the steps before it."""
        return cls(name=name, description=description, stages=[[step] for step in steps], output=output, **options)

    @classmethod
    def parallel(
        cls,
        name: str,
        description: str,
        steps: Sequence[Step],
        output: Callable[[PipelineState], Any] | None = None,
        **options: Any,
    ) -> PipelineSpec:
        """Every step at once, then `output` over all of them (the join)."""
        return cls(name=name, description=description, stages=[list(steps)], output=output, **options)

    def steps(self) -> list[Step]:
        return [step for stage in self.stages for step in stage]

    def result(self, state: PipelineState) -> Any:
        return dict(state.outputs) if self.output is None else self.output(state)
