"""How a run ends when its agent stops: the status, output and error written for it. Pure functions, so every
case is tested without running an agent."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from http import HTTPStatus
from typing import Any

from pydantic_ai.exceptions import (
    AgentRunError,
    ModelConnectionError,
    ModelHTTPError,
    ModelRateLimitError,
    ModelServerError,
    ModelUnavailableError,
    UsageLimitExceeded,
    UserError,
)
from structlog.typing import FilteringBoundLogger

from switchboard.models.runs import RunStatus
from switchboard.observability.metrics import BUDGET_REJECTIONS


class RunCancelled(Exception):  # a control-flow signal, not an error
    """Raised between steps when a cancel was requested."""


class RunStopped(Exception):
    """Raised by a gate between model requests (`engine.gates`: tokens per minute, a cost budget) to end the run
    as failed with `error_type` (`rate_limited`, `budget_exceeded`) and `message`; what it wrote so far is kept.
    `retry_at`: when a new run would be admitted (a refilled bucket, a budget's reset), for the error and the
    `Retry-After` of a request that waited for the run."""

    def __init__(self, error_type: str, message: str, retry_at: datetime | None = None) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.retry_at = retry_at


class IncompleteModelResponse(AgentRunError):
    """A streamed response that ended without a finish reason: cut short, not finished (OpenAI's protocol ends
    every complete choice with one)."""

    def __init__(self) -> None:
        super().__init__("the response ended before the model finished it (no finish reason)")


# Failures that making the same request again may cure. An HTTP 429 or 5xx reaches us only once the SDK has
# spent its own retries; a stream that broke or stopped after its 200 the SDK cannot retry at all.
TRANSIENT = (
    ModelConnectionError,
    ModelRateLimitError,
    ModelUnavailableError,
    ModelServerError,
    IncompleteModelResponse,
)


def transient(exc: BaseException) -> bool:
    if isinstance(exc, ModelHTTPError):  # by status too: not every adapter raises the categorised classes
        return exc.status_code in (408, 429) or exc.status_code >= 500
    return isinstance(exc, TRANSIENT)


def describe_model_error(exc: Exception) -> str:
    """A failed model request, as a member is told it: the HTTP status and its generic reason, or the transport's
    own reason. Never the provider's error body: it may quote the request, or the API key in any encoding (the
    body goes to the log, redacted)."""
    if isinstance(exc, ModelHTTPError):
        try:
            phrase = HTTPStatus(exc.status_code).phrase
        except ValueError:
            phrase = "an unknown status"
        return f"the provider answered HTTP {exc.status_code} ({phrase})"
    if isinstance(exc, ModelConnectionError):
        return f"the connection to the provider failed: {_root_cause(exc)}"
    if isinstance(exc, AgentRunError):
        return exc.message  # without the body `UnexpectedModelBehavior` adds to its str()
    return str(exc)


def provider_detail(exc: Exception) -> str:
    """The provider's error as it said it (its body included): for the log only, where it is redacted."""
    body = getattr(exc, "body", None)
    detail = f"{type(exc).__name__}: {exc}"
    return detail if body is None or str(body) in detail else f"{detail} body={body!r}"


def _root_cause(exc: BaseException) -> str:
    """The innermost reason in the chain (the SDK says "Connection error."; h11 says what happened)."""
    reason = str(exc) or type(exc).__name__
    seen: set[int] = set()
    cause = exc.__cause__ or exc.__context__
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        reason = str(cause) or type(cause).__name__
        cause = cause.__cause__ or cause.__context__
    return reason


@dataclass(frozen=True)
class Outcome:
    status: RunStatus
    output: Any = None
    error: dict[str, str] | None = None  # {"type", "message"}, as RunOut shows it

    @property
    def error_type(self) -> str | None:
        return self.error["type"] if self.error else None


def succeeded(output: Any) -> Outcome:
    return Outcome(RunStatus.SUCCEEDED, output)


def cancelled(partial_text: str) -> Outcome:
    """Cancelled runs keep the text they had produced."""
    return Outcome(RunStatus.CANCELLED, partial_text or None)


def failure(
    exc: Exception,
    *,
    partial_text: str,
    deadline_expired: bool,
    timeout_seconds: float | None,
    model_name: str,
    redact: Callable[[str], str],
) -> Outcome:
    """The outcome of a run whose agent raised `exc`. `deadline_expired`: the run's own wall-clock limit fired
    (a `TimeoutError` otherwise is a tool's or a library's, and a crash). Secrets are redacted from messages."""
    if isinstance(exc, RunCancelled):
        return cancelled(partial_text)
    if isinstance(exc, TimeoutError) and deadline_expired:
        message = f"The run exceeded its wall-clock limit of {timeout_seconds} s."
        return Outcome(RunStatus.TIMED_OUT, partial_text or None, {"type": "timed_out", "message": message})
    if isinstance(exc, RunStopped):
        stopped = {"type": exc.error_type, "message": exc.message}
        if exc.retry_at is not None:
            stopped["retry_at"] = exc.retry_at.isoformat()
        return Outcome(RunStatus.FAILED, partial_text or None, stopped)
    if isinstance(exc, UsageLimitExceeded) and "cost_limit" in str(exc):  # the run's own limits.max_cost_usd
        BUDGET_REJECTIONS.labels("run", "mid_run").inc()
        message = f"Budget exceeded: the run passed its max_cost_usd ({exc})."
        return Outcome(RunStatus.FAILED, partial_text or None, {"type": "budget_exceeded", "message": message})
    if isinstance(exc, UsageLimitExceeded):
        return Outcome(RunStatus.FAILED, None, {"type": "usage_limit_exceeded", "message": str(exc)})
    if isinstance(exc, AgentRunError | UserError):
        message = f"The model {model_name!r} failed: {redact(describe_model_error(exc))}."
        return Outcome(RunStatus.FAILED, None, {"type": "model_error", "message": message})
    described = repr(exc) if isinstance(exc, TimeoutError) else f"{type(exc).__name__}: {exc}"
    return Outcome(
        RunStatus.FAILED, None, {"type": "internal_error", "message": f"The run failed: {redact(described)}"}
    )


def log_failure(bound: FilteringBoundLogger, outcome: Outcome, model_name: str, exc: Exception) -> None:
    """Called while the exception is handled: `exception` logs its traceback. A model's failure is logged with
    the provider's own words (the member sees only the status; the log's renderer redacts secrets)."""
    if outcome.error_type == "internal_error":
        bound.exception("run.crashed")
    elif outcome.error_type == "model_error":
        message = (outcome.error or {}).get("message")
        bound.warning("run.model_failed", model=model_name, error=message, detail=provider_detail(exc))
