"""Engine level, pure (no database): `engine.outcome`, which maps how an agent stopped to the run's final status,
output and error: a cancel, the run's own deadline, a usage limit, a model's failure, or anything else (a crash).
Secrets are redacted from the messages of the last two."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from pydantic_ai.exceptions import (
    AgentRunError,
    ModelConnectionError,
    ModelHTTPError,
    UnexpectedModelBehavior,
    UsageLimitExceeded,
    UserError,
)

from switchboard.engine.outcome import (
    IncompleteModelResponse,
    Outcome,
    RunCancelled,
    cancelled,
    describe_model_error,
    failure,
    succeeded,
    transient,
)
from switchboard.models.runs import FINAL, RunStatus

SECRET = "sk-live-0123456789"


def redact(message: str) -> str:
    return message.replace(SECRET, "[REDACTED]")


def fail(exc: Exception, *, partial_text: str = "", deadline_expired: bool = False) -> Outcome:
    return failure(
        exc,
        partial_text=partial_text,
        deadline_expired=deadline_expired,
        timeout_seconds=2.5,
        model_name="openai:gpt-test",
        redact=redact,
    )


# --- succeeded and cancelled ---


@pytest.mark.parametrize("output", ["Hello", {"answer": 42}, None])
def test_succeeded_keeps_the_output_with_no_error(output: Any) -> None:
    assert succeeded(output) == Outcome(RunStatus.SUCCEEDED, output, None)


def test_cancelled_keeps_the_text_produced_so_far() -> None:
    assert cancelled("Hel") == Outcome(RunStatus.CANCELLED, "Hel", None)


def test_cancelled_with_no_text_has_no_output() -> None:
    assert cancelled("") == Outcome(RunStatus.CANCELLED, None, None)


# --- failure, by the kind of exception ---


@pytest.mark.parametrize("deadline_expired", [False, True])
def test_run_cancelled_is_a_cancel_not_a_failure(deadline_expired: bool) -> None:
    outcome = fail(RunCancelled(), partial_text="Hel", deadline_expired=deadline_expired)

    assert outcome == Outcome(RunStatus.CANCELLED, "Hel", None)
    assert outcome.error_type is None


def test_a_timeout_when_the_run_deadline_expired_is_timed_out_with_the_partial_text() -> None:
    outcome = fail(TimeoutError(), partial_text="Hel", deadline_expired=True)

    assert outcome == Outcome(
        RunStatus.TIMED_OUT, "Hel", {"type": "timed_out", "message": "The run exceeded its wall-clock limit of 2.5 s."}
    )
    assert outcome.error_type == "timed_out"


def test_a_timed_out_run_with_no_text_has_no_output() -> None:
    assert fail(TimeoutError(), deadline_expired=True).output is None


def test_a_timeout_that_is_not_the_run_deadline_is_an_internal_error() -> None:
    outcome = fail(TimeoutError(f"connect to {SECRET}"), partial_text="Hel", deadline_expired=False)

    assert outcome == Outcome(
        RunStatus.FAILED,
        None,
        {"type": "internal_error", "message": "The run failed: TimeoutError('connect to [REDACTED]')"},
    )


def test_a_usage_limit_is_a_failure_of_its_own_kind_not_a_model_error() -> None:
    exc = UsageLimitExceeded("The next request would exceed the request_limit of 3")

    outcome = fail(exc, partial_text="Hel")

    assert isinstance(exc, AgentRunError)  # which is why the order of the checks matters
    assert outcome == Outcome(RunStatus.FAILED, None, {"type": "usage_limit_exceeded", "message": str(exc)})
    assert str(exc).startswith("The next request would exceed the request_limit of 3")


@pytest.mark.parametrize(
    ("exc", "described"),
    [
        (AgentRunError(f"bad key {SECRET}"), "bad key [REDACTED]"),
        (UserError(f"misconfigured {SECRET}"), "misconfigured [REDACTED]"),
        (UnexpectedModelBehavior(f"garbled {SECRET}"), "garbled [REDACTED]"),
        (ModelHTTPError(401, "gpt-test", {"key": SECRET}), "the provider answered HTTP 401 (Unauthorized)"),
    ],
    ids=["agent_run_error", "user_error", "unexpected_model_behavior", "model_http_error"],
)
def test_a_model_failure_is_a_model_error_naming_the_model_with_secrets_redacted(
    exc: Exception, described: str
) -> None:
    outcome = fail(exc, partial_text="Hel")

    assert outcome == Outcome(
        RunStatus.FAILED, None, {"type": "model_error", "message": f"The model 'openai:gpt-test' failed: {described}."}
    )


@pytest.mark.parametrize("deadline_expired", [False, True])
def test_any_other_exception_is_an_internal_error_with_its_type_and_secrets_redacted(deadline_expired: bool) -> None:
    outcome = fail(ValueError(f"token={SECRET}"), partial_text="Hel", deadline_expired=deadline_expired)

    assert outcome == Outcome(
        RunStatus.FAILED, None, {"type": "internal_error", "message": "The run failed: ValueError: token=[REDACTED]"}
    )
    assert outcome.error_type == "internal_error"


@pytest.mark.parametrize(
    "exc",
    [RunCancelled(), TimeoutError(), UsageLimitExceeded("x"), AgentRunError("x"), UserError("x"), KeyError("x")],
    ids=lambda exc: type(exc).__name__,
)
@pytest.mark.parametrize("deadline_expired", [False, True])
def test_every_failure_ends_in_a_final_status(exc: Exception, deadline_expired: bool) -> None:
    assert fail(exc, deadline_expired=deadline_expired).status in FINAL


def _chained(*exceptions: BaseException) -> BaseException:
    """The first exception, raised from the second, raised from the third…"""
    for outer, inner in itertools.pairwise(exceptions):
        outer.__cause__ = inner
    return exceptions[0]


def test_a_dropped_connection_says_what_the_transport_saw_not_just_connection_error() -> None:
    dropped = _chained(
        ModelConnectionError("gpt-test", "Connection error."),
        ConnectionError("Connection error."),
        OSError("peer closed connection without sending complete message body (incomplete chunked read)"),
    )
    assert isinstance(dropped, Exception)

    assert describe_model_error(dropped) == (
        "the connection to the provider failed: peer closed connection without sending complete message body "
        "(incomplete chunked read)"
    )


@pytest.mark.parametrize(
    ("exc", "described"),
    [
        (ModelHTTPError(599, "gpt-test", "odd"), "the provider answered HTTP 599 (an unknown status)"),
        (UnexpectedModelBehavior("garbled reply", body=f"echo {SECRET}"), "garbled reply"),
        (IncompleteModelResponse(), "the response ended before the model finished it (no finish reason)"),
    ],
    ids=["unknown_status", "body_left_out", "incomplete"],
)
def test_provider_errors_read_as_sentences_without_the_providers_body(exc: Exception, described: str) -> None:
    assert describe_model_error(exc) == described


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (ModelConnectionError("gpt-test", "Connection error."), True),
        (IncompleteModelResponse(), True),
        (ModelHTTPError(429, "gpt-test"), True),
        (ModelHTTPError(503, "gpt-test"), True),
        (ModelHTTPError(500, "gpt-test"), True),
        (ModelHTTPError(401, "gpt-test"), False),
        (ModelHTTPError(400, "gpt-test"), False),
        (UsageLimitExceeded("too many requests"), False),
        (ValueError("a bug"), False),
    ],
)
def test_only_failures_that_a_second_try_may_cure_are_transient(exc: Exception, expected: bool) -> None:
    assert transient(exc) is expected
