"""The report: what was measured and where (database, machine, versions, commit), printed as a table and, by the
caller, as one JSON line with the same figures; and, with `--profile`, the profiled worker's top costs.
"""

from __future__ import annotations

import os
import platform
import pstats
import subprocess
from importlib.metadata import version
from pathlib import Path
from typing import Any

from sqlalchemy import text

from bench import ROOT
from bench.database import Context

TARGET_RUNS_PER_SECOND = 500.0
TARGET_P50_MS = 20.0


def _git_commit() -> str:
    # `git` knows every layout (a worktree's .git is a file, refs may be packed); without it, read .git/HEAD.
    try:
        found = subprocess.run(  # noqa: S603 - fixed arguments
            ["git", "-C", str(ROOT), "rev-parse", "--short=12", "HEAD"],  # noqa: S607 - git from PATH
            capture_output=True,
            text=True,
            check=False,
        )
        if found.returncode == 0:
            return found.stdout.strip()
    except OSError:
        pass
    head = ROOT / ".git" / "HEAD"
    try:
        ref = head.read_text().strip()
        if ref.startswith("ref: "):
            return (ROOT / ".git" / ref[5:]).read_text().strip()[:12]
        return ref[:12]
    except OSError:
        return "unknown"


async def _server_version(ctx: Context) -> str:
    async with ctx.engine.connect() as connection:
        return str((await connection.execute(text("SHOW server_version"))).scalar_one()).split()[0]


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


async def environment(ctx: Context, database: str) -> dict[str, Any]:
    """Where the figures were measured: the report's fields after the figures, in their order."""
    return machine(database, await _server_version(ctx))


def machine(database: str, postgres: str) -> dict[str, Any]:
    """`environment`'s fields, for a PostgreSQL server of version `postgres` (SHOW server_version)."""
    return {
        "database": database,
        "postgres": postgres.split()[0],
        "cpus": os.cpu_count(),
        "cpu": _cpu(),
        "python": platform.python_version(),
        "libraries": ", ".join(f"{name} {version(name)}" for name in ("pydantic-ai-slim", "sqlalchemy", "asyncpg")),
        "commit": _git_commit(),
    }


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f} ms"


def print_table(report: dict[str, Any]) -> None:
    rows: list[tuple[str, str, str]] = []
    best = report["throughput"]
    if best is not None:
        rows += [
            ("throughput", f"{best['runs_per_second']:.0f} runs/s", f"target >= {TARGET_RUNS_PER_SECOND:.0f}"),
            ("  runs drained", str(best["runs"]), f"by one worker process, concurrency {best['concurrency']}"),
            ("  drain time", f"{best['seconds']:.2f} s", f"worker process lifetime {best['process_seconds']:.2f} s"),
            (
                "  CPU per run",
                f"worker {_ms(best['worker_cpu_ms_per_run'])}",
                f"PostgreSQL backends {_ms(best['postgres_cpu_ms_per_run'])}",
            ),
            ("  events per run", best["events_per_run"], ""),
        ]
        rows += [
            (f"  concurrency {t['concurrency']}", f"{t['runs_per_second']:.0f} runs/s", _ms(t["worker_cpu_ms_per_run"]))
            for t in report["throughput_tried"]
        ]
    alone = report["agent_alone_cpu_ms_per_run"]
    rows.append(
        (
            "  agent alone",
            f"{alone:.2f} ms CPU",
            f"per run, pydantic-ai without any database: one process tops out near {1000 / alone:.0f} runs/s",
        )
    )
    lat = report["latency"]
    if lat is not None:
        rows += [
            ("enqueue->start p50", f"{lat['p50_ms']:.1f} ms", f"target < {TARGET_P50_MS:.0f} ms"),
            (
                "enqueue->start p99",
                f"{lat['p99_ms']:.1f} ms",
                f"p90 {lat['p90_ms']:.1f} ms, max {lat['max_ms']:.1f} ms",
            ),
            ("  from created_at", f"p50 {lat['created_p50_ms']:.1f} ms", f"p99 {lat['created_p99_ms']:.1f} ms"),
            ("  samples", str(lat["runs"]), f"one at a time, {lat['spacing_ms']:.0f} ms apart, idle worker"),
        ]
    rows += [
        ("database", report["database"], f"PostgreSQL {report['postgres']}"),
        ("machine", f"{report['cpus']} CPUs", f"{report['cpu']}; load average {report['load_average']}"),
        ("versions", f"Python {report['python']}", report["libraries"]),
        ("commit", report["commit"], "targets met" if report["targets_met"] else "TARGETS MISSED"),
    ]
    width = max(len(r[0]) for r in rows)
    value_width = max(len(r[1]) for r in rows if not r[0].startswith("  events"))
    print("Run engine benchmark")
    for label, value, note in rows:
        print(f"  {label:<{width}}  {value:<{value_width}}  {note}".rstrip())


def print_profile(path: Path, limit: int = 25) -> None:
    stats = pstats.Stats(str(path))
    stats.strip_dirs()
    print(f"\nProfile of the draining worker ({path}), by own time:")
    stats.sort_stats("tottime").print_stats(limit)
    print("By cumulative time:")
    stats.sort_stats("cumulative").print_stats(limit)
