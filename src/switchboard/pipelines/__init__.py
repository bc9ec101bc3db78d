"""Pipelines: runs whose steps are child runs of other agents, declared by plugins (`PipelineSpec`)."""

from switchboard.pipelines.spec import PipelineSpec, PipelineState, Step, StepResult

__all__ = ["PipelineSpec", "PipelineState", "Step", "StepResult"]
