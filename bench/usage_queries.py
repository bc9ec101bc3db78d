"""`make bench-usage`: what the usage accounting's queries cost with a busy month of model requests in the
database.

A fresh database holds `--users` users (default 100), each with `--runs` runs (default 300) spread over the last
30 days, each run with `--steps` model_request steps (default 10; 300,000 in all), priced; a tenth of the runs
are children. Then, one after the other, each timed `--repeat` times (default 200; p50, p99):

- the budget check's statement (`usage.budgets.spending`: today's spend, as `check_budget` and the run's gate
  before each model request read it) for a random user: with the user's cap only (a tier's, the default), and
  with an agent's cap (an agent with an eighth of all runs) and an API key's too;
- a user's usage by day over 30 days (`GET /v1/usage`'s statement);
- every user's usage by user over 30 days (`GET /v1/admin/usage?group_by=user`'s).

The output is a table, then one JSON line with the same figures."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import text

from bench import load_average
from bench.database import bench_database, prepare
from switchboard.kit.clock import utc_now
from switchboard.usage.budgets import spending
from switchboard.usage.report import usage_report

_USERS = """
INSERT INTO users (email, name) SELECT 'bench-' || n || '@example.com', 'Bench ' || n FROM generate_series(1, :n) n
"""
_RUNS = """
WITH t AS (
    INSERT INTO threads (id, user_id, agent, turns)
    SELECT gen_random_uuid(), u.id, 'agent-' || (n % 8), 1
    FROM users u CROSS JOIN generate_series(1, :runs) n
    RETURNING id, user_id, agent
)
INSERT INTO runs (id, user_id, thread_id, turn, agent, status, input, multitask_strategy, created_at, updated_at,
                  model_name, cost_usd)
SELECT gen_random_uuid(), t.user_id, t.id, 1, t.agent, 'succeeded', 'hello', 'enqueue',
       now() - random() * interval '30 days', now(), 'openai:gpt-4o', 0
FROM t
"""
_CHILDREN = """
UPDATE runs c SET parent_id = p.id, step = 'call-' || c.id
FROM (SELECT id, user_id, row_number() OVER (PARTITION BY user_id ORDER BY id) AS k FROM runs) p,
     (SELECT id, user_id, row_number() OVER (PARTITION BY user_id ORDER BY id) AS k FROM runs) cc
WHERE cc.id = c.id AND p.user_id = cc.user_id AND cc.k % 10 = 0 AND p.k = cc.k - 1
"""
_STEPS = """
INSERT INTO run_steps (run_id, kind, status, attempt, model_name, usage, cost_usd, started_at, finished_at)
SELECT r.id, 'model_request', 'succeeded', 1, 'openai:gpt-4o',
       '{"input_tokens": 1000, "output_tokens": 500, "cache_read_tokens": 0, "cache_write_tokens": 0}',
       0.0075, r.created_at + s * interval '2 seconds', r.created_at + s * interval '2 seconds'
FROM runs r CROSS JOIN generate_series(1, :steps) s
ORDER BY 8  -- as a live database writes them: in time order
"""


def pick(ids: list[int]) -> int:
    return random.choice(ids)  # noqa: S311 - spreading the queries over users, not a secret


def _ms(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 3),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 3),
    }


async def _timed(repeat: int, once: Callable[[], Awaitable[Any]]) -> dict[str, float]:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        await once()
        samples.append(time.perf_counter() - started)
    return _ms(samples)


async def _measure(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    before = os.getloadavg()
    async with bench_database(workdir) as (url, where):
        ctx = await prepare(url, workdir, {})
        started = time.perf_counter()
        async with ctx.engine.begin() as connection:
            await connection.execute(text(_USERS), {"n": args.users})
            await connection.execute(text(_RUNS), {"runs": args.runs})
            await connection.execute(text(_CHILDREN))
            await connection.execute(text(_STEPS), {"steps": args.steps})
        async with ctx.engine.connect() as connection:
            await connection.execute(text("COMMIT"))
            await connection.execute(text("VACUUM ANALYZE"))
            steps = int((await connection.execute(text("SELECT count(*) FROM run_steps"))).scalar_one())
            user_ids = list((await connection.execute(text("SELECT id FROM users"))).scalars())
        filled = time.perf_counter() - started
        now = utc_now()
        month = now - timedelta(days=30)

        async def user_budget() -> None:  # the default: the tier's daily cap
            async with ctx.engine.connect() as connection:
                await spending(
                    connection,
                    now=now,
                    user_id=pick(user_ids),
                    agent="agent-3",
                    api_key_id=None,
                    user_cap=Decimal(1),
                    agent_cap=None,
                    key_cap=None,
                )

        async def every_budget() -> None:  # a user's, an agent's (an eighth of every run) and a key's cap
            async with ctx.engine.connect() as connection:
                await spending(
                    connection,
                    now=now,
                    user_id=pick(user_ids),
                    agent="agent-3",
                    api_key_id=1,
                    user_cap=Decimal(1),
                    agent_cap=Decimal(5),
                    key_cap=Decimal(2),
                )

        async def mine() -> None:
            async with ctx.engine.connect() as connection:
                await usage_report(connection, group_by="day", since=month, until=now, user_id=pick(user_ids))

        async def everyone() -> None:
            async with ctx.engine.connect() as connection:
                await usage_report(connection, group_by="user", since=month, until=now, user_id=None)

        figures = {
            "database": where,
            "model_request_steps": steps,
            "fill_seconds": round(filled, 1),
            "budget_check_user_cap": await _timed(args.repeat, user_budget),
            "budget_check_user_agent_key_caps": await _timed(args.repeat, every_budget),
            "usage_by_day_one_user_30_days": await _timed(args.repeat, mine),
            "usage_by_user_everyone_30_days": await _timed(max(5, args.repeat // 20), everyone),
            "load_average": load_average(before),
        }
        await ctx.engine.dispose()
        return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--runs", type=int, default=300, help="runs per user")
    parser.add_argument("--steps", type=int, default=10, help="model requests per run")
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        figures = asyncio.run(_measure(args, Path(tmp)))
    print(f"{figures['model_request_steps']} model_request steps ({figures['database']})")
    names = ("budget_check_user_cap", "budget_check_user_agent_key_caps", "usage_by_day_one_user_30_days")
    for name in (*names, "usage_by_user_everyone_30_days"):
        print(f"  {name:36} p50 {figures[name]['p50_ms']:>9} ms   p99 {figures[name]['p99_ms']:>9} ms")
    print(json.dumps(figures))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
