"""The chat bench's table (the caller prints the JSON line): the scenarios under load round by round, at one
client against the model called directly, by thread length, then the issue's targets and where it was measured."""

from __future__ import annotations

from typing import Any

from bench.chat_figures import targets

TITLES = {
    "support": "POST /api/v1/chat (support route, one growing thread per user)",
    "chat": "POST /v1/chat (Switchboard, a new thread per turn)",
    "reference": "reference (FastAPI + asyncpg, one row per turn, no durability)",
    "direct": "the two model calls, made directly by the bench",
}


def _v(value: Any, unit: str = "") -> str:
    return "n/a" if value is None else f"{value}{unit}"


def _growth(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.0%}"


def _xacts(figures: dict[str, Any]) -> str:
    commits, rollbacks = figures["commits_per_turn"], figures["rollbacks_per_turn"]
    if commits is None:
        return "n/a"
    return f"{commits + rollbacks:.2f} ({commits:.2f} + {rollbacks:.2f})"


def _loaded_row(label: str, f: dict[str, Any]) -> str:
    errors = f"  {f['errors']} failed: {f['first_error']}" if f["errors"] else ""
    return (
        f"  {label:<12}{f['turns_per_second']:>9}{_v(f['p50_ms']):>9}{_v(f['p95_ms']):>9}{_v(f['p99_ms']):>9}"
        f"{_v(f['server_cpu_ms_per_turn']):>11}{_v(f['postgres_cpu_ms_per_turn']):>11}{_v(f['load_cpu_ms_per_turn']):>11}"
        f"   {_xacts(f)}{errors}"
    )


def _under_load(report: dict[str, Any]) -> None:
    print(
        f"Under load: {report['clients']} clients, {report['rounds']} interleaved rounds of {report['duration_s']} s "
        "(ms; CPU per turn: the server process's, its database's PostgreSQL backends', and the load's: the bench "
        "client's and the fake model's)"
    )
    header = f"{'turns/s':>9}{'p50':>9}{'p95':>9}{'p99':>9}{'server CPU':>11}{'PG CPU':>11}{'load CPU':>11}"
    print(f"  {'':<12}{header}   DB commits + rollbacks")
    for name, rounds in report["rounds_by_scenario"].items():
        print(f" {TITLES[name]}")
        for number, figures in enumerate(rounds, 1):
            print(_loaded_row(f"round {number}", figures))
        print(_loaded_row("all rounds", report["under_load"][name]))


def _one_client(report: dict[str, Any]) -> None:
    single = report["one_client"]
    turns = single["chat"]["turns"]
    print(
        f"\nOne client, {turns} turns each (ms), alternating with the two model calls made directly; overhead: minus "
        "those calls' p50 / p99"
    )
    print(f"  {'':<64}{'p50':>9}{'p99':>9}{'overhead p50 / p99':>22}{'server CPU':>12}")
    for name in ("direct", "support", "chat", "reference"):
        f = single[name]
        extra = f"{f['overhead_p50_ms']} / {f['overhead_p99_ms']}" if "overhead_p50_ms" in f else ""
        print(f"  {TITLES[name]:<64}{f['p50_ms']:>9}{f['p99_ms']:>9}{extra:>22}{_v(f['server_cpu_ms_per_turn']):>12}")


def _thread_length(report: dict[str, Any]) -> None:
    thread = report["thread_length"]
    if thread is None:
        print("\nThread length: not measured (needs --single-turns >= --long-turn + 5)")
        return
    print("\nThread length: one client on the support route, one thread from its first turn (ms, per turn)")
    for key in ("short", "long"):
        b = thread[key]
        print(
            f"  turns {b['turns']:<10} p50 {b['p50_ms']:>7}   server CPU {_v(b['server_cpu_ms_per_turn']):>6}"
            f"   PostgreSQL CPU {_v(b['postgres_cpu_ms_per_turn']):>6}"
        )
    print(f"  growth: latency {_growth(thread['latency_growth'])}, server CPU {_growth(thread['server_cpu_growth'])}")


def print_table(report: dict[str, Any]) -> None:
    print("Chat turn benchmark (issue 9): a support-agent turn is two model calls to a zero-delay fake model\n")
    _under_load(report)
    _one_client(report)
    _thread_length(report)
    print("\nTargets (issue 9)")
    rows = targets(report)
    width = max(len(what) for what, _, _ in rows)
    for what, measured, met in rows:
        print(f"  {what:<{width}}  {measured:<20}  {'met' if met else 'MISSED'}")
    print("\nWhere")
    print(f"  database  {report['database']}, PostgreSQL {report['postgres']}")
    print(f"  machine   {report['cpus']} CPUs, {report['cpu']}; load average {report['load_average']}")
    print(f"  versions  Python {report['python']}, {report['libraries']}")
    print(f"  commit    {report['commit']}; server settings {report['server_settings'] or 'default'}")
