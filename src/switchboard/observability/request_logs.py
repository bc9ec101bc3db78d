"""Request logs are written off the request path: the middleware hands a row to an in-memory queue and a
background task inserts rows in batches. A slow or failing database never slows or fails a request. While the
database is unavailable a batch is retried (with backoff) and new rows wait in the queue; only when the queue is
full are rows dropped, counted, and said so in the log (once when dropping starts, once when it ends)."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import asdict, dataclass
from datetime import datetime

import structlog
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from switchboard.kit.db import database_unavailable
from switchboard.models import RequestLog

log = structlog.get_logger(__name__)

RETRY_FIRST_SECONDS = 0.2
RETRY_MAX_SECONDS = 5.0


@dataclass(frozen=True)
class RequestLogEntry:
    request_id: str
    method: str
    path: str
    status_code: int
    duration_ms: float
    client_host: str | None
    user_agent: str | None
    user_id: int | None
    created_at: datetime


class RequestLogWriter:
    def __init__(self, engine: AsyncEngine, *, max_queue: int = 10_000, batch_size: int = 500) -> None:
        self._engine = engine
        self._queue: asyncio.Queue[RequestLogEntry] = asyncio.Queue(maxsize=max_queue)
        self._batch_size = batch_size
        self._task: asyncio.Task[None] | None = None
        self.dropped = 0  # since the process started
        self._dropped_in_a_row = 0

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="request-log-writer")

    def submit(self, entry: RequestLogEntry) -> None:
        try:
            self._queue.put_nowait(entry)
        except asyncio.QueueFull:
            self.dropped += 1
            self._dropped_in_a_row += 1
            if self._dropped_in_a_row == 1:
                log.warning("request_log.dropping", queued=self._queue.qsize(), note="the queue is full")

    async def flush(self) -> None:
        """Wait until every submitted row is written (tests and shutdown use it)."""
        await self._queue.join()

    async def stop(self, drain_seconds: float = 5.0) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.flush(), drain_seconds)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self._batch_size and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                await self._write(batch)
            finally:
                for _ in batch:
                    self._queue.task_done()

    async def _write(self, batch: list[RequestLogEntry]) -> None:
        delay = RETRY_FIRST_SECONDS
        while True:
            try:
                async with self._engine.begin() as connection:
                    await connection.execute(insert(RequestLog), [asdict(entry) for entry in batch])
            except Exception as exc:
                if not database_unavailable(exc):
                    log.exception("request_log.write_failed", rows=len(batch))  # a bug: retrying cannot help
                    return
                log.warning("request_log.retrying", rows=len(batch), in_seconds=delay, error=repr(exc)[:200])
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MAX_SECONDS)
                continue
            if self._dropped_in_a_row:
                log.warning("request_log.dropped", rows=self._dropped_in_a_row, dropped_total=self.dropped)
                self._dropped_in_a_row = 0
            return
