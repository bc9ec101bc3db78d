"""Seed 003's request and response shapes, as its clients send and read them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from switchboard.kit.pagination import Page
from switchboard.text_analysis.outputs import MAX_TEXT_CHARS, MIN_TEXT_CHARS
from switchboard.text_analysis.pipelines import Mode

RequestStatus = Literal["pending", "processing", "completed", "failed"]
STATUS_DOC = (
    "`pending` (queued), `processing` (its agents are running), `completed`, or `failed` (failed, cancelled or "
    "timed out; `error` says why)."
)
CALLBACK_KEY_DOC = (
    "Signs the callback: `X-Webhook-Signature` is the hex HMAC-SHA256 of the exact body bytes keyed with this "
    "secret (UTF-8), and the Standard Webhooks headers are signed with it too. Any length from 1 to 200 characters "
    "is taken, as the orchestrator API always took; 16 or more is wise."
)


class ProcessRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(
        min_length=MIN_TEXT_CHARS,
        max_length=MAX_TEXT_CHARS,
        examples=["Apple Inc. reported record profits on Monday. CEO Tim Cook said he was very happy."],
        description="The text to analyse, 10 to 10,000 characters.",
    )
    orchestration_mode: Mode = Field(
        default="sequential",
        description="`sequential`: the three agents one after another; `parallel`: all three at once.",
    )
    webhook_url: str | None = Field(
        default=None,
        max_length=2048,
        pattern=r"^https?://",
        description="Where to POST the result when done (retried on failure; every attempt is logged).",
    )
    webhook_secret: str | None = Field(default=None, min_length=1, max_length=200, description=CALLBACK_KEY_DOC)


class ProcessAccepted(BaseModel):
    request_id: uuid.UUID = Field(description="The pipeline run's id: GET /api/v1/results/{request_id}.")
    status: RequestStatus
    orchestration_mode: Mode
    message: str
    created_at: datetime


class SentimentResult(BaseModel):
    sentiment: str | None = Field(description="positive, negative, neutral or mixed (null if the agent failed).")
    confidence: float | None


class EntitiesResult(BaseModel):
    persons: list[str]
    organizations: list[str]
    locations: list[str]
    dates: list[str]


class AgentResult(BaseModel):
    model_config = ConfigDict(extra="allow")  # error_message, when it failed

    agent_name: str = Field(description="summarizer, sentiment or entity_extractor.")
    result_data: dict[str, Any]
    execution_time: float | None = Field(description="Seconds its run took.")
    status: Literal["success", "error"]


class ProcessingResult(BaseModel):
    """A request as the orchestrator API shows it; the analysis fields are filled once it completed (and, for a failed
    request, with what its agents produced)."""

    request_id: uuid.UUID
    status: RequestStatus = Field(description=STATUS_DOC)
    orchestration_mode: Mode
    summary: str | None = None
    sentiment: SentimentResult | None = None
    entities: EntitiesResult | None = None
    agent_results: list[AgentResult] = Field(default_factory=list)
    total_execution_time: float | None = Field(
        default=None, description="Seconds from the first agent's start to the last one's end."
    )
    error: str | None = Field(default=None, description="Why it failed, when it did.")
    webhook_status: str | None = Field(
        default=None,
        description="The callback's delivery: `pending`, `failed` (will be retried), `succeeded` or `dead` (no more "
        "retries); null without a webhook_url.",
    )
    webhook_attempts: int = Field(default=0, description="How many times the callback was attempted.")
    created_at: datetime
    completed_at: datetime | None = None


class ResultPage(Page[ProcessingResult]):
    pass


class WebhookAttemptLog(BaseModel):
    delivery_id: uuid.UUID
    url: str | None
    attempt: int
    status_code: int | None
    success: bool
    error: str | None
    response_body: str | None = Field(description="The first 1 KiB of the answer.")
    duration_ms: float
    attempted_at: datetime


class WebhookLogs(BaseModel):
    request_id: uuid.UUID
    webhook_status: str | None
    logs: list[WebhookAttemptLog] = Field(description="Every attempt at the callback, oldest first.")


class WebhookRetried(BaseModel):
    request_id: uuid.UUID
    retried: list[uuid.UUID] = Field(description="The callback deliveries put back in the queue, to be sent now.")
    message: str


class HealthStatus(BaseModel):
    status: Literal["healthy"]
    database: Literal["ok"]
    model: str = Field(description="The configured model; not called per probe. `offline` is rules, not an LLM.")
    timestamp: datetime


class ReceiveAccepted(BaseModel):
    request_id: uuid.UUID | None = Field(description="The pipeline run started (for a repeat: the first one's).")
    status: RequestStatus
    duplicate: bool = Field(description="True when this exact signed body was received before: no new run.")
