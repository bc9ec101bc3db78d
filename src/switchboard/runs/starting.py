"""Starting a run from any route (the runs API, chat, plugins' routes): create it in its own committed unit of
work, honouring an Idempotency-Key, then wait for it or stream its events."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Any

from pydantic_core import to_jsonable_python

from switchboard.auth.principal import Principal
from switchboard.engine.local import SettledRow
from switchboard.engine.queue import Claimed, ClaimNow
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
    # Completed with the run's final row when a worker of this process settles it (see `engine.local`).
    settled_here: asyncio.Future[SettledRow] | None = None


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
    here: bool = False,
    stream_tokens: bool = True,
) -> Started:
    """Create the run and commit (the queue sees it at once); with a key seen before, the original run.
    `refuse_behind_approval`: see `RunService.create` (chat turns).

    `here`: the request waits for the run or streams it. Then, when a worker of this process has a free slot,
    the run is claimed for it as it is created and handed to it once committed, and the request is told when it
    settles in memory (see `engine.local`). A run started in the background is queued, for any worker.
    `stream_tokens`: False when the request answers only with the whole reply: the model is then asked for each
    response whole, which costs half the CPU of streaming it (its text is one `text_delta` event per part)."""
    worker = state.workers.reserve(body.agent) if here else None
    claimed: Claimed | None = None
    try:
        async with state.db.unit_of_work() as session:
            service = RunService(session, state.agents, state.settings)
            if idempotency_key is not None:
                earlier = await idempotency.find_or_lock(session, user, idempotency_key, route, body)
                if earlier is not None:
                    run = await service.runs.by_id(earlier.run_id)
                    return Started(run=await service.out(run), replayed=earlier.response)
            claim = ClaimNow(worker.id, state.settings.worker_lease_seconds) if worker is not None else None
            run, claimed = await service.create(
                user,
                body,
                request_id=request_id,
                thread_key=thread_key,
                refuse_behind_approval=refuse_behind_approval,
                claim=claim,
                stream_tokens=stream_tokens,
            )
            out = await service.out(run)
            if idempotency_key is not None:
                idempotency.remember(
                    session, user, idempotency_key, route, body, run.id, response=out.model_dump(mode="json")
                )
        if worker is None or claimed is None:
            return Started(run=out)
        settled_here = state.workers.settled_here.expect(claimed.run_id)
        worker.adopt(replace(claimed, known=(run, replace(user, api_key_id=None), claimed.context)))
        worker = None  # adopted: the reservation is over
        return Started(run=out, settled_here=settled_here)
    finally:
        if worker is not None:
            worker.unreserve()


async def wait_for(
    state: AppState,
    run_id: uuid.UUID,
    interrupted: asyncio.Event | None = None,
    settled_here: asyncio.Future[SettledRow] | None = None,
) -> RunOut:
    """The run once settled, or as it is when the wait runs out or is interrupted (see `waiting`). A run this
    process executes is answered from the row its worker wrote, without reading it back."""
    row = await wait_until_settled(
        state.db.sessions, state.notifier, run_id, state.settings.run_wait_seconds, interrupted, settled_here
    )
    if row is not None:
        return RunOut.from_row(row)
    async with state.db.sessions() as session:
        service = RunService(session, state.agents, state.settings)
        return await service.out(await service.runs.by_id(run_id))


def events_of(state: AppState, run_id: uuid.UUID, after: int = 0) -> AsyncIterator[RunEvent]:
    """The run's events, live, until its `end` or the server's shutdown."""
    return follow(state.db.sessions, state.notifier, run_id, after, stop=state.draining)


def sse(event: RunEvent) -> dict[str, str]:
    data = json.dumps(to_jsonable_python(event.data, fallback=str), separators=(",", ":"))
    return {"id": str(event.seq), "event": event.type, "data": data}
