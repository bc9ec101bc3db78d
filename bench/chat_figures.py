"""The chat bench's figures, from what the load measured: per scenario and round at N clients, at one client (and
the overhead over calling the model directly), by thread length; and the issue's targets, met or not."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from statistics import median
from typing import Any

from bench import percentile
from bench.chat_load import Load, TurnCost
from bench.chat_meter import Cpu

# The targets of issue 9 ("A chat turn as cheap as the simplest peer's").
TARGET_CPU_MS = 10.0  # server CPU per chat turn
TARGET_TURNS_PER_SECOND = 100.0  # with 10 clients
TARGET_OVERHEAD_P50_MS = 8.0  # at one client, over calling the model directly
TARGET_OVERHEAD_P99_MS = 20.0
TARGET_REFERENCE_SHARE = 0.22  # of the reference's turns/s
TARGET_THREAD_GROWTH = 0.25  # turn 150 within 25% of turn 10
OVERHEAD_TARGETS = f"{TARGET_OVERHEAD_P50_MS:.0f} / {TARGET_OVERHEAD_P99_MS:.0f}"
SWITCHBOARD = ("support", "chat")  # the scenarios the targets are for; "reference" is the yardstick


@dataclass(frozen=True)
class Window:
    """One scenario's load window: what the clients did, and what it cost the server and its database."""

    load: Load
    cpu: Cpu
    commits: int
    rollbacks: int
    load_cpu: float  # seconds: the bench's own process and the fake model's, the load the server competes with


def _ms_per_turn(seconds: float | None, turns: int) -> float | None:
    return None if seconds is None or turns == 0 else round(seconds * 1000 / turns, 2)


def under_load(windows: Sequence[Window]) -> dict[str, Any]:
    """The windows' figures together: turns/s over their summed time, latency percentiles over all their turns,
    costs per turn over all their turns."""
    turns = sum(w.load.turns for w in windows)
    seconds = sum(w.load.seconds for w in windows)
    latencies = [s for w in windows for s in w.load.latencies]
    postgres = [w.cpu.postgres for w in windows]
    errors = [e for w in windows for e in w.load.errors]
    return {
        "turns": turns,
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
        "seconds": round(seconds, 2),
        "turns_per_second": round(turns / seconds, 1) if seconds else 0.0,
        **{f"p{p}_ms": round(percentile(latencies, p) * 1000, 1) if latencies else None for p in (50, 95, 99)},
        "server_cpu_ms_per_turn": _ms_per_turn(sum(w.cpu.server for w in windows), turns),
        "postgres_cpu_ms_per_turn": _ms_per_turn(None if None in postgres else sum(p or 0.0 for p in postgres), turns),
        "commits_per_turn": round(sum(w.commits for w in windows) / turns, 2) if turns else None,
        "rollbacks_per_turn": round(sum(w.rollbacks for w in windows) / turns, 2) if turns else None,
        "load_cpu_ms_per_turn": _ms_per_turn(sum(w.load_cpu for w in windows), turns),
    }


def one_client(costs: Sequence[TurnCost]) -> dict[str, Any]:
    latencies = [c.latency for c in costs]
    cpus = [c.cpu for c in costs if c.cpu is not None]
    postgres = [c.postgres for c in cpus]
    return {
        "turns": len(costs),
        "p50_ms": round(percentile(latencies, 50) * 1000, 2),
        "p99_ms": round(percentile(latencies, 99) * 1000, 2),
        "server_cpu_ms_per_turn": _ms_per_turn(sum(c.server for c in cpus), len(cpus)) if cpus else None,
        "postgres_cpu_ms_per_turn": _ms_per_turn(
            None if None in postgres or not cpus else sum(p or 0.0 for p in postgres), len(cpus)
        ),
    }


