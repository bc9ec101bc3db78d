"""`make bench-console`: how long the console's pages take to answer, with a busy user's history in the database.

`switchboard demo` seeds the demo shop on a fresh database; the demo admin then gets `--runs` runs inserted with
SQL (default 10,000, over the demo agents), a few real ones through the API (a chat turn with a tool call, a
refund waiting for approval, a pipeline), a schedule and a document. `switchboard serve` (a subprocess, one
embedded worker) answers; the bench signs in to the console as that admin and requests each page `--requests`
times one after the other, after a warm-up. The time is the client's, on loopback: the server's time plus well
under a millisecond. The target (issue 13) is under 100 ms for a first page.

The output is a table, then one JSON line with the same figures."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bench import load_average, summary
from bench.database import bench_database, insert_runs
from bench.services import _switchboard, free_port, seed_demo, service
from switchboard.console.rendering import NAV

# Every page the menu leads to (the admin's three instead of its index, which redirects), and a run's page.
PAGES = [item.path for item in NAV if item.path != "/console/admin"]
PAGES += ["/console/runs/{run}", "/console/admin/users", "/console/admin/keys", "/console/admin/logs"]
DEMO_AGENTS = ["support", "summarizer", "sentiment", "entities", "assistant"]
TARGET_MS = 100


async def _real_work(api: httpx.AsyncClient) -> str:
    """A few runs made as a person would, so the pages have each kind of thing to show; the chat turn's run id."""
    turn = await api.post("/v1/chat", json={"agent": "support", "message": "Where is my order 1?"})
    turn.raise_for_status()
    await api.post("/v1/chat", json={"agent": "support", "message": "Please refund order 3"})
    await api.post("/v1/runs/wait", json={"agent": "text-analysis", "message": "Acme Corp in Berlin is great."})
    await api.post(
        "/v1/schedules",
        json={"name": "daily digest", "agent": "summarizer", "message": "Summarise the day.", "cron": "0 9 * * *"},
    )
    await api.post(
        "/v1/knowledge/documents", json={"title": "Returns", "text": "# Returns\n\nWithin 30 days, with a receipt."}
    )
    return str(turn.json()["run_id"])


async def _time_pages(url: str, admin_key: str, requests: int) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(base_url=url, timeout=60) as browser:
        async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {admin_key}"}) as api:
            run = await _real_work(api)
        signed_in = await browser.post("/console/sign-in", data={"api_key": admin_key})
        assert signed_in.status_code == 303, signed_in.text
        rows: list[dict[str, Any]] = []
        for template in PAGES:
            path = template.format(run=run)
            first = time.perf_counter()
            response = await browser.get(path)
            first_ms = (time.perf_counter() - first) * 1000
            if response.status_code != 200:
                rows.append({"page": template, "status": response.status_code})
                continue
            for _ in range(3):
                await browser.get(path)
            times: list[float] = []
            for _ in range(requests):
                began = time.perf_counter()
                response = await browser.get(path)
                times.append((time.perf_counter() - began) * 1000)
            rows.append(
                {"page": template, "status": 200, "bytes": len(response.content), "first_ms": round(first_ms, 1)}
                | summary(times, places=1)
            )
        return rows


async def _measure(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    before = os.getloadavg()
    async with bench_database(workdir) as (url, where):
        env = {
            "SWITCHBOARD_DATABASE_URL": url,
            "SWITCHBOARD_DATA_DIR": str(workdir / "switchboard-data"),
            "SWITCHBOARD_MODEL": "offline",
            "SWITCHBOARD_LOG_LEVEL": "WARNING",
            "SWITCHBOARD_TIERS": "{}",
        }
        admin_key = await seed_demo(env, workdir)
        engine = create_async_engine(url)
        try:
            admin = await engine.connect()
            user_id = int(await admin.scalar(text("SELECT id FROM users WHERE email = 'admin@example.com'")) or 0)
            await admin.close()
            await insert_runs(engine, user_id, DEMO_AGENTS, args.runs, queued=0)
        finally:
            await engine.dispose()
        port = free_port()
        async with service("serve", [*_switchboard(), "serve", "--port", str(port)], env, workdir, port) as server:
            rows = await _time_pages(server.url, admin_key, args.requests)
    return {
        "database": where,
        "runs": args.runs,
        "requests": args.requests,
        "load": load_average(before),
        "pages": rows,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10_000, help="runs of the signed-in user in the database")
    parser.add_argument("--requests", type=int, default=50, help="timed requests per page")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-console-") as tmp:
        directory = Path(tmp)
        directory.chmod(0o755)  # the embedded server runs as its own system user when we are root
        result = asyncio.run(_measure(args, directory))
    print(f"Console pages as the demo admin, {result['runs']} runs in the database, {args.requests} requests each")
    print(f"{'page':<24} {'bytes':>7} {'first ms':>9} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7}")
    slow = []
    for row in result["pages"]:
        if row["status"] != 200:
            print(f"{row['page']:<24} status {row['status']}")
            slow.append(row["page"])
            continue
        print(
            f"{row['page']:<24} {row['bytes']:>7} {row['first_ms']:>9} {row['p50']:>7} {row['p99']:>7} {row['max']:>7}"
        )
        if row["p50"] > TARGET_MS:
            slow.append(row["page"])
    print(f"database: {result['database']}; load {result['load']}")
    print(f"over {TARGET_MS} ms at p50 (or not 200): {', '.join(slow) or 'none'}")
    print(json.dumps({"console_pages": result}))


if __name__ == "__main__":
    main()
