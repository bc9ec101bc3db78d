"""A conversation's application context (the sidekick pattern): kept on its thread, and given to the agent on
each turn as data (never as instructions) by the run engine."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.auth.principal import Principal
from switchboard.models import Thread

CONTEXT_KEY = "context_data"


async def replace(session: AsyncSession, user: Principal, thread: Thread, data: dict[str, Any]) -> None:
    """Set the thread's context to `data` (the caller's thread, already checked)."""
    thread.metadata_ = {**thread.metadata_, CONTEXT_KEY: data}
    await session.flush()


def of(thread: Thread) -> dict[str, Any]:
    data = thread.metadata_.get(CONTEXT_KEY)
    return data if isinstance(data, dict) else {}
