"""Seed 000's route, `POST /api/v1/chat {prompt, user_id?}` → `{response, request_id}`, on the chat service.

Unlike the original, identity comes from the API key: `user_id` may only name the caller, unless the caller
is an admin, who then acts for that user (recorded on the turn). Successive calls continue one thread per
user, so "Yes, please cancel it" refers to what was said before."""

from __future__ import annotations

import structlog
from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from switchboard.auth.dependencies import PrincipalDep, SessionDep
from switchboard.auth.principal import Principal
from switchboard.chat.service import chat_turn
from switchboard.kit.errors import API_ERRORS, ErrorResponse, PermissionDenied, ServiceUnavailable
from switchboard.kit.request_context import current_request_id
from switchboard.kit.state import app_state
from switchboard.users.service import UserService

log = structlog.get_logger(__name__)

router = APIRouter(prefix="/api/v1", tags=["compat: seed 000"], responses=API_ERRORS)

THREAD_KEY = "compat:api-v1-chat"


class LegacyChatRequest(BaseModel):
    prompt: str = Field(min_length=1, examples=["Show me all my orders"])
    user_id: int | None = Field(
        default=None, description="Optional. Must be your own id unless you are an admin acting for that user."
    )


class LegacyChatResponse(BaseModel):
    response: str
    request_id: str | None
    model: str = Field(
        description="Added to seed 000's shape: the model that answered (`offline` is rules, not an LLM)."
    )


@router.post(
    "/chat",
    summary="Seed 000's chat route (the support agent)",
    responses={403: {"model": ErrorResponse}, 413: {"model": ErrorResponse}, 502: {"model": ErrorResponse}},
)
async def legacy_chat(
    body: LegacyChatRequest, request: Request, caller: PrincipalDep, session: SessionDep
) -> LegacyChatResponse:
    state = app_state(request)
    agent_name = state.settings.compat_chat_agent
    if agent_name not in state.agents:
        raise ServiceUnavailable(f"agent {agent_name!r} is not installed (SWITCHBOARD_COMPAT_CHAT_AGENT)")
    actor = await _acting_principal(caller, body.user_id, UserService(session))
    await session.commit()  # the caller's lookups are done; the turn runs in its own unit of work
    result = await chat_turn(
        state, actor, agent_name, body.prompt, thread_key=THREAD_KEY, request_id=current_request_id()
    )
    return LegacyChatResponse(response=result.reply, request_id=result.request_id, model=result.model)


async def _acting_principal(caller: Principal, user_id: int | None, users: UserService) -> Principal:
    if user_id is None or user_id == caller.user_id:
        return caller
    if not caller.is_admin:
        raise PermissionDenied(
            f"user_id {user_id} is not you. Omit user_id (your API key already says who you are); "
            "only admins may act for other users."
        )
    target = await users.get(user_id)
    log.info("auth.acting_for", admin_user_id=caller.user_id, user_id=target.id)
    return Principal(
        user_id=target.id, email=target.email, name=target.name, role=target.role, acted_by_user_id=caller.user_id
    )
