"""A conversation's application context (the sidekick pattern) is its thread's `context`: the run engine shows
it to the agent on each turn as fenced, labelled data (never as instructions) and gives it to tools as
`ctx.deps.context`. Bounded as the threads API bounds it (SWITCHBOARD_THREAD_CONTEXT_MAX_BYTES, 413)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.models import Thread
from switchboard.settings import Settings
from switchboard.threads.service import ThreadService, check_context_size


def stored(settings: Settings, data: dict[str, Any] | None) -> dict[str, Any] | None:
    """The context as the thread keeps it, once checked: 002's `{}` (no context) is none."""
    check_context_size(data, settings.thread_context_max_bytes, field="context_data")
    return data or None


async def replace(session: AsyncSession, settings: Settings, thread: Thread, data: dict[str, Any] | None) -> None:
    """Replace the thread's context whole (the caller's thread, already checked)."""
    await ThreadService(session).set_context(thread, stored(settings, data))


def of(thread: Thread) -> dict[str, Any]:
    return thread.context or {}
