"""`GET /metrics`: Prometheus' text format, for the scrape token (`SWITCHBOARD_METRICS_TOKEN`) or an admin key.

What the processes counted (`observability.metrics`) comes from this process's registry, or, in multiprocess mode
(`SWITCHBOARD_METRICS_DIR`, see `observability.multiprocess`), from every process's files in the directory,
summed. What the database knows (the queue) is read at each scrape, into a registry made for that scrape: it is
right whichever process answers, and costs nothing between scrapes."""

from __future__ import annotations

import hmac
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Annotated

import structlog
from fastapi import APIRouter, Depends, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import REGISTRY, CollectorRegistry, multiprocess
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from switchboard.auth.dependencies import _principal
from switchboard.kit.errors import PermissionDenied
from switchboard.models.runs import RunStatus
from switchboard.observability.metrics import QUEUE_DEPTH, QUEUE_OLDEST_SECONDS
from switchboard.state import app_state

log = structlog.get_logger(__name__)

METRICS_PATH = "/metrics"
router = APIRouter()
_bearer = HTTPBearer(auto_error=False)

# The partial index ix_runs_queue holds only queued runs: the scan is as long as the queue, not the table. A run
# back in the queue (released, approved, woken by its children) has waited since it was put back: `updated_at`.
_QUEUE = text("""
SELECT agent, count(*), extract(epoch FROM clock_timestamp() - min(updated_at))
FROM runs WHERE status = :queued GROUP BY agent
""").bindparams(queued=RunStatus.QUEUED.value)


@dataclass(frozen=True)
class QueueSnapshot:
    depth: dict[str, int]
    oldest_seconds: dict[str, float]


async def read_queue(engine: AsyncEngine, agents: Iterable[str]) -> QueueSnapshot:
    """The queue by agent; every agent named in `agents` is there, at 0 when none of its runs is queued (a series
    that vanished when the queue emptied would read as "no data", not as 0)."""
    depth = dict.fromkeys(agents, 0)
    oldest = dict.fromkeys(agents, 0.0)
    async with engine.connect() as connection:
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        for agent, count, seconds in await connection.execute(_QUEUE):
            depth[agent] = int(count)
            oldest[agent] = max(0.0, float(seconds))
    return QueueSnapshot(depth, oldest)


class _Families:
    """Metric families computed before the scrape, served as a collector of the scrape's registry."""

    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self) -> Iterator[Metric]:
        return iter(self.families)


class _Process:
    """This process's own metrics (single-process mode): the default registry's, served through the scrape's."""

    def collect(self) -> Iterable[Metric]:
        return REGISTRY.collect()


def queue_families(queue: QueueSnapshot) -> list[Metric]:
    depth = GaugeMetricFamily(QUEUE_DEPTH.name, QUEUE_DEPTH.documentation, labels=QUEUE_DEPTH.labels)
    oldest = GaugeMetricFamily(
        QUEUE_OLDEST_SECONDS.name, QUEUE_OLDEST_SECONDS.documentation, labels=QUEUE_OLDEST_SECONDS.labels
    )
    for agent in sorted(queue.depth):
        depth.add_metric([agent], queue.depth[agent])
        oldest.add_metric([agent], round(queue.oldest_seconds[agent], 3))
    return [depth, oldest]


def exposition(queue: QueueSnapshot | None, accept: str = "") -> tuple[bytes, str]:
    """The scrape's text and its content type: every process's metrics (multiprocess mode) or this one's, and the
    queue's gauges. In the format `accept` asks for (OpenMetrics, text 1.0.0), else Prometheus' text 0.0.4."""
    registry = CollectorRegistry()
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        multiprocess.MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
    else:
        collector: Collector = _Process()
        registry.register(collector)
    if queue is not None:
        registry.register(_Families(queue_families(queue)))
    encode, content_type = choose_encoder(accept)
    return encode(registry), content_type


async def authorize_scrape(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> None:
    """The scrape token, or else an API key of an admin (401 without a valid key, 403 for a member's)."""
    token = app_state(request).settings.metrics_token
    given = credentials.credentials.encode() if credentials is not None else None
    if given is not None and token is not None and hmac.compare_digest(given, token.get_secret_value().encode()):
        return
    principal = await _principal(request, credentials)
    if not principal.is_admin:
        raise PermissionDenied("GET /metrics is for the scrape token (SWITCHBOARD_METRICS_TOKEN) or an admin's key.")


@router.get(METRICS_PATH, include_in_schema=False, dependencies=[Depends(authorize_scrape)])
async def metrics(request: Request) -> Response:
    state = app_state(request)
    names = [a.spec.name for a in state.agents.all()]
    try:
        queue: QueueSnapshot | None = await read_queue(state.db.engine, names)
    except Exception as exc:  # the processes' counters are still worth serving; the queue's gauges are absent
        log.warning("metrics.queue_unreadable", error=repr(exc)[:300])
        queue = None
    body, content_type = exposition(queue, request.headers.get("accept", ""))
    return Response(body, headers={"Content-Type": content_type})
