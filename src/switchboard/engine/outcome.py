"""How a run ends when its agent stops: the status, output and error written for it. Pure functions, so every
case is tested without running an agent."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic_ai.exceptions import AgentRunError, UsageLimitExceeded, UserError

from switchboard.models.runs import RunStatus


class RunCancelled(Exception):  # a control-flow signal, not an error
    """Raised between steps when a cancel was requested."""


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
    if isinstance(exc, UsageLimitExceeded):
        return Outcome(RunStatus.FAILED, None, {"type": "usage_limit_exceeded", "message": str(exc)})
    if isinstance(exc, AgentRunError | UserError):
        message = f"The model {model_name!r} failed: {redact(str(exc))}"
        return Outcome(RunStatus.FAILED, None, {"type": "model_error", "message": message})
    described = repr(exc) if isinstance(exc, TimeoutError) else f"{type(exc).__name__}: {exc}"
    return Outcome(
        RunStatus.FAILED, None, {"type": "internal_error", "message": f"The run failed: {redact(described)}"}
    )
