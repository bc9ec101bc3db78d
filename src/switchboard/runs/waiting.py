"""Waiting for a run on behalf of a request, until it settles — or until the client hangs up or the server starts
to shut down, whichever comes first: a wait never holds a connection (or the server's exit) for nothing."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from starlette.requests import Request

from switchboard.state import AppState


@contextlib.asynccontextmanager
async def interruptions(state: AppState, request: Request) -> AsyncIterator[asyncio.Event]:
    """An event set when the client disconnects or the server begins to shut down (`state.draining`)."""
    interrupted = asyncio.Event()

    async def client_gone() -> None:
        while (await request.receive())["type"] != "http.disconnect":
            pass
        interrupted.set()

    async def draining() -> None:
        await state.draining.wait()
        interrupted.set()

    watchers = [asyncio.create_task(client_gone()), asyncio.create_task(draining())]
    try:
        yield interrupted
    finally:
        for watcher in watchers:
            watcher.cancel()
        for watcher in watchers:
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
