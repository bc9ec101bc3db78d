"""The insurance agents' structured outputs, and how offline rules hand one to Pydantic AI.

The offline rules answer by calling the agent's output tool with the model's JSON, exactly as an LLM would, so
the output goes through Pydantic AI's own validation rather than being built behind its back."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, Field
from pydantic_ai.messages import ModelResponse, TextPart, ToolCallPart
from pydantic_ai.models.function import AgentInfo

from switchboard.agents.spec import ConcurrencyLimit

Currency = Literal["USD", "EUR", "GBP"]

SEED004_RUNNER = ConcurrencyLimit(max_runs=1, on_busy="reject", group="seed004-runner")
"""Seed 004's rule: one agent run at a time across both agents; a request while one is queued or running is a
409, decided under a lock so that simultaneous requests get exactly one acceptance."""


class Amount(BaseModel):
    """A money amount. `currency` is None when the text gave no symbol or code."""

    value: Decimal = Field(description="The amount, e.g. 2500.00 for '$2,500.00'.")
    currency: Currency | None = Field(description="ISO code: $ is USD, € is EUR, £ is GBP; null when not given.")


class ExtractedDocument(BaseModel):
    """What the document-extractor found, each list in order of first appearance, without duplicates."""

    names: list[str] = Field(description="People's names, without titles (Mr, Dr, ...).")
    dates: list[date] = Field(description="Dates, as ISO yyyy-mm-dd.")
    amounts: list[Amount] = Field(description="Money amounts.")
    policy_numbers: list[str] = Field(description="Policy numbers, upper-case, e.g. POL-123456 or ABC12345.")
    claim_numbers: list[str] = Field(description="Claim numbers, upper-case, e.g. CLM-2025001.")
    emails: list[str] = Field(description="E-mail addresses, lower-case.")


class Check(BaseModel):
    """One policy rule applied to the claim. Rules that do not apply (e.g. no limit given) pass and say so."""

    rule: str = Field(description="The rule's identifier, e.g. 'within_coverage_limit'.")
    passed: bool
    detail: str = Field(description="Why it passed or failed, in one sentence.")


class PolicyDecision(BaseModel):
    """The policy-checker's verdict: approved exactly when every check passed."""

    decision: Literal["approved", "rejected"]
    reasons: list[str] = Field(description="The failed checks' details; one summary line when approved.")
    checks: list[Check] = Field(description="Every rule, in a fixed order, passed or not.")


def output_response(info: AgentInfo, output: BaseModel) -> ModelResponse:
    """Answer with a call to the agent's output tool carrying `output` as JSON arguments.

    Without an output tool (an output mode that reads text, e.g. a run-level override), the JSON is sent as
    text, which those modes parse and validate the same way."""
    if not info.output_tools:
        return ModelResponse(parts=[TextPart(output.model_dump_json())])
    return ModelResponse(parts=[ToolCallPart(info.output_tools[0].name, output.model_dump(mode="json"))])


# --- the runner API's requests and responses (seed 004's shapes) ---


class AgentRunRequest(BaseModel):
    # An enum in the schema only: another value is seed 004's 400, not a 422.
    agent_type: str = Field(
        examples=["document-extractor"],
        description="`document-extractor` or `policy-checker`.",
        json_schema_extra={"enum": ["document-extractor", "policy-checker"]},
    )
    user_id: str | None = Field(
        default=None,
        max_length=200,
        description="Kept as a client reference in the run's metadata (`client_user_id`); who runs the agent "
        "is decided by the API key.",
    )
    input: str | None = Field(
        default=None, description="The document (document-extractor) or the claim (policy-checker), as text."
    )


class AgentRunAccepted(BaseModel):
    run_id: uuid.UUID


RunnerState = Literal["PENDING", "RUNNING", "DONE", "ERROR"]


class AgentRunStatus(BaseModel):
    run_id: uuid.UUID
    state: RunnerState
    result: Any = Field(default=None, description="The agent's structured output once DONE.")
    error: str | None = None
