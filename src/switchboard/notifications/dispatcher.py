"""The dispatcher: in every worker process, claims due deliveries, sends them (at most
`dispatcher_concurrency` at once), records every attempt and schedules the next on the backoff.

It wakes on NOTIFY when a delivery is written (so the first attempt follows the run's commit within
milliseconds), and otherwise sleeps until the earliest delivery is due. Results are written in batches: what
finished while the last batch was being written goes in the next, one transaction each."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import socket
import time
import uuid
from datetime import timedelta

import httpx
import structlog
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from switchboard.engine.channels import DELIVERIES_READY
from switchboard.kit.clock import utc_now
from switchboard.kit.db import database_unavailable
from switchboard.kit.egress import egress_client
from switchboard.kit.notify import Notifier
from switchboard.kit.secret_box import SecretUnreadable, secret_box
from switchboard.models.notifications import Channel, DeliveryStatus
from switchboard.notifications import delivery_queue
from switchboard.notifications.delivery_queue import Due, Result
from switchboard.notifications.senders import Outcome, send_email, send_slack, send_webhook
from switchboard.observability.metrics import WEBHOOK_DELIVERIES
from switchboard.settings import Settings

log = structlog.get_logger(__name__)

LEASE_MARGIN_SECONDS = 5.0
IDLE_SECONDS = 5.0  # the longest sleep without a NOTIFY (a missed one costs at most this)
RETRY_AFTER_CAP = 24 * 3600.0
# httpx's connection pool looks at every connection it holds on each request and each response (httpcore's
# `_assign_requests_to_connections`, a socket readability check per connection), so with one client the cost of
# a delivery grows with the concurrency: at 32 sends at once it was a quarter of the worker's CPU time. Sends go
# round-robin to clients, one per this many of the concurrency: 2.5 -> 1.4 ms of CPU per delivery at 32
# (`make bench-deliveries`).
SENDS_PER_CLIENT = 8
D = DeliveryStatus
# An attempt's outcome as `switchboard_webhook_deliveries_total` names it: failed will be retried, dead will not.
OUTCOMES = {D.SUCCEEDED: "delivered", D.FAILED: "failed", D.DEAD: "dead"}


def next_step(settings: Settings, delivery: Due, outcome: Outcome) -> tuple[DeliveryStatus, float | None]:
    """The delivery's status after `outcome`, and the wait before the next attempt (None: no next)."""
    if outcome.ok:
        return D.SUCCEEDED, None
    made = delivery.attempts + 1
    waits = settings.webhook_retry_seconds
    if outcome.final or made > len(waits):
        return D.DEAD, None
    if outcome.retry_after is not None:  # the receiver said when; honoured, within a day
        return D.FAILED, min(outcome.retry_after, RETRY_AFTER_CAP)
    return D.FAILED, waits[made - 1] * (1 + random.uniform(0, settings.webhook_retry_jitter))  # noqa: S311


