"""`make bench-metrics`: what `GET /metrics` costs with 10,000 runs in the database.

A fresh database holds `--runs` runs (default 10,000; inserted with SQL over eight agents, `--queued` of them still
queued, the rest finished). `switchboard serve --workers 0` (a subprocess) answers the scrapes, made one after
the other over HTTP with the scrape token after a few routes have been requested; the latency is the client's
(p50, p99, max). The queue's query alone (`observability.scrape.read_queue`) is timed in this process too.

Both modes are measured: a single process, and prometheus-client's multiprocess mode (SWITCHBOARD_METRICS_DIR)
with `--processes` other processes' files in the directory (each counted what a worker counts, then exited), as a
scrape with `switchboard worker`s on the same host reads them.

The output is a table, then one JSON line with the same figures."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench import summary
from bench.database import bench_database, insert_runs, prepare
from bench.services import _switchboard, free_port, service
from switchboard.observability.scrape import read_queue

AGENTS = [f"agent-{n}" for n in range(8)]
SCRAPE_TOKEN = "bench-scrape-token"  # noqa: S105 - the bench's own server
# What a worker process counts: runs settled and their durations, by agent and status; a delivery.
_WORKER = f"""
from switchboard.observability.metrics import RUNS_SETTLED, RUN_SECONDS, WEBHOOK_DELIVERIES
for agent in {AGENTS!r}:
    for status in ('succeeded', 'failed'):
        RUNS_SETTLED.labels(agent, status).inc(7)
        RUN_SECONDS.labels(agent, status).observe(1.5)
WEBHOOK_DELIVERIES.labels('webhook', 'delivered').inc()
"""


async def _scrapes(url: str, count: int) -> tuple[list[float], int]:
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {SCRAPE_TOKEN}"}) as client:
        for path in ("/v1/me", "/v1/runs", "/v1/threads", "/v1/agents", "/v1/no/such/route"):
            await client.get(path)  # a few routes' series, as a running server has
        times: list[float] = []
        size = 0
        for _ in range(count):
            began = time.perf_counter()
            response = await client.get("/metrics")
            times.append((time.perf_counter() - began) * 1000)
            response.raise_for_status()
            size = len(response.content)
        return times, size


async def _mode(url: str, workdir: Path, args: argparse.Namespace, directory: Path | None) -> dict[str, Any]:
    port = free_port()
    env = {"SWITCHBOARD_DATABASE_URL": url, "SWITCHBOARD_METRICS_TOKEN": SCRAPE_TOKEN}
    env |= {"SWITCHBOARD_REQUEST_LOG_ENABLED": "false", "SWITCHBOARD_LOG_LEVEL": "WARNING"}
    if directory is not None:
        env["SWITCHBOARD_METRICS_DIR"] = str(directory)
    argv = [*_switchboard(), "serve", "--workers", "0", "--port", str(port)]
    name = "serve-multiprocess" if directory else "serve"
    async with service(name, argv, env, workdir, port) as server:
        if directory is not None:  # after the server's start, which empties a directory no live process uses
            worker_env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory)}
            for _ in range(args.processes):
                counted = await asyncio.create_subprocess_exec(sys.executable, "-c", _WORKER, env=worker_env)
                assert await counted.wait() == 0
        times, size = await _scrapes(server.url, args.scrapes)
    return {
        "mode": "multiprocess" if directory else "single process",
        "other_processes": args.processes if directory else 0,
        "bytes": size,
        "scrape_ms": summary(times),
    }


async def _measure(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    async with bench_database(workdir) as (url, where):
        ctx = await prepare(url, workdir, {})
        await insert_runs(ctx.engine, ctx.principal.user_id, AGENTS, args.runs, args.queued)
        queue_ms: list[float] = []
        for _ in range(args.scrapes):
            began = time.perf_counter()
            await read_queue(ctx.engine, AGENTS)
            queue_ms.append((time.perf_counter() - began) * 1000)
        await ctx.engine.dispose()
        modes = [await _mode(url, workdir, args, None)]
        directory = workdir / "metrics"
        modes.append(await _mode(url, workdir, args, directory))
    return {
        "database": where,
        "runs": args.runs,
        "queued": args.queued,
        "scrapes": args.scrapes,
        "queue_query_ms": summary(queue_ms),
        "modes": modes,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--queued", type=int, default=500, help="how many of the runs are still queued")
    parser.add_argument("--scrapes", type=int, default=300)
    parser.add_argument("--processes", type=int, default=8, help="other processes' files (multiprocess mode)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-metrics-") as tmp:
        result = asyncio.run(_measure(args, Path(tmp)))
    print(f"GET /metrics, {result['runs']} runs in the database ({result['queued']} queued), {args.scrapes} scrapes")
    print(f"{'mode':<44} {'bytes':>7} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for mode in result["modes"]:
        name = mode["mode"] + (f" (+{mode['other_processes']} processes' files)" if mode["other_processes"] else "")
        s = mode["scrape_ms"]
        print(f"{name:<44} {mode['bytes']:>7} {s['p50']:>8} {s['p99']:>8} {s['max']:>8}")
    q = result["queue_query_ms"]
    print(f"the queue's query alone: p50 {q['p50']} ms, p99 {q['p99']} ms, max {q['max']} ms")
    print(f"database: {result['database']}")
    print(json.dumps({"metrics_scrape": result}))


if __name__ == "__main__":
    main()
