"""`switchboard runs list|show|follow|cancel|approve|deny`: your runs over HTTP, as tables for people or the API's
JSON for scripts (`--json`). Registered on the app of `cli.py` (which imports this module last); `follow`'s
module imports httpx, so it is imported inside the command and `switchboard --help` stays fast."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

import typer

from switchboard.cli import app
from switchboard.cli_http import DEFAULT_URL, JsonOption, KeyOption, UrlOption, api, print_json, print_table

runs_app = typer.Typer(help="See, follow, cancel and approve your runs.", no_args_is_help=True)
app.add_typer(runs_app, name="runs")

RunId = Annotated[str, typer.Argument(help="The run's id.")]


def when(value: str | None) -> str | None:
    """An API timestamp as `2026-11-28 06:37:12` (UTC), short enough for a table."""
    return value[:19].replace("T", " ") if value else None


def instant(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def seconds(run: dict[str, Any]) -> str | None:
    if not run.get("started_at") or not run.get("finished_at"):
        return None
    return f"{(instant(run['finished_at']) - instant(run['started_at'])).total_seconds():.1f}"


def tokens(usage: dict[str, Any] | None) -> int | None:
    if not usage:
        return None
    return int(usage.get("input_tokens", 0)) + int(usage.get("output_tokens", 0))


def dollars(cost: float | None) -> str | None:
    return None if cost is None else f"${cost:.4f}"


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def call_text(tool: str, args: Any) -> str:
    return f"{tool}({json.dumps(args, ensure_ascii=False)})"


@runs_app.command("list")
def list_runs(
    status: Annotated[str | None, typer.Option(help="Only runs in this status (queued, running, succeeded…).")] = None,
    agent: Annotated[str | None, typer.Option(help="Only runs of this agent.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many, newest first.")] = 20,
    as_json: JsonOption = False,
    url: UrlOption = DEFAULT_URL,
    key: KeyOption = "",
) -> None:
    """Your runs, newest first."""
    with api(url, key) as client:
        runs = list(client.pages("/v1/runs", limit=limit, status=status, agent=agent))
    if as_json:
        print_json(runs)
        return
    headers = ["id", "agent", "status", "created", "seconds", "tokens", "cost"]
    print_table(
        headers,
        [
            [
                r["id"],
                r["agent"],
                r["status"],
                when(r["created_at"]),
                seconds(r),
                tokens(r["usage"]),
                dollars(r["cost_usd"]),
            ]
            for r in runs
        ],
    )


@runs_app.command("show")
def show_run(run_id: RunId, as_json: JsonOption = False, url: UrlOption = DEFAULT_URL, key: KeyOption = "") -> None:
    """One run: its status, input, output or error, usage and cost, pending approvals, timeline and child runs."""
    with api(url, key) as client:
        run = client.get(f"/v1/runs/{run_id}")
        steps = client.get(f"/v1/runs/{run_id}/steps")
    if as_json:
        print_json({**run, "steps": steps})
        return
    usage = run.get("usage") or {}
    fields: list[tuple[str, object]] = [
        ("run", run["id"]),
        ("agent", f"{run['agent']} (model {run.get('model') or '-'})"),
        ("status", run["status"]),
        ("thread", run["thread_id"]),
        ("created", when(run["created_at"])),
        ("seconds", seconds(run)),
        ("input", run["message"]),
    ]
    if run.get("output") is not None:
        output = run["output"]
        fields.append(("output", output if isinstance(output, str) else json.dumps(output, ensure_ascii=False)))
    if run.get("error"):
        fields.append(("error", f"{run['error']['type']}: {run['error']['message']}"))
    fields.append(
        (
            "usage",
            f"{plural(usage.get('requests', 0), 'model request')}, {plural(usage.get('tool_calls', 0), 'tool call')}, "
            f"{usage.get('input_tokens', 0)} tokens in, {usage.get('output_tokens', 0)} out",
        )
    )
    fields.append(("cost", dollars(run.get("cost_usd")) or "unknown (no priced model responses)"))
    for name, value in fields:
        typer.echo(f"{name:<9} {'-' if value is None else value}")
    if run.get("pending_approvals"):
        typer.echo("\nwaiting for approval (switchboard runs approve|deny RUN_ID --call TOOL_CALL_ID):")
        for call in run["pending_approvals"]:
            typer.echo(f"  {call['tool_call_id']}  {call_text(call['tool_name'], call['args'])}")
    if steps:
        typer.echo("\ntimeline:")
        start = instant(steps[0]["started_at"])
        for step in steps:
            typer.echo("  " + step_line(step, start))
    if run.get("children"):
        typer.echo("\nchild runs:")
        print_tree(run["children"], "  ")


def step_line(step: dict[str, Any], start: datetime) -> str:
    """`+0.012s  tool_call  get_order({"order_id": 1})  3 ms  succeeded`: when, what, how long, what it used."""
    offset = (instant(step["started_at"]) - start).total_seconds()
    took = "-" if step.get("duration_ms") is None else f"{step['duration_ms']:.0f} ms"
    if step["kind"] == "model_request":
        used = step.get("usage") or {}
        what = f"model {step.get('model') or '-'}"
        detail = f"{used.get('input_tokens', 0)} in / {used.get('output_tokens', 0)} out tokens"
        if step.get("cost_usd") is not None:
            detail += f", {dollars(step['cost_usd'])}"
    else:
        what = f"tool  {call_text(step.get('tool_name') or '?', step.get('args'))}"
        detail = step["status"]
        if step.get("approved") is not None:
            detail += f" ({'approved' if step['approved'] else 'denied'}"
            detail += f": {step['decision_reason']})" if step.get("decision_reason") else ")"
    return f"{f'+{offset:.3f}s':>9}  {what}  {took}  {detail}"


def print_tree(children: list[dict[str, Any]], indent: str) -> None:
    for index, child in enumerate(children):
        last = index == len(children) - 1
        branch, below = ("└─ ", "   ") if last else ("├─ ", "│  ")
        cost = dollars(child.get("cost_usd"))
        typer.echo(
            f"{indent}{branch}{child.get('step') or '-'}: {child['agent']} {child['status']} {child['id']}"
            f"  {seconds(child) or '-'} s, {tokens(child.get('usage')) or 0} tokens{', ' + cost if cost else ''}"
        )
        print_tree(child.get("children") or [], indent + below)


@runs_app.command("follow")
def follow_run(run_id: RunId, url: UrlOption = DEFAULT_URL, key: KeyOption = "") -> None:
    """Stream a run until it ends: its text on stdout; tool calls, results and progress on stderr.

    Exits 0 when the run succeeded, 1 otherwise (with its error). Reconnects where it left off if the
    connection drops."""
    from switchboard.cli_runs_follow import Follower

    with api(url, key, timeout=60.0) as client:
        run = client.get(f"/v1/runs/{run_id}")
        end = Follower(client, run).follow()
    if end.get("status") == "succeeded":
        return
    error = end.get("error") or {}
    message = f"{error.get('type')}: {error.get('message')}" if error else end.get("reason") or "no error given"
    typer.echo(f"error: the run ended {end.get('status')}: {message}", err=True)
    raise typer.Exit(1)


@runs_app.command("cancel")
def cancel_run(run_id: RunId, as_json: JsonOption = False, url: UrlOption = DEFAULT_URL, key: KeyOption = "") -> None:
    """Cancel a run (queued or paused: at once; running: between steps). Its child runs are cancelled too."""
    with api(url, key) as client:
        run = client.post(f"/v1/runs/{run_id}/cancel")
    if as_json:
        print_json(run)
    else:
        typer.echo(f"run {run['id']}: {run['status']}")


CallOption = Annotated[
    str | None, typer.Option("--call", help="The tool call's id (needed when several wait; see `runs show`).")
]
ReasonOption = Annotated[str | None, typer.Option("--reason", help="Why (told to the model on a denial).")]


@runs_app.command("approve")
def approve(
    run_id: RunId,
    call: CallOption = None,
    reason: ReasonOption = None,
    url: UrlOption = DEFAULT_URL,
    key: KeyOption = "",
) -> None:
    """Approve a tool call the run waits for (the only one, or --call ID)."""
    decide(run_id, call, reason, True, url, key)


@runs_app.command("deny")
def deny(
    run_id: RunId,
    call: CallOption = None,
    reason: ReasonOption = None,
    url: UrlOption = DEFAULT_URL,
    key: KeyOption = "",
) -> None:
    """Deny a tool call the run waits for (the only one, or --call ID); the model is told --reason."""
    decide(run_id, call, reason, False, url, key)


def decide(run_id: str, call: str | None, reason: str | None, approve: bool, url: str, key: str) -> None:
    with api(url, key) as client:
        run = client.get(f"/v1/runs/{run_id}")
        pending = pending_call(run, call)
        body = {"tool_call_id": pending["tool_call_id"], "approve": approve, **({"reason": reason} if reason else {})}
        after = client.post(f"/v1/runs/{run_id}/approvals", body)
    verb = "approved" if approve else "denied"
    typer.echo(f"{verb} {call_text(pending['tool_name'], pending['args'])} ({pending['tool_call_id']})")
    typer.echo(f"run {after['id']}: {after['status']}")


def pending_call(run: dict[str, Any], call: str | None) -> dict[str, Any]:
    """The call to decide: --call's, or the only one waiting; otherwise an error that lists what waits."""
    pending: list[dict[str, Any]] = run.get("pending_approvals") or []
    chosen = [p for p in pending if p["tool_call_id"] == call] if call else pending
    if len(chosen) == 1:
        return chosen[0]
    if not pending:
        problem = f"run {run['id']} has no tool call waiting for approval (it is {run['status']})"
    elif call:
        problem = f"run {run['id']} has no pending call {call}; waiting:"
    else:
        problem = f"run {run['id']} waits for {len(pending)} tool calls; choose one with --call:"
    lines = [problem] + [f"  {p['tool_call_id']}  {call_text(p['tool_name'], p['args'])}" for p in pending]
    typer.echo("error: " + "\n".join(lines), err=True)
    raise typer.Exit(1)
