from __future__ import annotations

import uuid

from fastapi import APIRouter, Query, Request, Response

from switchboard.auth.dependencies import PrincipalDep, SessionDep
from switchboard.kit.errors import API_ERRORS, ErrorResponse
from switchboard.kit.pagination import CursorParam, LimitParam
from switchboard.state import app_state
from switchboard.threads.schemas import MessageOut, MessagePage, ThreadCreate, ThreadOut, ThreadPage, ThreadPatch
from switchboard.threads.service import ThreadService, check_context_size

router = APIRouter(prefix="/v1/threads", tags=["threads"], responses={**API_ERRORS, 404: {"model": ErrorResponse}})


@router.post("", status_code=201, summary="Create a thread", responses={413: {"model": ErrorResponse}})
async def create_thread(body: ThreadCreate, request: Request, user: PrincipalDep, session: SessionDep) -> ThreadOut:
    state = app_state(request)
    state.agents.require_runnable(body.agent)
    check_context_size(body.context, state.settings.thread_context_max_bytes)
    thread = await ThreadService(session).create(
        user, body.agent, title=body.title, metadata=body.metadata, context=body.context
    )
    return ThreadOut.model_validate(thread)


@router.get("", summary="List your threads, most recently active first")
async def list_threads(
    user: PrincipalDep,
    session: SessionDep,
    limit: LimitParam = 20,
    cursor: CursorParam = None,
    agent: str | None = Query(default=None, max_length=100, description="Only threads of this agent."),
) -> ThreadPage:
    threads, next_cursor = await ThreadService(session).page(user, limit, cursor, agent)
    return ThreadPage(items=[ThreadOut.model_validate(t) for t in threads], next_cursor=next_cursor)


@router.get("/{thread_id}", summary="Get one of your threads")
async def get_thread(thread_id: uuid.UUID, user: PrincipalDep, session: SessionDep) -> ThreadOut:
    return ThreadOut.model_validate(await ThreadService(session).get(user, thread_id))


@router.patch(
    "/{thread_id}",
    summary="Change a thread: set, replace or clear its application context",
    responses={413: {"model": ErrorResponse}},
)
async def update_thread(
    thread_id: uuid.UUID, body: ThreadPatch, request: Request, user: PrincipalDep, session: SessionDep
) -> ThreadOut:
    """Only the fields given change. `context` replaces the thread's application context whole (null clears it);
    the next turn to execute on the thread sees it, one already queued included."""
    service = ThreadService(session)
    thread = await service.get(user, thread_id, for_update=True)
    if "context" in body.model_fields_set:
        check_context_size(body.context, app_state(request).settings.thread_context_max_bytes)
        thread = await service.set_context(thread, body.context)
    return ThreadOut.model_validate(thread)


@router.get("/{thread_id}/messages", summary="A thread's messages, oldest first")
async def list_messages(
    thread_id: uuid.UUID,
    user: PrincipalDep,
    session: SessionDep,
    limit: LimitParam = 100,
    cursor: CursorParam = None,
) -> MessagePage:
    rows, next_cursor = await ThreadService(session).message_page(user, thread_id, limit, cursor)
    return MessagePage(items=[MessageOut.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.delete("/{thread_id}", status_code=204, summary="Delete a thread and its messages")
async def delete_thread(thread_id: uuid.UUID, user: PrincipalDep, session: SessionDep) -> Response:
    await ThreadService(session).delete(user, thread_id)
    return Response(status_code=204)
