"""A worker: claims runs from the queue and executes up to `concurrency` of them at once in this process.

It wakes on NOTIFY (a slow poll is only the fallback), renews the leases of its runs every third of the lease,
sweeps lapsed leases of any worker back into the queue, and on stop lets its runs finish within a grace period
before giving the rest back to the queue. `run(drain=True)` returns once nothing is left to claim or running:
what tests and the benchmark use.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import uuid
from collections.abc import Sequence

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from switchboard.agents.registry import AgentRegistry
from switchboard.engine import lease, queue, transitions
from switchboard.engine.channels import RUN_CANCEL, RUNS_READY
from switchboard.engine.executor import RunControl, RunExecutor
from switchboard.engine.lease import LeaseLost
from switchboard.engine.limits import limit_groups
from switchboard.engine.local import SettledHere
from switchboard.engine.queue import Claimed
from switchboard.engine.trees import sweep_trees
from switchboard.kit.db import database_unavailable
from switchboard.kit.notify import Notifier
from switchboard.models.runs import RunStatus
from switchboard.observability.tracing import run_span
from switchboard.settings import Settings

log = structlog.get_logger(__name__)

GIVE_BACK_RETRY_SECONDS = 0.5


class Worker:
    def __init__(
        self,
        engine: AsyncEngine,
        agents: AgentRegistry,
        settings: Settings,
        notifier: Notifier,
        *,
        concurrency: int | None = None,
        name: str = "worker",
        settled_here: SettledHere | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.notifier = notifier
        self.concurrency = concurrency or settings.worker_concurrency
        self.id = f"{socket.gethostname()}:{os.getpid()}:{name}:{uuid.uuid4().hex[:6]}"
        self.executor = RunExecutor(engine, agents, settings, settled_here)
        self.free_agents, self.groups = limit_groups(agents)
        self._free_agents = frozenset(self.free_agents)
        self.active: dict[uuid.UUID, RunControl] = {}
        self._reserved = 0  # slots promised to runs this process is creating (`reserve`)
        self._started = False
        self._tasks: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()
        self._renew_now = asyncio.Event()
        self._stopping = False
        self._background: list[asyncio.Task[None]] = []
        self.log = log.bind(worker=self.id)

    # --- lifecycle ---

    async def start(self) -> None:
        """Listen and keep leases alive; call `run()` (or `run(drain=True)`) to start claiming."""
        self.notifier.on(RUNS_READY, self._on_ready)
        self.notifier.on(RUN_CANCEL, self._on_cancel)
        self._background = [
            asyncio.create_task(self._heartbeat(), name=f"heartbeat {self.id}"),
            asyncio.create_task(self._sweeper(), name=f"sweeper {self.id}"),
        ]
        self._started = True
        self.log.info("worker.started", concurrency=self.concurrency)

    async def stop(self, grace: float | None = None) -> None:
        """Stop claiming; let runs in flight finish for `grace` seconds; give the rest back to the queue."""
        grace = self.settings.worker_grace_seconds if grace is None else grace
        self._stopping = True
        self._wake.set()
        if self._tasks:
            self.log.info("worker.draining", runs=len(self._tasks), grace_seconds=grace)
            await asyncio.wait(set(self._tasks), timeout=grace)
        for control in list(self.active.values()):
            control.stop("shutdown")
        if self._tasks:
            await asyncio.wait(set(self._tasks))
        for task in self._background:
            task.cancel()
        for task in self._background:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.notifier.off(RUNS_READY, self._on_ready)
        self.notifier.off(RUN_CANCEL, self._on_cancel)
        self.log.info("worker.stopped")

    def _on_ready(self, _payload: str) -> None:
        self._wake.set()

    def _on_cancel(self, payload: str) -> None:
        if not payload:
            # The listener reconnected and notifications may have been missed: claim again now, and renew the
            # leases now, which reads the cancel flags of this worker's runs.
            self._wake.set()
            self._renew_now.set()
            return
        with contextlib.suppress(ValueError):
            control = self.active.get(uuid.UUID(payload))
            if control is not None:
                control.stop("cancel")

    # --- claiming ---

    async def run(self, *, drain: bool = False) -> None:
        """Claim and execute until stopped (or, with `drain`, until nothing is claimable and nothing runs)."""
        while not self._stopping:
            self._wake.clear()
            free = self.concurrency - len(self.active) - self._reserved
            claimed: Sequence[Claimed] = []
            if free > 0:
                try:
                    claimed = await self._claim(free)
                except Exception as exc:
                    self._failed("worker.claim_failed", exc)
                    await asyncio.sleep(min(1.0, self.settings.worker_poll_seconds))
                    continue
            for item in claimed:
                self._spawn(item)
            if drain and not claimed and not self.active:
                return
            if claimed and len(claimed) < free:
                continue  # there may be more already: claim again before sleeping
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.settings.worker_poll_seconds)

    # --- runs created in this process (see `engine.local`) ---

    def reserve(self, agent: str) -> bool:
        """A slot for a run of `agent` this process is about to create and claim: only with a slot free and an
        agent without a concurrency limit (a limit group is counted under its lock, by `claim`). Each
        reservation ends in `adopt` (the run was created, claimed for this worker) or `unreserve`."""
        if not self._started or self._stopping or agent not in self._free_agents:
            return False
        if len(self.active) + self._reserved >= self.concurrency:
            return False
        self._reserved += 1
        return True

    def unreserve(self) -> None:
        self._reserved -= 1
        self._wake.set()  # the slot is free for the queue again

    def adopt(self, claimed: Claimed) -> None:
        """Execute a run claimed for this worker when it was created (its reservation ends here)."""
        self._reserved -= 1
        if self._stopping:  # stopped between the reservation and the commit: the queue has it, unclaimed
            self.executor.settled_here.publish(claimed.run_id, None)  # its waiter follows it in the database
            task = asyncio.create_task(self._give_back(claimed.run_id, reason="worker_shutdown"))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            return
        self._spawn(claimed)

    async def _claim(self, n: int) -> list[Claimed]:
        async with self.engine.begin() as connection:
            return await queue.claim(
                connection,
                owner=self.id,
                n=n,
                lease_seconds=self.settings.worker_lease_seconds,
                free_agents=self.free_agents,
                groups=self.groups,
            )

    def _spawn(self, claimed: Claimed) -> None:
        control = RunControl(run_id=claimed.run_id)
        task = asyncio.create_task(self._execute(claimed, control), name=f"run {claimed.run_id}")
        control.task = task
        self.active[claimed.run_id] = control
        self._tasks.add(task)
        self.log.info("run.claimed", run_id=str(claimed.run_id), attempt=claimed.attempt, request_id=claimed.request_id)

    async def _execute(self, claimed: Claimed, control: RunControl) -> None:
        # Every line logged while the run executes (in this task's context, libraries' lines included) names the run
        # and the request that created it, so one request id finds the whole story across processes.
        structlog.contextvars.bind_contextvars(run_id=str(claimed.run_id), request_id=claimed.request_id)
        # With tracing on, the execution is a span in the trace of the request that created the run.
        with run_span(claimed) as ended:
            try:
                ended(await self.executor.execute(claimed, self.id, control))
            except asyncio.CancelledError:
                if control.stop_reason is None:
                    raise
                # Stopped while the execution was still loading, before it could handle a stop itself.
                running = asyncio.current_task()
                assert running is not None  # every execution runs in a task of its own (`_spawn`)
                running.uncancel()
                self.log.info("run.stopped_before_start", run_id=str(claimed.run_id), reason=control.stop_reason)
                if control.stop_reason == "shutdown":
                    await self._give_back(claimed.run_id, reason="worker_shutdown")
            except Exception as exc:
                if database_unavailable(exc):
                    self.log.warning("run.database_unavailable", run_id=str(claimed.run_id), error=repr(exc)[:300])
                    await self._give_back(claimed.run_id, reason="database_unavailable")
                else:
                    # The executor settles every failure it can: this is a bug. The lease will lapse and the sweeper
                    # will give the run another attempt.
                    self.log.exception("run.executor_crashed", run_id=str(claimed.run_id))
            finally:
                # Only our own entry: a run given back may already be claimed again, by this worker, under a new one.
                if self.active.get(claimed.run_id) is control:
                    del self.active[claimed.run_id]
                    self.executor.settled_here.publish(claimed.run_id, None)  # if it did not settle here: read it
                task = asyncio.current_task()
                if task is not None:
                    self._tasks.discard(task)
                self._wake.set()

    async def _give_back(self, run_id: uuid.UUID, reason: str) -> None:
        """Back to the queue as soon as the database answers again, without counting the attempt (an outage is
        not the run's fault), so it resumes from its last written step at once rather than after its lease. The
        lease is renewed meanwhile; if the database stays away longer than the lease, the sweeper does this."""
        deadline = asyncio.get_running_loop().time() + self.settings.worker_lease_seconds
        while True:
            try:
                async with self.engine.begin() as connection:
                    await transitions.release(connection, run_id=run_id, owner=self.id, reason=reason)
            except LeaseLost:
                return
            except Exception as exc:
                if not database_unavailable(exc) or asyncio.get_running_loop().time() > deadline:
                    self.log.exception("run.give_back_failed", run_id=str(run_id))
                    return
                await asyncio.sleep(GIVE_BACK_RETRY_SECONDS)
            else:
                self.log.info("run.released", run_id=str(run_id), reason=reason)
                return

    def _failed(self, event: str, exc: Exception) -> None:
        """A database outage is expected to pass: one line. Anything else is a bug: its traceback."""
        if database_unavailable(exc):
            self.log.warning(event, database="unavailable", error=repr(exc)[:200])
        else:
            self.log.exception(event)

    # --- leases ---

    async def _heartbeat(self) -> None:
        interval = self.settings.worker_lease_seconds / 3
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._renew_now.wait(), interval)
            self._renew_now.clear()
            if not self.active:
                continue
            renewing = dict(self.active)
            ids = list(renewing)
            try:
                async with self.engine.begin() as connection:
                    held = await lease.renew(
                        connection, owner=self.id, run_ids=ids, lease_seconds=self.settings.worker_lease_seconds
                    )
            except Exception as exc:
                self._failed("worker.heartbeat_failed", exc)
                continue
            for run_id in ids:
                control = self.active.get(run_id)
                if control is None or control is not renewing[run_id]:
                    continue  # settled meanwhile, or given back and claimed again: the answer is not about it
                if run_id not in held:
                    control.stop("lease_lost")
                elif held[run_id]:
                    control.stop("cancel")

    async def _sweeper(self) -> None:
        interval = max(0.5, self.settings.worker_lease_seconds / 2)
        while True:  # sweeps at start-up first: a worker replacing a crashed one recovers its runs at once
            try:
                async with self.engine.begin() as connection:
                    swept = await transitions.sweep(connection, max_attempts=self.settings.run_max_attempts)
                    ended = [run_id for run_id, status in swept if status != RunStatus.QUEUED]
                    await self.executor.notices.record_runs(connection, ended)
            except Exception as exc:
                self._failed("worker.sweep_failed", exc)
            else:
                for run_id, status in swept:
                    self.log.warning("run.lease_expired", run_id=str(run_id), now=status)
            await self._sweep_trees()
            await asyncio.sleep(interval)

    async def _sweep_trees(self) -> None:
        try:
            await sweep_trees(self.engine, self.executor.notices, self.log)
        except Exception as exc:
            self._failed("worker.sweep_failed", exc)
