"""`make bench-limiter`: what a rate-limit check costs, on PostgreSQL and on Redis.

A check is what a run-creating request pays for its RPM (`hit`; with a look at TPM in the same round trip,
`hit_and_peek`), what every model request pays to look at TPM (`peek`), and what every model response pays to
charge its tokens (`charge`). Each is timed one after the
other from this process, as a request makes it (p50, p99, max over `--checks`): on one key that always has room,
over `--keys` keys in turn (a busy server's users), and on a key that is over its limit (the refusal). Then
`--tasks` tasks at once over the keys (checks per second, and their latency under that load).

PostgreSQL: a fresh database (embedded, or on SWITCHBOARD_BENCH_DATABASE_URL / SWITCHBOARD_DATABASE_URL), the
server's own pool (SQLAlchemy + asyncpg). Redis: SWITCHBOARD_REDIS_URL, or redis://127.0.0.1:6379/0 if it answers;
skipped otherwise. The output is a table, then one JSON line with the same figures."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bench import fresh_workdir, load_average, summary
from bench.database import bench_database, bench_settings
from bench.report import machine
from switchboard.limits.limiter import Rate, RateLimiter
from switchboard.limits.postgres_store import PostgresLimiter
from switchboard.limits.redis_store import RedisLimiter
from switchboard.migrations import runner as migrations
from switchboard.plugins.loader import load_plugins

ROOMY = Rate(10**9)  # never over: every hit is admitted
TIGHT = Rate(1)  # over after the first


async def _timed(count: int, check: Callable[[int], Awaitable[object]]) -> dict[str, float]:
    times: list[float] = []
    for i in range(count):
        began = time.perf_counter()
        await check(i)
        times.append((time.perf_counter() - began) * 1000)
    return summary(times, places=3)


async def _concurrent(limiter: RateLimiter, keys: list[str], tasks: int, seconds: float) -> dict[str, Any]:
    times: list[float] = []
    stop = time.perf_counter() + seconds

    async def task(n: int) -> None:
        i = n
        while time.perf_counter() < stop:
            began = time.perf_counter()
            await limiter.hit(keys[i % len(keys)], ROOMY)
            times.append((time.perf_counter() - began) * 1000)
            i += tasks

    began = time.perf_counter()
    await asyncio.gather(*(task(n) for n in range(tasks)))
    return {
        "tasks": tasks,
        "checks_per_second": round(len(times) / (time.perf_counter() - began)),
        **summary(times, places=3),
    }


async def _measure(limiter: RateLimiter, args: argparse.Namespace) -> dict[str, Any]:
    run = uuid.uuid4().hex[:8]
    keys = [f"bench:{run}:user:{n}:rpm" for n in range(args.keys)]
    one = f"bench:{run}:one"
    over = f"bench:{run}:over"
    for key in keys:  # every key's row made (the first check of a key makes it: once in its life)
        await limiter.hit(key, ROOMY)
    await limiter.hit(one, ROOMY)
    await limiter.hit(over, TIGHT)
    return {
        "hit_one_key": await _timed(args.checks, lambda i: limiter.hit(one, ROOMY)),
        "hit_many_keys": await _timed(args.checks, lambda i: limiter.hit(keys[i % len(keys)], ROOMY)),
        "hit_refused": await _timed(args.checks, lambda i: limiter.hit(over, TIGHT)),
        "hit_and_peek": await _timed(
            args.checks, lambda i: limiter.hit_and_peek(keys[i % len(keys)], ROOMY, one, ROOMY)
        ),
        "peek": await _timed(args.checks, lambda i: limiter.peek(keys[i % len(keys)], ROOMY)),
        "charge": await _timed(args.checks, lambda i: limiter.charge(keys[i % len(keys)], ROOMY, 500)),
        "concurrent": await _concurrent(limiter, keys, args.tasks, args.seconds),
    }


async def _redis_url() -> str | None:
    url = os.environ.get("SWITCHBOARD_REDIS_URL") or "redis://127.0.0.1:6379/0"
    client = aioredis.Redis.from_url(url, socket_connect_timeout=0.5)
    try:
        await client.ping()
        return url
    except aioredis.RedisError:
        return None
    finally:
        await client.aclose()


async def _run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    stores: dict[str, Any] = {}
    async with bench_database(workdir) as (url, where):
        engine = create_async_engine(url, pool_size=args.tasks + 2)  # a connection per task, as a server's pool
        try:
            await migrations.upgrade(engine, load_plugins(bench_settings(url)))
            async with engine.connect() as connection:
                postgres = str(await connection.scalar(text("SHOW server_version")))
            stores["postgresql"] = {"where": where, **await _measure(PostgresLimiter(engine), args)}
        finally:
            await engine.dispose()
    redis_url = await _redis_url()
    if redis_url is not None:
        limiter = RedisLimiter(redis_url, f"switchboard-bench:{uuid.uuid4().hex[:8]}:")
        try:
            stores["redis"] = {"where": redis_url, **await _measure(limiter, args)}
        finally:
            keys = [key async for key in limiter.client.scan_iter(match=limiter.prefix + "*")]
            if keys:
                await limiter.client.delete(*keys)
            await limiter.aclose()
    return {"stores": stores, **machine(where, postgres)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checks", type=int, default=2000, help="checks timed one after the other, per kind")
    parser.add_argument("--keys", type=int, default=1000, help="keys the many-key checks go round")
    parser.add_argument("--tasks", type=int, default=16, help="tasks checking at once")
    parser.add_argument("--seconds", type=float, default=5.0, help="how long the tasks check")
    args = parser.parse_args()
    load_before = os.getloadavg()
    workdir = fresh_workdir("switchboard-bench-limiter-")
    try:
        result = asyncio.run(_run(args, workdir))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    result["load_average"] = load_average(load_before)
    print(f"A rate-limit check, timed from the caller ({args.checks} of each, one after the other), in ms")
    print(f"{'store':<11} {'check':<16} {'p50':>7} {'p99':>7} {'max':>7}")
    for store, figures in result["stores"].items():
        for kind in ("hit_one_key", "hit_many_keys", "hit_refused", "hit_and_peek", "peek", "charge"):
            s = figures[kind]
            print(f"{store:<11} {kind:<16} {s['p50']:>7} {s['p99']:>7} {s['max']:>7}")
        c = figures["concurrent"]
        print(
            f"{store:<11} {c['tasks']} tasks at once: {c['checks_per_second']} checks/s, "
            f"p50 {c['p50']} ms, p99 {c['p99']} ms ({figures['where']})"
        )
    print(f"PostgreSQL {result['postgres']}; {result['cpus']} CPUs, {result['cpu']}; load {result['load_average']}")
    print(json.dumps({"limiter": result}))


if __name__ == "__main__":
    main()
