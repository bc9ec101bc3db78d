"""The notification delivery benchmark (`make bench-deliveries`, or `python -m bench.deliveries --help`).

What it measures, against a local webhook receiver in its own process (`bench.delivery_sink`: 200 "ok" to
everything, arrival times and signatures kept), so the figures are the dispatcher's and not a network's:

- throughput: N deliveries are due at once (finished runs' `run.succeeded`, ~1.5 KB bodies, written into the
  outbox by `RunNotices`, as a settle transaction writes them), then ONE `switchboard worker` process starts and
  its dispatcher sends them. Deliveries per second = N / (last `delivered_at` - first attempt's `started_at`),
  database timestamps, so start-up is excluded. Tried for each SWITCHBOARD_DISPATCHER_CONCURRENCY given; the
  best is reported.
- latency: with an idle worker process running, runs of the bench agent are created one at a time; each
  settles with its delivery in the same transaction. Settle→first attempt = the first attempt's `started_at`
  minus the run's `finished_at`.

Every delivery is checked: it succeeded, its `webhook-id` arrived once per attempt and nothing else did, and
every request's signature verifies with the `standardwebhooks` library over the body the outbox holds.

The database is the run-engine bench's (`bench.database`): a fresh embedded PostgreSQL, or a fresh database on
SWITCHBOARD_BENCH_DATABASE_URL. The worker runs with default settings but SWITCHBOARD_ALLOW_PRIVATE_URLS=true
(the sink is on loopback) and a bench SWITCHBOARD_SECRET_KEY; `--set NAME=VALUE` overrides.

The pieces: `bench.delivery_sink`, `bench.delivery_load` (endpoint, runs, outbox), `bench.delivery_checks`,
`bench.delivery_throughput`, `bench.delivery_latency` and `bench.delivery_report`; this module holds the
command line and runs them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from bench import comma_ints, fresh_workdir, load_average
from bench.database import Context, bench_database, prepare
from bench.delivery_latency import Latency, latency
from bench.delivery_load import BENCH_SECRET_KEY, add_endpoint, body_sizes, finished_runs
from bench.delivery_report import TARGET_DELIVERIES_PER_SECOND, TARGET_P50_MS, print_table
from bench.delivery_sink import SinkProcess, sink_process
from bench.delivery_throughput import Throughput, throughput
from bench.report import environment
from switchboard.kit.logging import configure_logging

WORKER_SETTINGS = {"SWITCHBOARD_ALLOW_PRIVATE_URLS": "true", "SWITCHBOARD_SECRET_KEY": BENCH_SECRET_KEY}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.deliveries", description=__doc__.split("\n\n")[0])
    parser.add_argument("--deliveries", type=int, default=5000, help="deliveries sent per throughput measurement")
    parser.add_argument(
        "--concurrency", type=comma_ints, default=[16, 32, 64], help="SWITCHBOARD_DISPATCHER_CONCURRENCY values to try"
    )
    parser.add_argument("--latency-runs", type=int, default=200, help="runs created one at a time")
    parser.add_argument("--spacing-ms", type=float, default=50.0, help="pause after each latency run's creation")
    parser.add_argument(
        "--latency-concurrency", type=int, default=None, help="dispatcher concurrency for latency (default: best)"
    )
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="worker environment")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    return parser.parse_args(argv)


async def main_async(args: argparse.Namespace) -> int:
    overrides = {**WORKER_SETTINGS, **dict(item.split("=", 1) for item in args.set)}
    workdir = fresh_workdir()
    load_before = os.getloadavg()
    try:
        async with bench_database(workdir) as (url, kind), sink_process(workdir) as sink:
            ctx = await prepare(url, workdir, overrides)
            try:
                report = await measure(ctx, sink, args, kind)
            finally:
                await ctx.engine.dispose()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    report["load_average"] = load_average(load_before)
    print_table(report)
    print(json.dumps(report, separators=(",", ":")))
    return 1 if args.check and not report["targets_met"] else 0


async def measure(ctx: Context, sink: SinkProcess, args: argparse.Namespace, kind: str) -> dict[str, Any]:
    secret = await add_endpoint(ctx, f"{sink.url}/hook")
    tried: list[Throughput] = []
    sizes = (0, 0)
    if not args.skip_throughput:
        run_ids = await finished_runs(ctx, args.deliveries)
        for concurrency in args.concurrency:
            result = await throughput(ctx, sink, secret, run_ids, concurrency)
            print(
                f"sent {result.deliveries} deliveries at dispatcher concurrency {concurrency}: "
                f"{result.deliveries_per_second:.0f} deliveries/s",
                file=sys.stderr,
            )
            tried.append(result)
        sizes = await body_sizes(ctx)
    best = max(tried, key=lambda t: t.deliveries_per_second) if tried else None
    lat: Latency | None = None
    if not args.skip_latency:
        concurrency = args.latency_concurrency or (best.dispatcher_concurrency if best else args.concurrency[0])
        lat = await latency(ctx, sink, secret, concurrency, args.latency_runs, args.spacing_ms)
        print(f"settle->first attempt: p50 {lat.p50_ms} ms, p99 {lat.p99_ms} ms", file=sys.stderr)
    met = (best is None or best.deliveries_per_second >= TARGET_DELIVERIES_PER_SECOND) and (
        lat is None or lat.p50_ms < TARGET_P50_MS
    )
    return {
        "bench": "deliveries",
        "targets_met": met,
        "throughput": asdict(best) if best else None,
        "throughput_tried": [asdict(t) for t in tried],
        "body_bytes": f"{sizes[0]}-{sizes[1]}",
        "latency": asdict(lat) if lat else None,
        **await environment(ctx, kind),
        "worker_settings": {k: v for k, v in ctx.overrides.items() if k != "SWITCHBOARD_SECRET_KEY"},
    }


def main(argv: Sequence[str] | None = None) -> None:
    configure_logging("WARNING", "console")  # stdout: the table and the JSON line only
    sys.exit(asyncio.run(main_async(parse_args(argv))))


if __name__ == "__main__":
    main()
