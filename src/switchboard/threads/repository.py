from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.kit.pagination import keyset_page
from switchboard.models import Thread, ThreadMessage


class ThreadRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def owned(self, user_id: int, thread_id: uuid.UUID, *, for_update: bool = False) -> Thread | None:
        query = select(Thread).where(Thread.id == thread_id, Thread.user_id == user_id)
        if for_update:
            query = query.with_for_update()
        return await self.session.scalar(query)

    async def keyed_for_update(self, user_id: int, agent: str, key: str) -> Thread:
        """The user's thread with this key, created if missing, locked; safe when two requests race to create."""
        locked = (
            select(Thread)
            .where(Thread.user_id == user_id, Thread.external_key == key)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        thread = await self.session.scalar(locked)  # found at once on every use but the first
        if thread is not None:
            return thread
        await self.session.execute(
            pg_insert(Thread)
            .values(id=uuid.uuid4(), user_id=user_id, agent=agent, external_key=key, metadata_={}, turns=0)
            .on_conflict_do_nothing(index_elements=[Thread.user_id, Thread.external_key])
        )
        thread = await self.session.scalar(locked)
        assert thread is not None  # inserted above or by the request that won the race
        return thread

    async def page(
        self, user_id: int, limit: int, cursor: str | None, agent: str | None
    ) -> tuple[list[Thread], str | None]:
        """The user's threads, most recently active first; not those of child runs (each has its own, found
        through its run: `GET /v1/runs/{id}/children`)."""
        query = select(Thread).where(Thread.user_id == user_id, Thread.parent_run_id.is_(None))
        if agent is not None:
            query = query.where(Thread.agent == agent)
        columns = [Thread.updated_at, Thread.id]
        return await keyset_page(self.session, query, columns, limit=limit, cursor=cursor, descending=True)

    async def insert(self, thread: Thread) -> None:
        self.session.add(thread)
        await self.session.flush()

    async def save(self, thread: Thread) -> Thread:
        """Write the changes made to a loaded thread, and read back what the database set (`updated_at`)."""
        await self.session.flush()
        await self.session.refresh(thread)
        return thread

    async def add(self, thread: Thread) -> Thread:
        self.session.add(thread)
        await self.session.flush()
        await self.session.refresh(thread)
        return thread

    async def delete(self, thread: Thread) -> None:
        await self.session.execute(delete(Thread).where(Thread.id == thread.id))


class MessageRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def page(
        self, thread_id: uuid.UUID, limit: int, cursor: str | None
    ) -> tuple[list[ThreadMessage], str | None]:
        """The thread's messages, oldest first."""
        query = select(ThreadMessage).where(ThreadMessage.thread_id == thread_id)
        return await keyset_page(self.session, query, [ThreadMessage.seq], limit=limit, cursor=cursor)

    async def latest(self, thread_id: uuid.UUID, limit: int) -> tuple[list[ThreadMessage], bool]:
        """The thread's last `limit` messages, oldest first, and whether earlier ones were left out."""
        query = (
            select(ThreadMessage)
            .where(ThreadMessage.thread_id == thread_id)
            .order_by(ThreadMessage.seq.desc())
            .limit(limit + 1)
        )
        rows = list(await self.session.scalars(query))
        return list(reversed(rows[:limit])), len(rows) > limit

    async def first_prompts(self, thread_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
        """Each thread's first user prompt (its text), in one query: what names a thread that has no title."""
        if not thread_ids:
            return {}
        query = (
            select(ThreadMessage.thread_id, ThreadMessage.text)
            .where(
                ThreadMessage.thread_id.in_(thread_ids),
                ThreadMessage.kind == "request",
                ThreadMessage.text.is_not(None),
            )
            .order_by(ThreadMessage.thread_id, ThreadMessage.seq)
            .ext(distinct_on(ThreadMessage.thread_id))
        )
        return {thread_id: text for thread_id, text in await self.session.execute(query) if text}
