"""`switchboard schedules list|create|pause|resume|run` and `switchboard usage`: your schedules, and what your runs
used and cost with your limits, over HTTP. Registered on the app of `cli.py` (which imports this module last)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from switchboard.cli import app
from switchboard.cli_http import DEFAULT_URL, JsonOption, KeyOption, UrlOption, api, print_json, print_table
from switchboard.cli_runs import dollars, when

schedules_app = typer.Typer(help="Run an agent on a cron schedule.", no_args_is_help=True)
app.add_typer(schedules_app, name="schedules")

ScheduleId = Annotated[str, typer.Argument(help="The schedule's id.")]


def print_schedule(schedule: dict[str, Any]) -> None:
    fields: list[tuple[str, object]] = [
        ("schedule", schedule["id"]),
        ("agent", schedule["agent"]),
        ("message", schedule["message"]),
        ("cron", f"{schedule['cron']} ({schedule['description']})"),
        ("enabled", "yes" if schedule["enabled"] else "no, paused"),
        ("next run", when(schedule["next_fire_at"]) or "none"),
        ("last run", schedule.get("last_run_id")),
    ]
    if schedule.get("disabled_reason"):
        fields.append(("stopped", schedule["disabled_reason"]))
    for name, value in fields:
        typer.echo(f"{name:<9} {'-' if value is None else value}")


@schedules_app.command("list")
def list_schedules(as_json: JsonOption = False, url: UrlOption = DEFAULT_URL, key: KeyOption = "") -> None:
    """Your schedules, newest first."""
    with api(url, key) as client:
        schedules = list(client.pages("/v1/schedules"))
    if as_json:
        print_json(schedules)
        return
    print_table(
        ["id", "agent", "cron", "when", "enabled", "next run (utc)", "last run"],
        [
            [s["id"], s["agent"], s["cron"], s["description"], "yes" if s["enabled"] else "paused", *last(s)]
            for s in schedules
        ],
    )


def last(schedule: dict[str, Any]) -> list[object]:
    return [when(schedule["next_fire_at"]), schedule.get("last_run_id")]


@schedules_app.command("create")
def create_schedule(
    agent: Annotated[str, typer.Option(help="The agent each run talks to.")],
    message: Annotated[str, typer.Option(help="Each run's message.")],
    cron: Annotated[str, typer.Option(help='When: a cron expression, e.g. "0 9 * * 1-5" or @daily.')],
    timezone: Annotated[str, typer.Option(help="The IANA timezone the expression is read in.")] = "UTC",
    as_json: JsonOption = False,
    url: UrlOption = DEFAULT_URL,
    key: KeyOption = "",
) -> None:
    """Create a schedule; prints it, with its expression in words and when it runs next."""
    body = {"agent": agent, "message": message, "cron": cron, "timezone": timezone}
    with api(url, key) as client:
        schedule = client.post("/v1/schedules", body)
    print_json(schedule) if as_json else print_schedule(schedule)


def _change(schedule_id: str, action: str, as_json: bool, url: str, key: str) -> None:
    with api(url, key) as client:
        schedule = client.post(f"/v1/schedules/{schedule_id}/{action}")
    print_json(schedule) if as_json else print_schedule(schedule)


@schedules_app.command("pause")
def pause_schedule(
    schedule_id: ScheduleId, as_json: JsonOption = False, url: UrlOption = DEFAULT_URL, key: KeyOption = ""
) -> None:
    """Stop a schedule's ticks until it is resumed."""
    _change(schedule_id, "pause", as_json, url, key)


@schedules_app.command("resume")
def resume_schedule(
    schedule_id: ScheduleId, as_json: JsonOption = False, url: UrlOption = DEFAULT_URL, key: KeyOption = ""
) -> None:
    """Start a paused (or stopped) schedule again, from its next tick."""
    _change(schedule_id, "resume", as_json, url, key)


@schedules_app.command("run")
def run_schedule(
    schedule_id: ScheduleId, as_json: JsonOption = False, url: UrlOption = DEFAULT_URL, key: KeyOption = ""
) -> None:
    """Start one run of the schedule now (paused or not); prints the run's id, to `switchboard runs follow`."""
    with api(url, key) as client:
        run = client.post(f"/v1/schedules/{schedule_id}/run")
    print_json(run) if as_json else typer.echo(run["id"])


@app.command("usage")
def usage(
    group_by: Annotated[str, typer.Option("--group-by", help="day, agent or model.")] = "day",
    since: Annotated[
        str | None, typer.Option(help="From this date or instant (ISO 8601, UTC); default 30 days ago.")
    ] = None,
    until: Annotated[str | None, typer.Option(help="To this date or instant, exclusive; default now.")] = None,
    as_json: JsonOption = False,
    url: UrlOption = DEFAULT_URL,
    key: KeyOption = "",
) -> None:
    """What your runs' model requests used and cost, by day, agent or model, and your limits now."""
    with api(url, key) as client:
        report = client.get("/v1/usage", group_by=group_by, since=since, until=until)
        limits = client.get("/v1/limits")
    if as_json:
        print_json({"usage": report, "limits": limits})
        return

    def row(name: str, totals: dict[str, Any]) -> list[object]:
        cost = dollars(totals["cost_usd"])
        if totals["unpriced_requests"]:  # those are counted in tokens, not dollars
            cost = f"{cost or 'unknown'} ({totals['unpriced_requests']} unpriced)"  # unknown is never $0
        return [name, totals["runs"], totals["requests"], totals["input_tokens"], totals["output_tokens"], cost]

    typer.echo(f"usage from {when(report['since'])} to {when(report['until'])} (UTC), by {report['group_by']}")
    print_table(
        [report["group_by"], "runs", "requests", "input tokens", "output tokens", "cost"],
        [row(g["key"], g) for g in report["groups"]] + [row("total", report["total"])],
    )
    typer.echo("")
    typer.echo(limits_line(limits))


def limits_line(limits: dict[str, Any]) -> str:
    """`tier free: rpm 58/60 left · tpm no limit · runs at once 0/2`"""

    def rate(standing: dict[str, Any] | None) -> str:
        return "no limit" if standing is None else f"{standing['remaining']}/{standing['limit']} left"

    runs = limits.get("max_concurrent_runs")
    at_once = "no limit" if runs is None else f"{runs['in_use']}/{runs['limit']}"
    daily = limits.get("effective", {}).get("daily_cost_usd")
    parts = [f"rpm {rate(limits.get('rpm'))}", f"tpm {rate(limits.get('tpm'))}", f"runs at once {at_once}"]
    parts.append("daily cost no limit" if daily is None else f"daily cost ${daily}")
    return f"limits (tier {limits['tier']}): " + " · ".join(parts)
