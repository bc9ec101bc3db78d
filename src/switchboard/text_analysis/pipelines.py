"""The `text-analysis` pipelines: the summarizer, sentiment and entities agents over one text, all three at once
(`text-analysis`, then the join) or one after another (`text-analysis-sequential`), each a child run.

Their output is seed 003's result: `summary`, `sentiment {sentiment, confidence}`, `entities {persons,
organizations, locations, dates}`, `agent_results [{agent_name, result_data, execution_time, status}]` and
`total_execution_time`. As in seed 003, an agent that fails does not fail the others: its steps are optional, and
its entry in `agent_results` says `"status": "error"` with the error (its part of the result is empty).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel

from switchboard.pipelines import PipelineSpec, PipelineState, Step, StepResult
from switchboard.text_analysis.entities import NAME as ENTITIES
from switchboard.text_analysis.outputs import MAX_TEXT_CHARS
from switchboard.text_analysis.sentiment import NAME as SENTIMENT
from switchboard.text_analysis.summarizer import NAME as SUMMARIZER

PARALLEL = "text-analysis"
SEQUENTIAL = "text-analysis-sequential"
Mode = Literal["sequential", "parallel"]
PIPELINE_OF_MODE: dict[Mode, str] = {"parallel": PARALLEL, "sequential": SEQUENTIAL}
MODE_OF_PIPELINE: dict[str, Mode] = {name: mode for mode, name in PIPELINE_OF_MODE.items()}

# Step names are seed 003's `agent_name`s; each runs one of this plugin's agents.
STEPS = (("summarizer", SUMMARIZER), ("sentiment", SENTIMENT), ("entity_extractor", ENTITIES))
ENTITY_KINDS = ("persons", "organizations", "locations", "dates")
SUCCESS, ERROR = "success", "error"  # seed 003's agent statuses


def _steps() -> list[Step]:
    return [Step(name=name, agent=agent, optional=True) for name, agent in STEPS]


def _data(value: Any) -> dict[str, Any]:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    return dict(value) if isinstance(value, dict) else {}


def agent_result(name: str, step: StepResult | None, output: Any) -> dict[str, Any]:
    """One entry of `agent_results`: the step's output, how long its run took, and success or error."""
    if step is not None and step.status == "succeeded":
        return {"agent_name": name, "result_data": _data(output), "execution_time": step.seconds, "status": SUCCESS}
    entry: dict[str, Any] = {
        "agent_name": name,
        "result_data": {},
        "execution_time": step.seconds if step is not None else None,
        "status": ERROR,
    }
    if step is not None:
        error = step.error or {}
        entry["error_message"] = error.get("message") or f"the agent's run was {step.status}"
    return entry


def result(state: PipelineState) -> dict[str, Any]:
    """Seed 003's result from the steps' outputs and timings (see the module's description)."""
    summary = _data(state.outputs.get("summarizer"))
    sentiment = _data(state.outputs.get("sentiment"))
    entities = _data(state.outputs.get("entity_extractor"))
    finished = [step for step in state.steps.values() if step.started_at and step.finished_at]
    total = None
    if finished:
        first = min(step.started_at for step in finished if step.started_at)
        last = max(step.finished_at for step in finished if step.finished_at)
        total = (last - first).total_seconds()
    return {
        # The request this is the result of: a callback's receiver matches it to its POST /api/v1/process.
        "request_id": str(state.run_id) if state.run_id else None,
        "summary": summary.get("summary", ""),
        "sentiment": {"sentiment": sentiment.get("sentiment"), "confidence": sentiment.get("confidence")},
        "entities": {kind: list(entities.get(kind) or []) for kind in ENTITY_KINDS},
        "agent_results": [agent_result(name, state.steps.get(name), state.outputs.get(name)) for name, _ in STEPS],
        # From the first step's start to the last one's end: the three at once take about the slowest one.
        "total_execution_time": total,
    }


def pipelines() -> list[PipelineSpec]:
    what = "Summary, sentiment and entities of a text (seed 003)"
    return [
        PipelineSpec.parallel(
            PARALLEL,
            f"{what}: the summarizer, sentiment and entities agents at once, then the join.",
            _steps(),
            result,
            max_input_chars=MAX_TEXT_CHARS,
        ),
        PipelineSpec.sequential(
            SEQUENTIAL,
            f"{what}: the summarizer, sentiment and entities agents one after another.",
            _steps(),
            result,
            max_input_chars=MAX_TEXT_CHARS,
        ),
    ]
