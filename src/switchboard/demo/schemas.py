"""The demo shop's request and response shapes: its orders as the tools and `GET /demo/orders` show them, and
the support chat route's."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, Field

from switchboard.kit.schemas import ExactNumber, RowId
from switchboard.models.runs import RunStatus
from switchboard.runs.schemas import PendingApproval


class OrderLine(BaseModel):
    product: str
    quantity: int
    unit_price_cents: int


class OrderView(BaseModel):
    id: int
    status: str
    product: str | None  # the first item's product, as seed 000 shows it
    items: list[OrderLine]
    total_cents: int
    placed_at: datetime


class CancelOutcome(StrEnum):
    CANCELLED = "cancelled"
    ALREADY_CANCELLED = "already_cancelled"
    NOT_CANCELLABLE = "not_cancellable"
    NOT_FOUND = "not_found"


class RefundOutcome(StrEnum):
    REFUNDED = "refunded"
    ALREADY_REFUNDED = "already_refunded"
    NOT_REFUNDABLE = "not_refundable"
    NOT_FOUND = "not_found"


class RefundResult(BaseModel):
    order_id: int
    outcome: RefundOutcome
    status: str | None
    message: str


class CancelResult(BaseModel):
    order_id: int
    outcome: CancelOutcome
    status: str | None  # the order's status after the attempt; None when not found
    message: str


class LegacyChatRequest(BaseModel):
    prompt: str = Field(min_length=1, examples=["Show me all my orders"])
    user_id: Annotated[RowId, ExactNumber] | None = Field(
        default=None, description="Optional. Must be your own id unless you are an admin acting for that user."
    )


class LegacyChatResponse(BaseModel):
    response: str
    request_id: str | None
    model: str = Field(description="The model that answered (`offline` is rules, not an LLM).")
    run_id: uuid.UUID = Field(description="The run that answered (GET /v1/runs/{run_id}).")
    status: RunStatus = Field(
        description="`succeeded`, or `requires_action` when a tool call waits for approval: then "
        "`response` says which, and `pending_approvals` lists them; decide each with POST "
        "/v1/runs/{run_id}/approvals. Until then, a new message on this route gets 409."
    )
    pending_approvals: list[PendingApproval] = Field(default_factory=list)
