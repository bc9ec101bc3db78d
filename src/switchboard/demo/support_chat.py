"""The support chat route the demo shop had (seed 000): `POST /api/v1/chat {prompt, user_id?}` →
`{response, request_id}`, a chat turn with the `support` agent.

Unlike the original, identity comes from the API key: `user_id` may only name the caller, unless the caller
is an admin, who then acts for that user (recorded on the turn). Successive calls continue one thread per
user, so "Yes, please cancel it" refers to what was said before."""

from __future__ import annotations

import structlog
from fastapi import APIRouter, Request

from switchboard.auth.dependencies import SessionDep
from switchboard.auth.principal import Principal, principal_of
from switchboard.chat.endpoints import TURN_ERRORS
from switchboard.chat.service import chat_turn
from switchboard.demo.agent import AGENT_NAME
from switchboard.demo.schemas import LegacyChatRequest, LegacyChatResponse
from switchboard.kit.errors import API_ERRORS, PermissionDenied
from switchboard.kit.request_context import current_request_id
from switchboard.limits.guard import RunCreatorDep
from switchboard.runs.waiting import interruptions
from switchboard.state import app_state
from switchboard.users.service import UserService

log = structlog.get_logger(__name__)

router = APIRouter(prefix="/api/v1", tags=["demo shop"], responses=API_ERRORS)

THREAD_KEY = "compat:api-v1-chat"  # the thread each user's calls continue (the value is stored: keep it)


@router.post(
    "/chat",
    summary="Chat with the support demo's agent (one thread per user)",
    responses={
        **TURN_ERRORS,
        403: {"description": "`permission_denied`: `user_id` is not you, and you are not an admin."},
        404: {"description": "`not_found`: (admins) no user `user_id`."},
    },
)
async def legacy_chat(
    body: LegacyChatRequest, request: Request, caller: RunCreatorDep, session: SessionDep
) -> LegacyChatResponse:
    actor = await _acting_principal(caller, body.user_id, UserService(session))
    state = app_state(request)
    async with interruptions(state, request) as interrupted:
        result = await chat_turn(
            state,
            actor,
            AGENT_NAME,
            body.prompt,
            thread_key=THREAD_KEY,
            request_id=current_request_id(),
            interrupted=interrupted,
        )
    return LegacyChatResponse(
        response=result.reply,
        request_id=result.request_id,
        model=result.model,
        run_id=result.run_id,
        status=result.status,
        pending_approvals=result.pending_approvals,
    )


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
    return principal_of(target, acted_by_user_id=caller.user_id)
