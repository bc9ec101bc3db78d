"""When a model request fails in a way that making it again may cure (see `outcome.transient`), the run makes it
again from its last written step, as a resumed run would, instead of failing: the failed request is a step of
the run's timeline with its error, and a `retry` event tells followers that the text streamed since the last
written message is void (the retried request streams it anew), so no follower shows text twice."""

from __future__ import annotations

import random
from typing import Any

from pydantic_ai.messages import ModelResponse
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from switchboard.engine.event_buffer import EventBuffer
from switchboard.engine.journal import Event
from switchboard.engine.outcome import IncompleteModelResponse
from switchboard.engine.progress import Progress
from switchboard.kit.clock import utc_now
from switchboard.models import RunStep
from switchboard.models.runs import StepKind, StepStatus

MAX_BACKOFF_SECONDS = 30.0


def backoff(failures: int, first: float) -> float:
    """Exponential backoff with full jitter: a provider that failed many runs at once is not hit by all of them
    again at the same instant."""
    ceiling = min(MAX_BACKOFF_SECONDS, first * 2 ** (failures - 1))
    return round(random.uniform(ceiling / 2, ceiling), 3)  # noqa: S311 (spreading load, not a secret)


def check_finished(response: ModelResponse, requires_finish_reason: bool) -> None:
    """Raise `IncompleteModelResponse` for a streamed response that ended without the provider's finish reason
    (Pydantic AI assumes "stop" then, which would take a cut-short answer for the whole one)."""
    if requires_finish_reason and not (response.provider_details or {}).get("finish_reason"):
        raise IncompleteModelResponse


async def record_failed_request(
    buffer: EventBuffer, progress: Progress, error: dict[str, str], retry_in: float | None, failures: int
) -> None:
    """Write the failed request's step and, when it is to be retried, the `retry` event, after the events still
    pending (the dropped attempt's text among them), in one transaction."""
    run = progress.loaded.run
    step: dict[str, Any] = {
        "run_id": run.id,
        "kind": StepKind.MODEL_REQUEST,
        "status": StepStatus.FAILED,
        "attempt": run.attempts,
        "model_name": progress.model_name,
        "result": {"error": error, "retry_in_seconds": retry_in},
        "started_at": progress.request_started_at or utc_now(),
        "finished_at": utc_now(),
    }

    async def write(connection: AsyncConnection) -> None:
        await connection.execute(insert(RunStep), [step])

    events: list[Event] = []
    if retry_in is not None:
        void = progress.unwritten_text
        data = {"retry": failures, "retry_in_seconds": retry_in, "error": error, "void_chars": len(void)}
        events.append(("retry", data))
    await buffer.flush(write, closing=events)
