"""Threads: ownership, history and the per-turn record. Another user's thread is simply not found."""

from __future__ import annotations

import uuid

from pydantic_ai.messages import (
    ModelMessage,
    ModelMessagesTypeAdapter,
    ModelRequest,
    ModelResponse,
    TextPart,
    UserPromptPart,
)
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.auth.principal import Principal
from switchboard.kit.errors import NotFound, ValidationFailed
from switchboard.kit.pagination import decode_cursor, decode_time_id_cursor, encode_cursor, encode_time_id_cursor
from switchboard.models import Thread, ThreadMessage
from switchboard.threads.repository import MessageRepository, ThreadRepository
from switchboard.threads.schemas import MessageOut, ThreadOut


def thread_out(thread: Thread) -> ThreadOut:
    return ThreadOut(
        id=thread.id,
        agent=thread.agent,
        title=thread.title,
        metadata=thread.metadata_,
        turns=thread.turns,
        created_at=thread.created_at,
        updated_at=thread.updated_at,
    )


def text_of(message: ModelMessage) -> str | None:
    if isinstance(message, ModelRequest):
        prompts = [p.content for p in message.parts if isinstance(p, UserPromptPart) and isinstance(p.content, str)]
        return "\n".join(prompts) if prompts else None
    texts = [p.content for p in message.parts if isinstance(p, TextPart)]
    return "".join(texts) if texts else None


def message_out(row: ThreadMessage) -> MessageOut:
    if row.kind == "response":
        role = "assistant"
    else:
        role = "user" if any(p.get("part_kind") == "user-prompt" for p in row.message.get("parts", [])) else "tool"
    return MessageOut(
        seq=row.seq,
        turn=row.turn,
        role=role,
        text=row.text,
        model=row.model_name,
        request_id=row.request_id,
        acted_by_user_id=row.acting_user_id,
        created_at=row.created_at,
        message=row.message,
    )


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
    ) -> Thread:
        thread = Thread(
            id=uuid.uuid4(),
            user_id=user.user_id,
            agent=agent,
            title=title,
            metadata_=dict(metadata or {}),
            external_key=external_key,
        )
        return await self.threads.add(thread)

    async def get(self, user: Principal, thread_id: uuid.UUID, *, for_update: bool = False) -> Thread:
        thread = await self.threads.owned(user.user_id, thread_id, for_update=for_update)
        if thread is None:
            raise NotFound(f"Thread {thread_id} not found.")
        return thread

    async def keyed_for_update(self, user: Principal, agent: str, key: str) -> Thread:
        """The caller's thread with this key, created on first use, locked for this unit of work."""
        return await self.threads.keyed_for_update(user.user_id, agent, key)

    async def page(
        self, user: Principal, limit: int, cursor: str | None, agent: str | None = None
    ) -> tuple[list[Thread], str | None]:
        after = decode_time_id_cursor(cursor) if cursor is not None else None
        threads = await self.threads.page(user.user_id, limit + 1, after, agent)
        more = len(threads) > limit
        threads = threads[:limit]
        next_cursor = encode_time_id_cursor(threads[-1].updated_at, threads[-1].id) if more else None
        return threads, next_cursor

    async def delete(self, user: Principal, thread_id: uuid.UUID) -> None:
        await self.threads.delete(await self.get(user, thread_id))

    async def message_page(
        self, user: Principal, thread_id: uuid.UUID, limit: int, cursor: str | None
    ) -> tuple[list[ThreadMessage], str | None]:
        thread = await self.get(user, thread_id)
        after_seq: int | None = None
        if cursor is not None:
            (after_seq,) = decode_cursor(cursor, 1)
            if not isinstance(after_seq, int):
                raise ValidationFailed("cursor is not valid: pass next_cursor unchanged")
        rows = await self.messages.page(thread.id, limit + 1, after_seq)
        more = len(rows) > limit
        rows = rows[:limit]
        return rows, encode_cursor(rows[-1].seq) if more else None

    async def history(self, thread: Thread) -> list[ModelMessage]:
        rows = await self.messages.all(thread.id)
        return ModelMessagesTypeAdapter.validate_python([row.message for row in rows])

    async def record_turn(
        self,
        thread: Thread,
        new_messages: list[ModelMessage],
        *,
        model_name: str,
        request_id: str | None,
        acting_user_id: int | None,
    ) -> None:
        """Append one turn's messages (the prompt, tool traffic and the reply) in order."""
        seq = await self.messages.last_seq(thread.id)
        turn = thread.turns + 1
        payloads = ModelMessagesTypeAdapter.dump_python(new_messages, mode="json")
        rows: list[ThreadMessage] = []
        for message, payload in zip(new_messages, payloads, strict=True):
            seq += 1
            rows.append(
                ThreadMessage(
                    thread_id=thread.id,
                    seq=seq,
                    turn=turn,
                    kind="response" if isinstance(message, ModelResponse) else "request",
                    message=payload,
                    text=text_of(message),
                    model_name=model_name if isinstance(message, ModelResponse) else None,
                    request_id=request_id,
                    acting_user_id=acting_user_id,
                )
            )
        await self.messages.add_all(rows)
        thread.turns = turn
