"""Threads: ownership and history. Another user's thread is simply not found."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic_ai.messages import ModelMessage, ModelRequest, TextPart, UserPromptPart
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.auth.principal import Principal
from switchboard.kit.errors import Conflict, NotFound, PayloadTooLarge, ValidationFailed
from switchboard.kit.schemas import json_bytes
from switchboard.models import Thread, ThreadMessage
from switchboard.threads.context import user_text
from switchboard.threads.repository import MessageRepository, ThreadRepository


def text_of(message: ModelMessage) -> str | None:
    """What a person reads of a message: the user's prompt (their own words, not the context block the turn
    carried), or the reply's text."""
    if isinstance(message, ModelRequest):
        said = [user_text(p.content) for p in message.parts if isinstance(p, UserPromptPart)]
        prompts = [text for text in said if text is not None]
        return "\n".join(prompts) if prompts else None
    texts = [p.content for p in message.parts if isinstance(p, TextPart)]
    return "".join(texts) if texts else None


def check_context_size(context: dict[str, Any] | None, max_bytes: int, *, field: str = "context") -> None:
    """A context over SWITCHBOARD_THREAD_CONTEXT_MAX_BYTES (as compact JSON) is a 413 naming `field`: it is sent to
    the model on every turn."""
    if context is None:
        return
    size = json_bytes(context)
    if size > max_bytes:
        why = f"is {size} bytes as JSON; the limit is {max_bytes} (SWITCHBOARD_THREAD_CONTEXT_MAX_BYTES)"
        raise PayloadTooLarge(f"{field}: the context {why}.", details=[{"field": field, "message": why}])


class ThreadService:
    def __init__(self, session: AsyncSession) -> None:
        self.threads = ThreadRepository(session)
        self.messages = MessageRepository(session)

    async def create(
        self,
        user: Principal,
        agent: str,
        *,
        title: str | None = None,
        metadata: dict[str, object] | None = None,
        external_key: str | None = None,
        context: dict[str, Any] | None = None,
    ) -> Thread:
        thread = Thread(
            id=uuid.uuid4(),
            user_id=user.user_id,
            agent=agent,
            title=title,
            metadata_=dict(metadata or {}),
            external_key=external_key,
            context=context,
        )
        return await self.threads.add(thread)

    async def set_context(self, thread: Thread, context: dict[str, Any] | None) -> Thread:
        """Replace the thread's application context whole (None clears it). The next turn to execute sees it,
        including one queued before the change."""
        thread.context = context
        return await self.threads.save(thread)

    async def create_for_run(self, user: Principal, agent: str) -> Thread:
        """A new thread for the run being created, its first turn counted: inserted, not read back (the run
        needs its id and turn only, not the columns the database fills in)."""
        thread = Thread(id=uuid.uuid4(), user_id=user.user_id, agent=agent, metadata_={}, turns=1)
        await self.threads.insert(thread)
        return thread

    async def get(self, user: Principal, thread_id: uuid.UUID, *, for_update: bool = False) -> Thread:
        thread = await self.threads.owned(user.user_id, thread_id, for_update=for_update)
        if thread is None:
            raise NotFound(f"Thread {thread_id} not found.")
        return thread

    async def of_agent(
        self, user: Principal, thread_id: uuid.UUID, agent: str, *, field: str, for_update: bool = False
    ) -> Thread:
        """The caller's thread `thread_id`, which must be `agent`'s, for something that will run on it (a run, a
        schedule, a trigger): none of theirs is a 404, another agent's a 422, each naming the request's `field`."""
        thread = await self.threads.owned(user.user_id, thread_id, for_update=for_update)
        if thread is None:
            raise NotFound(
                f"Thread {thread_id} not found.", details=[{"field": field, "message": "no such thread of yours"}]
            )
        if thread.agent != agent:
            raise ValidationFailed(
                f"{field}: thread {thread_id} belongs to agent {thread.agent!r}, not {agent!r}",
                details=[{"field": field, "message": "belongs to another agent"}],
            )
        return thread

    async def keyed_for_update(self, user: Principal, agent: str, key: str) -> Thread:
        """The caller's thread with this key, created on first use, locked for this unit of work."""
        return await self.threads.keyed_for_update(user.user_id, agent, key)

    async def page(
        self, user: Principal, limit: int, cursor: str | None, agent: str | None = None
    ) -> tuple[list[Thread], str | None]:
        return await self.threads.page(user.user_id, limit, cursor, agent)

    async def delete(self, user: Principal, thread_id: uuid.UUID) -> None:
        thread = await self.get(user, thread_id)
        if thread.parent_run_id is not None:  # deleting it would delete a run its parent waits for
            raise Conflict(
                f"Thread {thread_id} is a child run's, part of run {thread.parent_run_id}: delete that run's thread "
                "instead, which deletes its child runs with it."
            )
        await self.threads.delete(thread)

    async def message_page(
        self, user: Principal, thread_id: uuid.UUID, limit: int, cursor: str | None
    ) -> tuple[list[ThreadMessage], str | None]:
        thread = await self.get(user, thread_id)
        return await self.messages.page(thread.id, limit, cursor)

    async def latest_messages(
        self, user: Principal, thread_id: uuid.UUID, limit: int
    ) -> tuple[Thread, list[ThreadMessage], bool]:
        """The caller's thread (another user's is not found), its last `limit` messages oldest first, and whether
        earlier ones were left out (the console's chat page shows a thread's recent history)."""
        thread = await self.get(user, thread_id)
        messages, more = await self.messages.latest(thread.id, limit)
        return thread, messages, more

    async def first_prompts(self, threads: list[Thread]) -> dict[uuid.UUID, str]:
        """The first thing the user said on each of these threads (they must be the caller's, e.g. from `page`)."""
        return await self.messages.first_prompts([thread.id for thread in threads])
