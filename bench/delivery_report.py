"""The delivery benchmark's table (the JSON line beside it has the same figures)."""

from __future__ import annotations

from typing import Any

TARGET_DELIVERIES_PER_SECOND = 200.0  # per worker process (issue 10)
TARGET_P50_MS = 100.0  # run settled → first attempt


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f} ms"


def _throughput_rows(report: dict[str, Any]) -> list[tuple[str, str, str]]:
    best = report["throughput"]
    if best is None:
        return []
    checks = best["checks"]
    rows = [
        (
            "throughput",
            f"{best['deliveries_per_second']:.0f} deliveries/s",
            f"target >= {TARGET_DELIVERIES_PER_SECOND:.0f} per worker process",
        ),
        (
            "  deliveries",
            str(best["deliveries"]),
            f"by one worker process, dispatcher concurrency {best['dispatcher_concurrency']}; "
            f"bodies {report['body_bytes']} bytes",
        ),
        ("  send time", f"{best['seconds']:.2f} s", "first attempt started -> last delivered (database clock)"),
        (
            "  CPU per delivery",
            f"worker {_ms(best['worker_cpu_ms_per_delivery'])}",
            f"PostgreSQL backends {_ms(best['postgres_cpu_ms_per_delivery'])}, "
            f"sink {_ms(best['sink_cpu_ms_per_delivery'])}",
        ),
        (
            "  checked",
            f"{checks['requests']} requests",
            f"each delivery arrived once per attempt ({checks['retried']} retried), "
            f"{checks['signatures_verified']} signatures verified",
        ),
    ]
    rows += [
        (
            f"  concurrency {t['dispatcher_concurrency']}",
            f"{t['deliveries_per_second']:.0f} deliveries/s",
            f"worker {_ms(t['worker_cpu_ms_per_delivery'])} CPU per delivery",
        )
        for t in report["throughput_tried"]
    ]
    return rows


def _latency_rows(report: dict[str, Any]) -> list[tuple[str, str, str]]:
    lat = report["latency"]
    if lat is None:
        return []
    return [
        ("settle->first attempt p50", f"{lat['p50_ms']:.1f} ms", f"target < {TARGET_P50_MS:.0f} ms"),
        (
            "settle->first attempt p99",
            f"{lat['p99_ms']:.1f} ms",
            f"p95 {lat['p95_ms']:.1f} ms, max {lat['max_ms']:.1f} ms",
        ),
        (
            "  settle->arrival",
            f"p50 {lat['arrival_p50_ms']:.1f} ms",
            f"p99 {lat['arrival_p99_ms']:.1f} ms (sink's clock)",
        ),
        (
            "  samples",
            str(lat["runs"]),
            f"runs one at a time, {lat['spacing_ms']:.0f} ms apart, idle worker, dispatcher concurrency "
            f"{lat['dispatcher_concurrency']}; {lat['checks']['signatures_verified']} signatures verified",
        ),
    ]


def print_table(report: dict[str, Any]) -> None:
    rows = _throughput_rows(report) + _latency_rows(report)
    rows += [
        ("database", report["database"], f"PostgreSQL {report['postgres']}"),
        ("machine", f"{report['cpus']} CPUs", f"{report['cpu']}; load average {report['load_average']}"),
        ("versions", f"Python {report['python']}", report["libraries"]),
        ("commit", report["commit"], "targets met" if report["targets_met"] else "TARGETS MISSED"),
    ]
    width = max(len(r[0]) for r in rows)
    value_width = max(len(r[1]) for r in rows)
    print("Notification delivery benchmark")
    for label, value, note in rows:
        print(f"  {label:<{width}}  {value:<{value_width}}  {note}".rstrip())
