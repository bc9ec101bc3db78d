"""Seed 003's requests on runs: a request is a run of a text-analysis pipeline, its result that run's output, its
callback the run's webhook `notify` target (sent by the notifications outbox), and its webhook log that delivery's
attempts. Everything is the caller's: another user's request is not found."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.agents.registry import AgentRegistry
from switchboard.auth.principal import Principal
from switchboard.kit.errors import Conflict, NotFound
from switchboard.kit.pagination import keyset_page
from switchboard.models import Delivery, OutboxMessage, Run
from switchboard.models.notifications import Channel
from switchboard.models.runs import RunStatus
from switchboard.notifications.service import RETRYABLE, WebhookService
from switchboard.notifications.targets import stored_webhook
from switchboard.pipelines import StepResult
from switchboard.runs.schemas import RunCreate
from switchboard.runs.service import RunOrigin, RunService
from switchboard.settings import Settings
from switchboard.text_analysis.pipelines import (
    MODE_OF_PIPELINE,
    PIPELINE_OF_MODE,
    STEPS,
    Mode,
    agent_result,
)
from switchboard.text_analysis.schemas import ProcessingResult, RequestStatus, WebhookAttemptLog

SIGNATURE_HEADER = "X-Webhook-Signature"  # seed 003's callback signature: hex HMAC-SHA256 of the body

STATUS_OF_RUN: dict[RunStatus, RequestStatus] = {
    RunStatus.QUEUED: "pending",
    RunStatus.RUNNING: "processing",
    RunStatus.WAITING: "processing",
    RunStatus.REQUIRES_ACTION: "processing",
    RunStatus.SUCCEEDED: "completed",
    RunStatus.FAILED: "failed",
    RunStatus.CANCELLED: "failed",
    RunStatus.TIMED_OUT: "failed",
}
RUNS_OF_STATUS: dict[RequestStatus, list[RunStatus]] = {}
for _run_status, _status in STATUS_OF_RUN.items():
    RUNS_OF_STATUS.setdefault(_status, []).append(_run_status)


@dataclass(frozen=True)
class ResultFilter:
    status: RequestStatus | None = None
    mode: Mode | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None


@dataclass(frozen=True)
class Callback:
    url: str
    secret: str | None


class TextAnalysisService:
    def __init__(self, session: AsyncSession, agents: AgentRegistry, settings: Settings) -> None:
        self.session = session
        self.settings = settings
        self.runs = RunService(session, agents, settings)
        self.webhooks = WebhookService(session, settings)

    async def start(
        self,
        user: Principal,
        text: str,
        mode: Mode,
        callback: Callback | None,
        *,
        request_id: str | None,
        trigger_id: uuid.UUID | None = None,
        trigger_notify: Sequence[dict[str, Any]] = (),
        field: str = "webhook_url",
    ) -> Run:
        """A run of the mode's pipeline on `text`, told to `callback` (signed as seed 003 signed, and with Standard
        Webhooks headers) with the result alone as the body. 003's secrets may be shorter than the 16 characters
        the core's `notify` asks for: its clients already hold them, so the adapter takes them as they are."""
        notify = list(trigger_notify)
        if callback is not None:
            target = await stored_webhook(
                self.settings,
                callback.url,
                callback.secret,
                field,
                signature_header=SIGNATURE_HEADER if callback.secret is not None else None,
                body="output",
            )
            notify.append(target)
        run, _ = await self.runs.create(
            user,
            RunCreate(agent=PIPELINE_OF_MODE[mode], message=text, metadata={"orchestration_mode": mode}),
            request_id=request_id,
            origin=RunOrigin(trigger_id=trigger_id, notify=notify),
        )
        return run

    async def get(self, user: Principal, request_id: uuid.UUID, *, for_update: bool = False) -> Run:
        """The caller's text-analysis request; anything else (another user's, or a run of another agent) is 404."""
        run = await self.runs.runs.owned(user.user_id, request_id, for_update=for_update)
        if run is None or run.agent not in MODE_OF_PIPELINE:
            raise NotFound(f"Request {request_id} not found.")
        return run

    async def page(
        self, user: Principal, where: ResultFilter, limit: int, cursor: str | None
    ) -> tuple[list[Run], str | None]:
        """The caller's requests, newest first, filtered."""
        query = select(Run).where(Run.user_id == user.user_id, Run.parent_id.is_(None))
        pipelines = [PIPELINE_OF_MODE[where.mode]] if where.mode is not None else list(MODE_OF_PIPELINE)
        query = query.where(Run.agent.in_(pipelines))
        if where.status is not None:
            query = query.where(Run.status.in_(RUNS_OF_STATUS[where.status]))
        if where.created_after is not None:
            query = query.where(Run.created_at >= where.created_after)
        if where.created_before is not None:
            query = query.where(Run.created_at < where.created_before)
        return await keyset_page(
            self.session, query, [Run.created_at, Run.id], limit=limit, cursor=cursor, descending=True
        )

    async def results(self, runs: Sequence[Run]) -> list[ProcessingResult]:
        """The requests as seed 003 showed them, with their callbacks' delivery state (a few queries in all)."""
        callbacks = await self._callbacks([run.id for run in runs])
        failed = [run.id for run in runs if run.status in FAILED_STATUSES]
        children = await self._children(failed)
        results: list[ProcessingResult] = []
        for run in runs:
            deliveries = callbacks.get(run.id, [])
            output = run.output if run.status == RunStatus.SUCCEEDED and isinstance(run.output, dict) else None
            if output is None and run.id in children:
                output = _partial(children[run.id])
            results.append(
                ProcessingResult.model_validate(
                    {
                        **(output or {}),
                        "request_id": run.id,
                        "status": STATUS_OF_RUN[run.status],
                        "orchestration_mode": MODE_OF_PIPELINE[run.agent],
                        "error": (run.error or {}).get("message") if run.status in FAILED_STATUSES else None,
                        "webhook_status": deliveries[-1].status if deliveries else None,
                        "webhook_attempts": sum(delivery.attempts for delivery in deliveries),
                        "created_at": run.created_at,
                        "completed_at": run.finished_at,
                    }
                )
            )
        return results

    async def webhook_logs(self, user: Principal, request_id: uuid.UUID) -> tuple[str | None, list[WebhookAttemptLog]]:
        """The callback's delivery state and every attempt, oldest first."""
        run = await self.get(user, request_id)
        deliveries = (await self._callbacks([run.id])).get(run.id, [])
        logs: list[WebhookAttemptLog] = []
        for out in await self.webhooks.outs(deliveries):
            for attempt in out.attempt_log:
                logs.append(
                    WebhookAttemptLog(
                        delivery_id=out.id,
                        url=out.destination,
                        attempt=attempt.attempt,
                        status_code=attempt.status_code,
                        success=attempt.status_code is not None
                        and 200 <= attempt.status_code < 300
                        and attempt.error is None,
                        error=attempt.error,
                        response_body=attempt.response_excerpt,
                        duration_ms=attempt.duration_ms,
                        attempted_at=attempt.started_at,
                    )
                )
        logs.sort(key=lambda log: (log.attempted_at, log.attempt))
        return (deliveries[-1].status if deliveries else None), logs

    async def retry_callback(self, user: Principal, request_id: uuid.UUID) -> list[uuid.UUID]:
        """Every failed or dead callback delivery of the request, attempted again now."""
        run = await self.get(user, request_id)
        deliveries = (await self._callbacks([run.id])).get(run.id, [])
        if not deliveries:
            raise Conflict(f"Request {request_id} has no callback to retry: it was made without a webhook_url, or "
                           "it has not finished yet.")  # fmt: skip
        retryable = [delivery for delivery in deliveries if delivery.status in RETRYABLE]
        if not retryable:
            states = ", ".join(sorted({str(delivery.status) for delivery in deliveries}))
            raise Conflict(
                f"Request {request_id}'s callback is {states}: only a failed or dead delivery can be retried."
            )
        return [(await self.webhooks.retry(user, delivery.id)).id for delivery in retryable]

    async def _callbacks(self, run_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[Delivery]]:
        """Each run's own webhook deliveries (its callback, not the user's endpoints), oldest first."""
        if not run_ids:
            return {}
        query = (
            select(OutboxMessage.run_id, Delivery)
            .join(OutboxMessage, OutboxMessage.id == Delivery.message_id)
            .where(
                OutboxMessage.run_id.in_(run_ids),
                Delivery.channel == Channel.WEBHOOK,
                Delivery.endpoint_id.is_(None),
            )
            .order_by(Delivery.created_at, Delivery.id)
        )
        found: dict[uuid.UUID, list[Delivery]] = {}
        for run_id, delivery in await self.session.execute(query):
            if run_id is not None:
                found.setdefault(run_id, []).append(delivery)
        return found

    async def _children(self, run_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, dict[str, StepResult]]:
        """The steps of failed requests, from their child runs: what each agent did before the request failed."""
        if not run_ids:
            return {}
        query = select(Run).where(Run.parent_id.in_(run_ids), Run.step.is_not(None))
        found: dict[uuid.UUID, dict[str, StepResult]] = {}
        for child in await self.session.scalars(query):
            assert child.parent_id is not None
            assert child.step is not None
            found.setdefault(child.parent_id, {})[child.step] = StepResult(
                name=child.step,
                agent=child.agent,
                run_id=child.id,
                status=child.status,
                output=child.output,
                error=child.error,
                usage=child.usage or {},
                started_at=child.started_at,
                finished_at=child.finished_at,
            )
        return found


FAILED_STATUSES = frozenset({RunStatus.FAILED, RunStatus.CANCELLED, RunStatus.TIMED_OUT})


def _partial(steps: dict[str, StepResult]) -> dict[str, Any]:
    """A failed request's agent_results, from the steps its child runs reached."""
    return {
        "agent_results": [
            agent_result(name, steps.get(name), steps[name].output if name in steps else None) for name, _ in STEPS
        ]
    }
