"""The tool door: a registered tool called directly, as the caller, without a model (`GET /v1/tools`,
`POST /v1/tools/{name}`)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from switchboard.auth.dependencies import PrincipalDep
from switchboard.kit.errors import API_ERRORS, ErrorResponse
from switchboard.kit.request_context import current_request_id
from switchboard.state import app_state
from switchboard.tools.schemas import ToolCall, ToolOut, ToolResult
from switchboard.tools.service import call_tool, listed

router = APIRouter(prefix="/v1/tools", tags=["tools"], responses=API_ERRORS)


@router.get("", summary="The tools you may call directly")
async def list_tools(request: Request, user: PrincipalDep) -> list[ToolOut]:
    """Every agent's tool this key's user may call through `POST /v1/tools/{name}`, with the JSON schema of its
    arguments and its time limit. Empty for a key without the `tools:call` scope. Tools that need a person's
    approval are listed (`requires_approval: true`) but run only inside a run."""
    return listed(app_state(request).agents, user)


@router.post(
    "/{name}",
    summary="Call one tool directly",
    responses={
        400: {"model": ErrorResponse, "description": "`bad_request`: the tool refused its arguments (ValueError)."},
        403: {
            "model": ErrorResponse,
            "description": "`permission_denied`: the key lacks the `tools:call` scope, or the tool is for other "
            "roles (e.g. admins).",
        },
        404: {"model": ErrorResponse, "description": "`not_found`: no tool of that name may be called directly."},
        409: {
            "model": ErrorResponse,
            "description": "`conflict`: the tool needs a person's approval for each call; run its agent instead.",
        },
        422: {
            "model": ErrorResponse,
            "description": "`validation_error`: `args` do not fit the tool's schema (`details` names each "
            "`args.<field>`), or the tool asked for different arguments.",
        },
        502: {"model": ErrorResponse, "description": "`tool_error`: the tool failed; the server log says why."},
        504: {
            "model": ErrorResponse,
            "description": "`tool_timeout`: the tool ran past its time limit; its changes were rolled back.",
        },
    },
)
async def call(name: str, body: ToolCall, request: Request, user: PrincipalDep) -> ToolResult:
    """Run the tool `name` (as `GET /v1/tools` names it, or `<agent>.<tool>`) with `args`, as you: it acts only
    for this key's user, exactly as when a model calls it in your run, and its database changes are committed
    only when it succeeds within its time limit. Needs the `tools:call` scope."""
    state = app_state(request)
    return await call_tool(state.db, state.agents, user, name, body.args, current_request_id())
