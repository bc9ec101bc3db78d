"""Executing a pipeline run: start the next stage's steps as child runs and wait for them holding no worker;
when the last stage is done, settle with the pipeline's output.

Each execution is one transaction under the pipeline run's lock and lease (`children.lock`): it either starts
a stage and leaves the run waiting, or settles it. A crash at any point leaves one or the other, or nothing;
a resumed pipeline starts only the steps it has not started (a step's child run is unique), so no step runs
twice. The stage's children then run on any worker; the last to finish puts the pipeline back in the queue.
"""

from __future__ import annotations

from typing import Any

import structlog
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from switchboard.agents.registry import AgentRegistry
from switchboard.engine import children, transitions
from switchboard.engine.children import Child
from switchboard.engine.journal import Event
from switchboard.engine.load import LoadedRun
from switchboard.models.runs import RunStatus
from switchboard.notifications.outbox import RunNotices
from switchboard.pipelines.spec import PipelineSpec, PipelineState, Step, StepResult

log = structlog.get_logger(__name__)


# A pipeline's cost is its steps' (it makes no model request itself): NULL while none of theirs is known.
_STEPS_COST = text(
    "UPDATE runs SET cost_usd = (SELECT sum(c.cost_usd) FROM runs c WHERE c.parent_id = :id) WHERE id = :id"
)


def total_usage(of: list[Child]) -> dict[str, int]:
    """The children's usage added up: a pipeline's own usage (it makes no model request itself)."""
    total: dict[str, int] = {}
    for child in of:
        for key, value in child.usage.items():
            if isinstance(value, int):
                total[key] = total.get(key, 0) + value
    return total


def _result(step: Step, child: Child) -> StepResult:
    return StepResult(
        name=step.name,
        agent=step.agent,
        run_id=child.id,
        status=child.status,
        output=child.output,
        error=child.error,
        usage=child.usage,
        started_at=child.started_at,
        finished_at=child.finished_at,
    )


def _step_failed(pipeline: PipelineSpec, step: Step, child: Child) -> dict[str, Any]:
    cause = (child.error or {}).get("message") or f"its run ended {child.status}"
    return {
        "type": "step_failed",
        "message": f"Step {step.name!r} (agent {step.agent}, run {child.id}) of pipeline {pipeline.name!r} "
        f"{child.status}: {cause}",
        "step": step.name,
        "run_id": str(child.id),
    }


class PipelineDriver:
    def __init__(self, engine: AsyncEngine, agents: AgentRegistry, notices: RunNotices) -> None:
        self.engine = engine
        self.agents = agents
        self.notices = notices

    async def advance(self, loaded: LoadedRun, pipeline: PipelineSpec, owner: str) -> dict[str, Any] | None:
        """Take the pipeline as far as it can go now: the run's row if it settled, None if it waits."""
        run = loaded.run
        async with self.engine.begin() as connection:
            cancel_requested = await children.lock(connection, run.id, owner)
            started = await children.of(connection, run.id)
            usage = total_usage(started)
            if cancel_requested:  # its children are cancelled once this commits (the executor's `_end_children`)
                return await self._settle(connection, run.id, owner, RunStatus.CANCELLED, usage=usage)
            if (remaining := loaded.remaining()) is not None and remaining < 0:  # woken late: it stops here
                limit = (run.limits or {}).get("timeout_seconds")
                error = {"type": "timed_out", "message": f"The run exceeded its wall-clock limit of {limit} s."}
                return await self._settle(connection, run.id, owner, RunStatus.TIMED_OUT, usage=usage, error=error)
            by_step = {child.step: child for child in started}
            state = PipelineState(input=run.input, run_id=run.id)
            for number, stage in enumerate(pipeline.stages, start=1):
                missing = [step for step in stage if step.name not in by_step]
                try:  # every input first: a plugin's function that fails starts none of the stage
                    inputs = {step.name: step.input_for(state) for step in missing}
                except Exception as exc:
                    log.exception("pipeline.step_input_failed", run_id=str(run.id), pipeline=pipeline.name)
                    error = {
                        "type": "step_input_failed",
                        "message": f"Pipeline {pipeline.name!r}, stage {number}: {exc!r}",
                    }
                    return await self._settle(connection, run.id, owner, RunStatus.FAILED, usage=usage, error=error)
                events = [await self._start(connection, loaded, step, inputs[step.name], number) for step in missing]
                if events or any(not by_step[step.name].finished for step in stage if step.name in by_step):
                    # Children finish only after this lock is released (they lock it to wake it): some is unfinished.
                    if not await children.wait(connection, run.id, owner, usage, events):
                        raise RuntimeError("a child run finished while its parent's row was locked")
                    log.info("pipeline.waiting", run_id=str(run.id), pipeline=pipeline.name, stage=number)
                    return None
                results = {step.name: _result(step, by_step[step.name]) for step in stage}
                state = PipelineState(
                    input=state.input,
                    run_id=run.id,
                    outputs={
                        **state.outputs,
                        **{name: r.output for name, r in results.items() if r.status == RunStatus.SUCCEEDED},
                    },
                    steps={**state.steps, **results},
                )
                for step in stage:
                    child = by_step[step.name]
                    if child.status != RunStatus.SUCCEEDED and not step.optional:
                        error = _step_failed(pipeline, step, child)
                        return await self._settle(connection, run.id, owner, RunStatus.FAILED, usage=usage, error=error)
            try:
                output = pipeline.result(state)
            except Exception as exc:  # the plugin's join: its failure is the run's, said plainly
                log.exception("pipeline.output_failed", run_id=str(run.id), pipeline=pipeline.name)
                error = {"type": "pipeline_output_failed", "message": f"Pipeline {pipeline.name!r}: {exc!r}"}
                return await self._settle(connection, run.id, owner, RunStatus.FAILED, usage=usage, error=error)
            return await self._settle(connection, run.id, owner, RunStatus.SUCCEEDED, usage=usage, output=output)

    async def _start(self, connection: AsyncConnection, loaded: LoadedRun, step: Step, text: str, stage: int) -> Event:
        registered = self.agents.require(step.agent)
        child_id = await children.spawn(
            connection, loaded.run, step=step.name, agent=step.agent, input=text, model_name=registered.model.name
        )
        return (
            "child",
            {"step": step.name, "run_id": child_id, "agent": step.agent, "status": "queued", "stage": stage},
        )

    async def _settle(
        self,
        connection: AsyncConnection,
        run_id: Any,
        owner: str,
        status: RunStatus,
        *,
        usage: dict[str, int],
        output: Any = None,
        error: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        await connection.execute(_STEPS_COST, {"id": run_id})
        row = await transitions.settle(
            connection, run_id=run_id, owner=owner, status=status, output=output, error=error, usage=usage
        )
        await self.notices.record(connection, row)
        return row
