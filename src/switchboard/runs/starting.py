"""Starting a run from any route (the runs API, chat, plugins' routes): create it in its own committed unit of
work, honouring an Idempotency-Key, then wait for it or stream its events."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from pydantic_core import to_jsonable_python

from switchboard.auth.principal import Principal
from switchboard.models import RunEvent
from switchboard.runs import idempotency
from switchboard.runs.follow import follow, wait_until_settled
from switchboard.runs.schemas import RunCreate, RunOut
from switchboard.runs.service import RunService
from switchboard.state import AppState


@dataclass(frozen=True)
class Started:
    run: RunOut
    replayed: dict[str, Any] | None = None  # the original response body, when an Idempotency-Key repeated


async def start_run(
    state: AppState,
    user: Principal,
    body: RunCreate,
    *,
    route: str,
    request_id: str | None,
    idempotency_key: str | None = None,
    thread_key: str | None = None,
    refuse_behind_approval: bool = False,
) -> Started:
    """Create the run and commit (the queue sees it at once); with a key seen before, the original run.
    `refuse_behind_approval`: see `RunService.create` (chat turns)."""
    async with state.db.unit_of_work() as session:
        service = RunService(session, state.agents, state.settings)
        if idempotency_key is not None:
            earlier = await idempotency.find_or_lock(session, user, idempotency_key, route, body)
            if earlier is not None:
                run = await service.runs.by_id(earlier.run_id)
                return Started(run=await service.out(run), replayed=earlier.response)
        run = await service.create(
            user, body, request_id=request_id, thread_key=thread_key, refuse_behind_approval=refuse_behind_approval
        )
        out = await service.out(run)
        if idempotency_key is not None:
            idempotency.remember(
                session, user, idempotency_key, route, body, run.id, response=out.model_dump(mode="json")
            )
        return Started(run=out)


async def wait_for(state: AppState, run_id: uuid.UUID, interrupted: asyncio.Event | None = None) -> RunOut:
    """The run once settled, or as it is when the wait runs out or is interrupted (see `waiting`)."""
    await wait_until_settled(state.db.sessions, state.notifier, run_id, state.settings.run_wait_seconds, interrupted)
    async with state.db.sessions() as session:
        service = RunService(session, state.agents, state.settings)
        return await service.out(await service.runs.by_id(run_id))


def events_of(state: AppState, run_id: uuid.UUID, after: int = 0) -> AsyncIterator[RunEvent]:
    """The run's events, live, until its `end` or the server's shutdown."""
    return follow(state.db.sessions, state.notifier, run_id, after, stop=state.draining)


def sse(event: RunEvent) -> dict[str, str]:
    data = json.dumps(to_jsonable_python(event.data, fallback=str), separators=(",", ":"))
    return {"id": str(event.seq), "event": event.type, "data": data}