class Dispatcher:
    def __init__(self, engine: AsyncEngine, settings: Settings, notifier: Notifier) -> None:
        self.engine = engine
        self.settings = settings
        self.notifier = notifier
        self.owner = f"{socket.gethostname()}:{os.getpid()}:dispatcher:{uuid.uuid4().hex[:6]}"
        self.box = secret_box(settings)
        self.clients: list[httpx.AsyncClient] = []
        self._sends = 0  # counts sends, to take the clients in turn
        # A send is cut at the timeout (`_send`), so a claim outlives any send by this margin.
        self.lease_seconds = settings.webhook_timeout_seconds + LEASE_MARGIN_SECONDS
        self._wake = asyncio.Event()
        self._sending: set[asyncio.Task[None]] = set()
        self._results: list[Result] = []
        self._results_ready = asyncio.Event()
        self._writing = asyncio.Lock()  # one batch written at a time; `stop` waits for the one under way
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        self.log = log.bind(dispatcher=self.owner)

    async def start(self) -> None:
        count = -(-self.settings.dispatcher_concurrency // SENDS_PER_CLIENT)
        self.clients = [
            egress_client(self.settings, timeout=self.settings.webhook_timeout_seconds) for _ in range(count)
        ]
        self.notifier.on(DELIVERIES_READY, self._on_ready)
        self._tasks = [
            asyncio.create_task(self._claim_loop(), name=f"claims {self.owner}"),
            asyncio.create_task(self._record_loop(), name=f"records {self.owner}"),
        ]

    async def stop(self) -> None:
        """Stop claiming; let sends in flight finish (within the timeout) and write their results."""
        self._stopping = True
        self._wake.set()
        self.notifier.off(DELIVERIES_READY, self._on_ready)
        if self._sending:
            await asyncio.wait(set(self._sending), timeout=self.settings.webhook_timeout_seconds)
        async with self._writing:  # a batch being written is finished, not cut off (and sent twice)
            for task in [*self._sending, *self._tasks]:  # sends still out are sent again when their claims lapse
                task.cancel()
            for task in [*self._sending, *self._tasks]:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        with contextlib.suppress(Exception):  # what is not written is sent again when its claim lapses
            await self._write(self._take())
        for client in self.clients:
            await client.aclose()

    def _on_ready(self, _payload: str) -> None:
        self._wake.set()

    async def _claim_loop(self) -> None:
        while not self._stopping:
            self._wake.clear()
            free = self.settings.dispatcher_concurrency - len(self._sending)
            claimed: list[Due] = []
            wait = IDLE_SECONDS
            try:
                if free > 0:
                    async with self.engine.begin() as connection:
                        claimed = await delivery_queue.claim(
                            connection, owner=self.owner, n=free, lease_seconds=self.lease_seconds
                        )
                        if len(claimed) < free:
                            wait = await self._until_next_due(connection)
            except Exception as exc:
                self._failed("dispatcher.claim_failed", exc)
                wait = 1.0
            for delivery in claimed:
                task = asyncio.create_task(self._send(delivery), name=f"delivery {delivery.id}")
                self._sending.add(task)
                task.add_done_callback(self._sent)
            if free > 0 and len(claimed) == free:
                continue  # there may be more due now
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), wait)

    async def _until_next_due(self, connection: AsyncConnection) -> float:
        due = await delivery_queue.next_due(connection)
        if due is None:
            return IDLE_SECONDS
        return min(IDLE_SECONDS, max(0.0, (due - utc_now()).total_seconds()) + 0.005)

    def _sent(self, task: asyncio.Task[None]) -> None:
        self._sending.discard(task)
        self._wake.set()  # a slot is free

    async def _send(self, delivery: Due) -> None:
        started_at = utc_now()
        began = time.perf_counter()
        try:
            async with asyncio.timeout(self.settings.webhook_timeout_seconds):
                outcome = await self._attempt(delivery)
        except TimeoutError:
            outcome = Outcome(None, error=f"no answer within {self.settings.webhook_timeout_seconds:g} s")
        except SecretUnreadable as exc:
            outcome = Outcome(None, error=str(exc), final=True)
        except Exception as exc:  # a bug: recorded on the delivery (and retried), never lost
            self.log.exception("delivery.send_crashed", delivery_id=str(delivery.id))
            outcome = Outcome(None, error=f"internal error: {type(exc).__name__}")
        status, wait = next_step(self.settings, delivery, outcome)
        WEBHOOK_DELIVERIES.labels(str(delivery.channel), OUTCOMES.get(status, str(status))).inc()
        result = Result(
            delivery=delivery,
            status=status,
            next_attempt_at=utc_now() + timedelta(seconds=wait) if wait is not None else None,
            started_at=started_at,
            duration_ms=(time.perf_counter() - began) * 1000,
            status_code=outcome.status_code,
            excerpt=outcome.excerpt,
            error=outcome.error,
        )
        self._results.append(result)
        self._results_ready.set()
        self.log.info(
            "delivery.attempted",
            delivery_id=str(delivery.id),
            channel=delivery.channel,
            event_type=delivery.event_type,
            attempt=delivery.attempts + 1,
            status=status,
            status_code=outcome.status_code,
            error=outcome.error,
            retry_in_seconds=round(wait, 3) if wait is not None else None,
        )

    async def _attempt(self, delivery: Due) -> Outcome:
        assert self.clients  # started
        self._sends += 1
        client = self.clients[self._sends % len(self.clients)]
        if not delivery.endpoint_enabled:
            return Outcome(None, error="the endpoint is disabled", final=True)
        if delivery.channel == Channel.SLACK:
            return await send_slack(client, self.box, delivery)
        if delivery.channel == Channel.EMAIL:
            return await send_email(self.settings, delivery)
        return await send_webhook(client, self.box, delivery)

    def _take(self) -> list[Result]:
        results, self._results = self._results, []
        self._results_ready.clear()
        return results

    async def _record_loop(self) -> None:
        while True:
            await self._results_ready.wait()
            results = self._take()
            while True:
                try:
                    await self._write(results)
                    break
                except Exception as exc:
                    self._failed("dispatcher.record_failed", exc)
                    if not database_unavailable(exc):
                        break  # a bug: the claims lapse and the deliveries are sent again
                    await asyncio.sleep(1.0)

    async def _write(self, results: list[Result]) -> None:
        if not results:
            return
        async with self._writing, self.engine.begin() as connection:
            await delivery_queue.record(connection, self.owner, results)
            disabled = await delivery_queue.endpoint_health(
                connection, results, disable_after_seconds=self.settings.webhook_disable_after_seconds
            )
        for endpoint_id in disabled:
            self.log.warning("webhook_endpoint.disabled", endpoint_id=str(endpoint_id))
        if any(result.next_attempt_at is not None for result in results):
            self._wake.set()  # the claim loop may be sleeping until the claims' end: the retries are sooner

    def _failed(self, event: str, exc: Exception) -> None:
        if database_unavailable(exc):
            self.log.warning(event, database="unavailable", error=repr(exc)[:200])
        else:
            self.log.exception(event)
