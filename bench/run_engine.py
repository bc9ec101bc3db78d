"""The run-engine benchmark (`make bench`, or `python -m bench.run_engine --help`).

What it measures, with a trivial offline agent (it answers "ok" through the offline model's machinery: one
model request, streamed, no tools), so the figures are the engine's and not a model's:

- throughput: N runs are enqueued through `RunService.create` (the code path `POST /v1/runs` takes), then ONE
  `switchboard worker --drain --concurrency C` process drains them. Runs per second = N / (last run's
  finished_at - first run's started_at), both database timestamps, so process start-up is excluded. Each run
  does everything a real one does: claim under a lease, load, write its messages, steps and numbered events
  (fenced by the lease), settle. Tried for each C given; the best is reported.
- latency: with an idle worker process already running (waiting on NOTIFY), runs are created one at a time,
  each in its own transaction, a few ms apart. Enqueue→start = the run's started_at (set by the claim) minus
  the moment the creating transaction was about to commit (clock_timestamp() as its last statement); the
  run's created_at (the creating transaction's start, a few ms earlier still) is reported alongside.

The database is a fresh embedded PostgreSQL (temporary data dir), or, when SWITCHBOARD_BENCH_DATABASE_URL or
SWITCHBOARD_DATABASE_URL is set, a fresh database created on that server and dropped at the end. The worker
runs with default settings (only the database URL and the bench plugin are set; `--set NAME=VALUE` overrides).

The pieces: `bench.agent` (the bench agent and its plugin), `bench.database` (the fresh database and the
context), `bench.worker` (the worker process), `bench.cpu` (CPU accounting), `bench.throughput`,
`bench.latency`, `bench.agent_alone` and `bench.report`; this module holds the command line and runs them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench import comma_ints, fresh_workdir, load_average
from bench.agent_alone import agent_alone
from bench.database import Context, bench_database, prepare
from bench.latency import Latency, latency
from bench.report import TARGET_P50_MS, TARGET_RUNS_PER_SECOND, environment, print_profile, print_table
from bench.throughput import Throughput, throughput
from switchboard.kit.logging import configure_logging


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run_engine", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5000, help="runs drained per throughput measurement")
    parser.add_argument("--concurrency", type=comma_ints, default=[16, 32, 64], help="worker concurrencies to try")
    parser.add_argument("--latency-runs", type=int, default=200, help="runs created one at a time")
    parser.add_argument("--spacing-ms", type=float, default=15.0, help="pause after each latency run's commit")
    parser.add_argument("--latency-concurrency", type=int, default=None, help="default: the best throughput C")
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument(
        "--profile",
        nargs="?",
        const="",
        default=None,
        metavar="OUT.prof",
        help="then drain once more under cProfile, print the top costs (and keep the stats in OUT.prof)",
    )
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="worker environment")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    return parser.parse_args(argv)


async def main_async(args: argparse.Namespace) -> int:
    overrides = dict(item.split("=", 1) for item in args.set)
    workdir = fresh_workdir()
    load_before = os.getloadavg()
    try:
        async with bench_database(workdir) as (url, kind):
            ctx = await prepare(url, workdir, overrides)
            try:
                report = await measure(ctx, args, kind)
            finally:
                await ctx.engine.dispose()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    report["load_average"] = load_average(load_before)
    print_table(report)
    print(json.dumps(report, separators=(",", ":")))
    if args.profile is not None:
        print_profile(Path(args.profile))
    return 1 if args.check and not report["targets_met"] else 0


async def measure(ctx: Context, args: argparse.Namespace, kind: str) -> dict[str, Any]:
    tried: list[Throughput] = []
    if not args.skip_throughput:
        for concurrency in args.concurrency:
            result = await throughput(ctx, concurrency, args.runs)
            print(
                f"drained {result.runs} runs at concurrency {concurrency}: {result.runs_per_second:.0f} runs/s",
                file=sys.stderr,
            )
            tried.append(result)
    best = max(tried, key=lambda t: t.runs_per_second) if tried else None
    lat: Latency | None = None
    if not args.skip_latency:
        concurrency = args.latency_concurrency or (best.concurrency if best else args.concurrency[0])
        lat = await latency(ctx, concurrency, args.latency_runs, args.spacing_ms)
        print(f"latency at concurrency {concurrency}: p50 {lat.p50_ms} ms, p99 {lat.p99_ms} ms", file=sys.stderr)
    if args.profile is not None:
        args.profile = args.profile or str(Path(tempfile.gettempdir()) / "switchboard-bench-worker.prof")
        await throughput(ctx, best.concurrency if best else args.concurrency[0], args.runs, Path(args.profile))
    alone = await agent_alone(ctx)
    met = (best is None or best.runs_per_second >= TARGET_RUNS_PER_SECOND) and (
        lat is None or lat.p50_ms < TARGET_P50_MS
    )
    return {
        "bench": "run_engine",
        "targets_met": met,
        "throughput": asdict(best) if best else None,
        "throughput_tried": [asdict(t) for t in tried],
        "latency": asdict(lat) if lat else None,
        "agent_alone_cpu_ms_per_run": alone,
        **await environment(ctx, kind),
        "worker_settings": ctx.overrides,
    }


def main(argv: Sequence[str] | None = None) -> None:
    configure_logging("WARNING", "console")  # stdout: the table and the JSON line only
    sys.exit(asyncio.run(main_async(parse_args(argv))))


if __name__ == "__main__":
    main()
