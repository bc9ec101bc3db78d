"""`switchboard schedules …` and `switchboard usage` as a user runs them: the real command in a subprocess against
a live server with the demo users."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from tests.cli.helpers import start_run, switchboard, wait_for
from tests.fixtures.demo import DemoUser, seed_demo
from tests.fixtures.server import LiveServer

USER = "test.user@example.com"
ALICE = "alice@example.com"


def test_create_list_pause_resume_and_run_a_schedule(server: LiveServer, demo: dict[str, DemoUser]) -> None:
    key = demo[USER].key
    created = switchboard(
        server, key, "schedules", "create", "--agent", "support", "--message", "Show me all my orders",
        "--cron", "0 9 * * 1-5", "--timezone", "Europe/Berlin",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    fields = dict(line.split(maxsplit=1) for line in created.stdout.splitlines())
    schedule_id = fields["schedule"]
    assert fields["cron"] == "0 9 * * 1-5 (At 09:00 on Monday through Friday (Europe/Berlin))"
    assert fields["enabled"] == "yes"
    assert re.fullmatch(r"run  20\d\d-\d\d-\d\d (07|08):00:00", fields["next"])  # "next run  …", 09:00 Berlin in UTC

    listed = switchboard(server, key, "schedules", "list")
    assert listed.returncode == 0, listed.stderr
    header, *rows = listed.stdout.splitlines()
    assert header.split()[:4] == ["ID", "AGENT", "CRON", "WHEN"]
    [row] = [row for row in rows if row.startswith(schedule_id)]
    assert row.startswith(f"{schedule_id}  support  0 9 * * 1-5  At 09:00 on Monday through Friday (Europe/Berlin)")
    listed_json = json.loads(switchboard(server, key, "schedules", "list", "--json").stdout)
    assert schedule_id in [s["id"] for s in listed_json]
    assert len(listed_json) == len(rows)

    paused = switchboard(server, key, "schedules", "pause", schedule_id)
    assert "enabled   no, paused" in paused.stdout
    assert "next run  none" in paused.stdout
    resumed = json.loads(switchboard(server, key, "schedules", "resume", schedule_id, "--json").stdout)
    assert resumed["enabled"] is True
    assert resumed["next_fire_at"] is not None

    ran = switchboard(server, key, "schedules", "run", schedule_id)
    assert ran.returncode == 0, ran.stderr
    run_id = ran.stdout.strip()
    with server.client(key) as client:
        run = wait_for(client, run_id)
    assert run["schedule_id"] == schedule_id
    assert run["status"] == "succeeded"

    others = switchboard(server, demo[ALICE].key, "schedules", "pause", schedule_id)
    assert others.returncode == 1
    assert others.stderr.startswith("error: 404 not_found: ")
    bad = switchboard(server, key, "schedules", "create", "--agent", "support", "--message", "x", "--cron", "nope")
    assert bad.returncode == 1
    assert bad.stderr.startswith("error: 422 ")


def test_usage_by_agent_with_the_total_and_the_limits(make_server: Callable[..., LiveServer]) -> None:
    server = make_server(tiers={"free": {"rpm": 60, "max_concurrent_runs": 5}})
    key = seed_demo(server.settings)[USER].key
    with server.client(key) as client:
        for message in ("What is the status of order 1?", "Show me all my orders"):
            assert wait_for(client, start_run(client, message))["status"] == "succeeded"
        expected = client.get("/v1/usage", params={"group_by": "agent"}).json()

    table = switchboard(server, key, "usage", "--group-by", "agent")
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].startswith("usage from ")
    assert lines[0].endswith("(UTC), by agent")
    assert lines[1].split() == ["AGENT", "RUNS", "REQUESTS", "INPUT", "TOKENS", "OUTPUT", "TOKENS", "COST"]
    total = expected["total"]
    support = ["support", "2", str(total["requests"]), str(total["input_tokens"]), str(total["output_tokens"])]
    assert lines[2].split()[:5] == support
    assert lines[2].endswith(f"unknown ({total['requests']} unpriced)")  # the offline model has no price: never $0
    assert lines[3].split()[:5] == ["total", *support[1:]]
    limits = r"limits \(tier free\): rpm 5\d/60 left · tpm no limit · runs at once 0/5 · daily cost no limit"
    assert re.fullmatch(limits, lines[-1]), lines[-1]

    as_json = json.loads(switchboard(server, key, "usage", "--group-by", "agent", "--json").stdout)
    assert as_json["usage"]["groups"] == expected["groups"]
    assert as_json["limits"]["tier"] == "free"
    assert as_json["limits"]["rpm"]["limit"] == 60

    bad = switchboard(server, key, "usage", "--since", "2026-12-01", "--until", "2026-11-01")
    assert bad.returncode == 1
    assert bad.stderr.strip() == "error: 422 validation_error: since: must be before `until`"