def overhead(figures: dict[str, Any], direct: dict[str, Any]) -> dict[str, Any]:
    """`figures` with the overhead over `direct`, the direct calls made alternately with its turns."""
    return {
        **figures,
        "direct_p50_ms": direct["p50_ms"],
        "direct_p99_ms": direct["p99_ms"],
        "overhead_p50_ms": round(figures["p50_ms"] - direct["p50_ms"], 2),
        "overhead_p99_ms": round(figures["p99_ms"] - direct["p99_ms"], 2),
    }


def _block(costs: Sequence[TurnCost], turn: int) -> dict[str, Any]:
    """Turns turn-4 … turn+5 (1-based) of one thread: ten turns around `turn`, as /proc counts CPU in 10 ms ticks."""
    block = costs[max(0, turn - 5) : turn + 5]
    cpus = [c.cpu for c in block if c.cpu is not None]
    postgres = [c.postgres for c in cpus]
    return {
        "turns": f"{max(1, turn - 4)}-{min(len(costs), turn + 5)}",
        "p50_ms": round(median(c.latency for c in block) * 1000, 2),
        "server_cpu_ms_per_turn": _ms_per_turn(sum(c.server for c in cpus), len(cpus)) if cpus else None,
        "postgres_cpu_ms_per_turn": _ms_per_turn(
            None if None in postgres or not cpus else sum(p or 0.0 for p in postgres), len(cpus)
        ),
    }


def thread_length(costs: Sequence[TurnCost], short: int, long: int) -> dict[str, Any] | None:
    """One thread's turns around `short` against those around `long` (growth: long / short - 1)."""
    if len(costs) < long + 5:
        return None
    first, later = _block(costs, short), _block(costs, long)

    def growth(key: str) -> float | None:
        a, b = first[key], later[key]
        return None if a is None or b is None or a == 0 else round(b / a - 1, 3)

    return {
        "short": first,
        "long": later,
        "latency_growth": growth("p50_ms"),
        "server_cpu_growth": growth("server_cpu_ms_per_turn"),
        "at": [short, long],
    }


def targets(report: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """(what, measured, met) for each of the issue's targets and each Switchboard scenario."""
    rows: list[tuple[str, str, bool]] = []
    loaded, single = report["under_load"], report["one_client"]
    reference = loaded["reference"]["turns_per_second"]
    for name in SWITCHBOARD:
        total = loaded[name]
        cpu = total["server_cpu_ms_per_turn"]
        met = cpu is not None and cpu <= TARGET_CPU_MS
        rows.append((f"{name}: server CPU per turn <= {TARGET_CPU_MS:.0f} ms", f"{cpu} ms", met))
        rate = total["turns_per_second"]
        rows.append(
            (
                f"{name}: >= {TARGET_TURNS_PER_SECOND:.0f} turns/s with {report['clients']} clients",
                f"{rate} turns/s",
                rate >= TARGET_TURNS_PER_SECOND,
            )
        )
        share = rate / reference if reference else 0.0
        rows.append(
            (
                f"{name}: >= {TARGET_REFERENCE_SHARE}x the reference's turns/s",
                f"{share:.2f}x",
                share >= TARGET_REFERENCE_SHARE,
            )
        )
        p50, p99 = single[name]["overhead_p50_ms"], single[name]["overhead_p99_ms"]
        rows.append(
            (
                f"{name}: overhead at 1 client <= {OVERHEAD_TARGETS} ms p50 / p99",
                f"{p50} / {p99} ms",
                p50 <= TARGET_OVERHEAD_P50_MS and p99 <= TARGET_OVERHEAD_P99_MS,
            )
        )
    thread = report["thread_length"]
    if thread is not None:
        short, long = thread["at"]
        growths = (thread["latency_growth"], thread["server_cpu_growth"])
        known = [g for g in growths if g is not None]
        rows.append(
            (
                f"support: turn {long} within {TARGET_THREAD_GROWTH:.0%} of turn {short} (latency, CPU)",
                ", ".join("n/a" if g is None else f"{g:+.0%}" for g in growths),
                bool(known) and max(known) <= TARGET_THREAD_GROWTH,
            )
        )
    return rows
