"""The chat-turn benchmark of issue 9 (`make bench-chat`, or `python -m bench.chat_turns --help`).

One chat turn of the demo support agent is two model calls (the prompt → a call of `list_orders`; its result →
the answer) to a zero-delay fake OpenAI-compatible model, so the figures are what the server around the model
costs. Three scenarios, side by side in one run, on one PostgreSQL:

- support: the support demo's route, POST /api/v1/chat, each client a different user (one growing thread each);
- chat: Switchboard's POST /v1/chat, a new thread per turn;
- reference: a minimal FastAPI + asyncpg app making the same two model calls and writing one row per turn, with
  no durability (asynchronous commit), in its own database.

Under load, N clients (default 10) make turns back to back for a fixed time, in interleaved rounds (support,
chat, reference, then again), reported round by round (the support route's threads grow from round to round).
Then one client makes turns one at a time in each scenario and with the model called directly by the bench, for
the overhead; and the support route's first turns on a new thread against its turns near 150, for thread length.

The processes: the fake model (`bench.fake_model`), one `switchboard serve` (default settings but for the
database and the model; `--set NAME=VALUE` changes one) with the demo seeded by `switchboard demo` and the bench
users made through POST /v1/admin/users, and the reference app (`bench.reference_app`). See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import time
from collections.abc import Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench import fresh_workdir, load_average
from bench.chat_figures import Window, one_client, overhead, targets, thread_length, under_load
from bench.chat_load import PROMPT, Scenario, TurnCost, alternating, direct_scenario, http_scenario, load, one_by_one
from bench.chat_meter import STATS_SETTLE_SECONDS, Meter, Monitor, asyncpg_dsn, database_name
from bench.chat_report import print_table
from bench.cpu import cpu_seconds
from bench.database import bench_database, sibling_database
from bench.model_calls import model_client
from bench.report import machine
from bench.services import create_users, fake_model, reference_app, seed_demo, switchboard_env, switchboard_server
from switchboard.kit.logging import configure_logging


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.chat_turns", description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=10, help="concurrent clients under load (default 10)")
    parser.add_argument("--duration", type=float, default=15.0, help="seconds of load per scenario and round")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds under load (default 3)")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of load per scenario before the rounds")
    parser.add_argument("--single-turns", type=int, default=200, help="turns per scenario at one client")
    parser.add_argument("--short-turn", type=int, default=10, help="thread length: the early turn compared")
    parser.add_argument("--long-turn", type=int, default=150, help="thread length: the later turn compared")
    parser.add_argument(
        "--settle",
        type=float,
        default=STATS_SETTLE_SECONDS,
        help="seconds to wait after each window for PostgreSQL to publish its transaction counts",
    )
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="server environment")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    return parser.parse_args(argv)


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


async def window(scenario: Scenario, clients: int, seconds: float, settle: float, fake_pid: int) -> Window:
    """`clients` clients for `seconds`, with the server's CPU over that time and its database's transactions
    (counted from before the load until `settle` after it, so the turns in flight at the end are in); and the
    CPU of the load itself (this process and the fake model), which the server competes with for the cores."""
    assert scenario.meter is not None

    def load_cpu() -> float:
        return time.process_time() + (cpu_seconds(fake_pid) or 0.0)

    commits, rollbacks = await scenario.meter.transactions(settle=0)
    before, load_before = scenario.meter.cpu(), load_cpu()
    result = await load(scenario, clients, seconds)
    cpu, load_used = scenario.meter.cpu() - before, load_cpu() - load_before
    commits_after, rollbacks_after = await scenario.meter.transactions(settle)
    return Window(result, cpu, commits_after - commits, rollbacks_after - rollbacks, load_used)


@dataclass(frozen=True)
class Setup:
    scenarios: dict[str, Scenario]  # support, chat, reference: in the order they run
    direct: Scenario
    fake_pid: int
    postgres: str  # the server's version


async def start(stack: AsyncExitStack, args: argparse.Namespace, url: str, reference_url: str, workdir: Path) -> Setup:
    """The processes, the users, the meters and the clients, each stopped or closed by `stack`."""
    fake = await stack.enter_async_context(fake_model(workdir))
    model_url = f"{fake.url}/v1"
    env = switchboard_env(url, workdir, model_url, dict(item.split("=", 1) for item in args.set))
    admin_key = await seed_demo(env, workdir)
    server = await stack.enter_async_context(switchboard_server(env, workdir))
    reference = await stack.enter_async_context(reference_app(workdir, asyncpg_dsn(reference_url), model_url))
    _progress(f"switchboard serve (pid {server.pid}) at {server.url}, reference (pid {reference.pid})")
    # One user per client, and one more whose thread the one-client phase starts from its first turn.
    keys = await create_users(server.url, admin_key, args.clients + 1, "bench")
    monitor = await Monitor.connect(url)
    stack.push_async_callback(monitor.close)
    ours = Meter(monitor, server.pid, database_name(url))
    theirs = Meter(monitor, reference.pid, database_name(reference_url))
    for meter in (ours, theirs):
        await meter.start()
        stack.push_async_callback(meter.stop)
    limits = httpx.Limits(max_connections=args.clients + 1, max_keepalive_connections=args.clients + 1)
    http = await stack.enter_async_context(httpx.AsyncClient(timeout=120, limits=limits))
    model = model_client(model_url)
    stack.push_async_callback(model.close)
    chat_body = {"agent": "support", "message": PROMPT}
    scenarios = {
        "support": http_scenario("support", f"{server.url}/api/v1/chat", {"prompt": PROMPT}, keys, ours, http),
        "chat": http_scenario("chat", f"{server.url}/v1/chat", chat_body, keys, ours, http),
        "reference": http_scenario("reference", f"{reference.url}/chat", {"message": PROMPT}, [], theirs, http),
    }
    postgres = str(await monitor.connection.fetchval("SHOW server_version"))
    return Setup(scenarios, direct_scenario(model), fake.pid, postgres)


async def under_load_rounds(setup: Setup, args: argparse.Namespace) -> dict[str, list[Window]]:
    for scenario in setup.scenarios.values():
        warm = await load(scenario, args.clients, args.warmup)
        _progress(f"warm-up {scenario.name}: {warm.turns} turns, {len(warm.errors)} failed")
    await asyncio.sleep(args.settle)
    windows: dict[str, list[Window]] = {name: [] for name in setup.scenarios}
    for number in range(1, args.rounds + 1):
        for name, scenario in setup.scenarios.items():
            done = await window(scenario, args.clients, args.duration, args.settle, setup.fake_pid)
            windows[name].append(done)
            _progress(f"round {number} {name}: {done.load.turns / done.load.seconds:.1f} turns/s")
    return windows


async def one_client_turns(setup: Setup, args: argparse.Namespace) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Each scenario's figures at one client, its turns alternating with the direct calls' (the overhead is over
    those), all the direct calls' together, and the thread length."""
    turns = max(args.single_turns, args.long_turn + 5)
    client = args.clients  # the fresh user: the support route's thread starts at its first turn here
    await one_by_one(setup.direct, 5, client)  # warm: the direct client's connections are new
    single: dict[str, Any] = {}
    direct: list[TurnCost] = []
    thread: dict[str, Any] | None = None
    for scenario in setup.scenarios.values():
        costs, baseline = await alternating(scenario, setup.direct, turns, client)
        direct += baseline
        single[scenario.name] = overhead(one_client(costs), one_client(baseline))
        if scenario.name == "support":
            thread = thread_length(costs, args.short_turn, args.long_turn)
        _progress(f"one client {scenario.name}: p50 {single[scenario.name]['p50_ms']} ms")
    return {"direct": one_client(direct), **single}, thread


