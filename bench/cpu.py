"""CPU accounting: the CPU time the worker process and the PostgreSQL backends serving our database used within
a time window (the drain), sampled from /proc, so only when the database runs on this machine."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from datetime import datetime
from pathlib import Path

from sqlalchemy import text

from bench.database import Context

_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def cpu_seconds(pid: int) -> float | None:
    """utime + stime of a local process, from /proc (None when it is gone or not visible)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / _TICKS


class CpuSampler:
    """Samples, every `interval`, the CPU time used so far by the worker process and by the PostgreSQL backends
    connected to our database (when they are local processes), to split a time window's CPU between them."""

    def __init__(self, ctx: Context, worker_pid: int, interval: float = 0.05) -> None:
        self.ctx = ctx
        self.worker_pid = worker_pid
        self.interval = interval
        self.samples: list[tuple[float, float, float]] = []  # (wall clock, worker CPU, backends' CPU)
        self._backends: dict[int, float] = {}  # pid → CPU seconds at first sight (0 for backends born later)
        self._last: dict[int, float] = {}
        self._task: asyncio.Task[None] | None = None

    async def _refresh_backends(self, first: bool) -> None:
        async with self.ctx.engine.connect() as connection:
            pids = (
                await connection.execute(
                    text(
                        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                        "AND pid <> pg_backend_pid()"
                    )
                )
            ).scalars()
            for pid in pids:
                if pid not in self._backends:
                    seen = cpu_seconds(pid)
                    if seen is not None:
                        self._backends[pid] = seen if first else 0.0

    async def _run(self) -> None:
        ticks = 0
        while True:
            if ticks % 10 == 0:
                await self._refresh_backends(first=ticks == 0)
            worker = cpu_seconds(self.worker_pid)
            if worker is None:
                return
            for pid in self._backends:
                now = cpu_seconds(pid)
                if now is not None:
                    self._last[pid] = now
            backends = sum(self._last.get(pid, base) - base for pid, base in self._backends.items())
            self.samples.append((time.time(), worker, backends))
            ticks += 1
            await asyncio.sleep(self.interval)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def _at(self, when: float) -> tuple[float, float] | None:
        before = [s for s in self.samples if s[0] <= when]
        after = [s for s in self.samples if s[0] >= when]
        if not before or not after:
            return None
        (t0, w0, b0), (t1, w1, b1) = before[-1], after[0]
        share = 0.0 if t1 == t0 else (when - t0) / (t1 - t0)
        return w0 + (w1 - w0) * share, b0 + (b1 - b0) * share

    def used(self, start: datetime, end: datetime) -> tuple[float, float] | None:
        """(worker, backends) CPU seconds between two database timestamps (same machine, same clock)."""
        first, last = self._at(start.timestamp()), self._at(end.timestamp())
        if first is None or last is None:
            return None
        return last[0] - first[0], last[1] - first[1]
