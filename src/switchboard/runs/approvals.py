"""The approval queue: tool calls waiting for a person, across runs. Members see their own; admins see
everyone's and may decide them (POST /v1/runs/{id}/approvals), which is recorded with who decided."""

from __future__ import annotations

from fastapi import APIRouter

from switchboard.auth.dependencies import PrincipalDep
from switchboard.kit.errors import API_ERRORS
from switchboard.kit.pagination import CursorParam, LimitParam, Page
from switchboard.runs.dependencies import RunServiceDep
from switchboard.runs.schemas import ApprovalRequest

router = APIRouter(prefix="/v1/approvals", tags=["runs"], responses=API_ERRORS)


@router.get("", summary="Tool calls waiting for approval, oldest first")
async def approval_queue(
    user: PrincipalDep, service: RunServiceDep, limit: LimitParam = 20, cursor: CursorParam = None
) -> Page[ApprovalRequest]:
    """Your runs' pending tool calls; for an admin, every user's. Decide each with
    `POST /v1/runs/{run_id}/approvals {"tool_call_id", "approve", "reason"?}`."""
    pending, next_cursor = await service.approval_queue(user, limit, cursor)
    items = [
        ApprovalRequest(
            run_id=run.id,
            thread_id=run.thread_id,
            agent=run.agent,
            user_id=run.user_id,
            tool_call_id=step.tool_call_id or "",
            tool_name=step.tool_name or "",
            args=step.args,
            requested_at=step.started_at,
            decide=f"POST /v1/runs/{run.id}/approvals",
        )
        for step, run in pending
    ]
    return Page[ApprovalRequest](items=items, next_cursor=next_cursor)