async def measure(args: argparse.Namespace, url: str, reference_url: str, workdir: Path, kind: str) -> dict[str, Any]:
    async with AsyncExitStack() as stack:
        setup = await start(stack, args, url, reference_url, workdir)
        windows = await under_load_rounds(setup, args)
        single, thread = await one_client_turns(setup, args)
    return {
        "bench": "chat_turns",
        "clients": args.clients,
        "rounds": args.rounds,
        "duration_s": args.duration,
        "under_load": {name: under_load(ws) for name, ws in windows.items()},
        "rounds_by_scenario": {name: [under_load([w]) for w in ws] for name, ws in windows.items()},
        "one_client": single,
        "thread_length": thread,
        "server_settings": dict(item.split("=", 1) for item in args.set),
        **machine(kind, setup.postgres),
    }


async def main_async(args: argparse.Namespace) -> int:
    workdir = fresh_workdir("switchboard-bench-chat-")
    load_before = os.getloadavg()
    try:
        async with bench_database(workdir) as (url, kind), sibling_database(url, "reference") as reference_url:
            report = await measure(args, url, reference_url, workdir, kind)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    report["load_average"] = load_average(load_before)
    report["targets_met"] = all(met for _, _, met in targets(report))
    print_table(report)
    print(json.dumps(report, separators=(",", ":")))
    return 1 if args.check and not report["targets_met"] else 0


def main(argv: Sequence[str] | None = None) -> None:
    configure_logging("WARNING", "console")  # stdout: the table and the JSON line only
    sys.exit(asyncio.run(main_async(parse_args(argv))))


if __name__ == "__main__":
    main()
