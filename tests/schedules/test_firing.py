"""The scheduler's ticks, driven through `Scheduler.tick(now)` with an injected clock: DST nights in
Europe/Berlin, a tick missed within the grace period (fires once, late) or beyond it (skipped, counted, no
catch-up burst), the end of a schedule, and schedules that can no longer fire (the owner's key revoked, the
agent gone) stopped with a reason without holding up the others."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from switchboard.schedules.cron import next_tick
from tests.fixtures.demo import seed_demo
from tests.fixtures.http import wait_for_status
from tests.fixtures.processes import TEST_PLUGIN
from tests.fixtures.server import LiveServer
from tests.schedules.conftest import ALICE, Api

BERLIN = ZoneInfo("Europe/Berlin")
DAILY_0230 = "30 2 * * *"


def every(start: datetime, end: datetime, step: timedelta) -> list[datetime]:
    times = []
    while start <= end:
        times.append(start)
        start += step
    return times


def night_in_berlin(api: Api, start: datetime, end: datetime) -> list[datetime]:
    """A `30 2 * * *` Berlin schedule driven every 5 minutes from `start` to `end`; its ticks, in Berlin time."""
    with api.client() as client:
        schedule = api.create(client, cron=DAILY_0230, timezone="Europe/Berlin")
    first = next_tick(DAILY_0230, "Europe/Berlin", start)
    assert first is not None
    api.set_next_fire_at(schedule["id"], first)
    created = api.drive(every(start, end, timedelta(minutes=5)))
    ticks = api.ticks(schedule["id"])
    assert sum(created) == len(ticks)
    return [tick.astimezone(BERLIN) for tick in ticks]


def test_the_night_the_clocks_go_back_a_daily_0230_fires_once(api: Api) -> None:
    # 2026-10-25: 03:00 CEST becomes 02:00 CET, so 02:30 happens twice (00:30 and 01:30 UTC).
    ticks = night_in_berlin(api, datetime(2026, 10, 24, 22, 0, tzinfo=UTC), datetime(2026, 10, 25, 4, 0, tzinfo=UTC))
    assert [tick.isoformat() for tick in ticks] == ["2026-10-25T02:30:00+02:00"]


def test_the_night_the_clocks_go_forward_a_daily_0230_fires_at_0300(api: Api) -> None:
    # 2026-03-29: 02:00 CET becomes 03:00 CEST, so there is no 02:30; cron runs the job at 03:00 instead.
    ticks = night_in_berlin(api, datetime(2026, 3, 28, 22, 0, tzinfo=UTC), datetime(2026, 3, 29, 4, 0, tzinfo=UTC))
    assert [tick.isoformat() for tick in ticks] == ["2026-03-29T03:00:00+02:00"]


def test_a_half_hourly_schedule_fires_in_both_passes_of_the_repeated_hour(api: Api) -> None:
    with api.client() as client:
        schedule = api.create(client, cron="*/30 * * * *", timezone="Europe/Berlin")
    start = datetime(2026, 10, 24, 23, 50, tzinfo=UTC)
    api.set_next_fire_at(schedule["id"], datetime(2026, 10, 25, 0, 0, tzinfo=UTC))
    api.drive(every(start, datetime(2026, 10, 25, 2, 10, tzinfo=UTC), timedelta(minutes=5)))
    local = [tick.astimezone(BERLIN).isoformat() for tick in api.ticks(schedule["id"])]
    assert local == [
        "2026-10-25T02:00:00+02:00",
        "2026-10-25T02:30:00+02:00",
        "2026-10-25T02:00:00+01:00",
        "2026-10-25T02:30:00+01:00",
        "2026-10-25T03:00:00+01:00",
    ]


def test_a_tick_missed_within_the_grace_period_fires_once_late(api: Api) -> None:
    with api.client() as client:
        schedule = api.create(client, cron="0 * * * *")
        tick = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
        api.set_next_fire_at(schedule["id"], tick)
        late = tick + timedelta(seconds=api.settings.schedule_grace_seconds - 60)
        assert api.drive([late, late + timedelta(seconds=30)]) == [1, 0]
        assert api.ticks(schedule["id"]) == [tick]
        shown = client.get(f"/v1/schedules/{schedule['id']}").json()
        assert shown["last_fired_at"].startswith("2026-06-01T10:00:00")
        assert shown["next_fire_at"].startswith("2026-06-01T11:00:00")
        assert shown["missed_ticks"] == 0
        runs = client.get(f"/v1/schedules/{schedule['id']}/runs").json()["items"]
        assert [run["id"] for run in runs] == [shown["last_run_id"]]
        assert runs[0]["scheduled_for"].startswith("2026-06-01T10:00:00")


def test_ticks_missed_beyond_the_grace_period_are_skipped_and_counted_never_a_burst(api: Api) -> None:
    with api.client() as client:
        schedule = api.create(client, cron="0 * * * *")
        tick = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
        api.set_next_fire_at(schedule["id"], tick)
        # Down from 10:00 to 13:30: four ticks missed, none made up.
        back = datetime(2026, 6, 1, 13, 30, tzinfo=UTC)
        assert api.drive([back, back + timedelta(minutes=1)]) == [0, 0]
        shown = client.get(f"/v1/schedules/{schedule['id']}").json()
        assert shown["missed_ticks"] == 1
        assert shown["last_missed_at"].startswith("2026-06-01T10:00:00")
        assert shown["next_fire_at"].startswith("2026-06-01T14:00:00")
        assert shown["enabled"] is True
        assert api.ticks(schedule["id"]) == []
        # Then on time again.
        assert api.drive([datetime(2026, 6, 1, 14, 0, 1, tzinfo=UTC)]) == [1]
        assert api.ticks(schedule["id"]) == [datetime(2026, 6, 1, 14, 0, tzinfo=UTC)]


def test_a_schedule_stops_after_its_end(api: Api) -> None:
    with api.client() as client:
        schedule = api.create(client, cron="0 * * * *", end_at="2099-01-01T00:00:00Z")
        api.sql(
            "UPDATE schedules SET end_at = :end WHERE id = :id",
            end=datetime(2026, 6, 1, 11, 30, tzinfo=UTC),
            id=schedule["id"],
        )
        api.set_next_fire_at(schedule["id"], datetime(2026, 6, 1, 11, 0, tzinfo=UTC))
        assert api.drive([datetime(2026, 6, 1, 11, 0, tzinfo=UTC), datetime(2026, 6, 1, 12, 0, tzinfo=UTC)]) == [1, 0]
        shown = client.get(f"/v1/schedules/{schedule['id']}").json()
        assert shown["enabled"] is False
        assert shown["next_fire_at"] is None
        assert "end_at" in shown["disabled_reason"]


def test_a_revoked_key_stops_the_schedule_and_resume_with_a_valid_key_restarts_it(api: Api) -> None:
    with api.client() as alice:
        created = alice.post("/v1/keys", json={"name": "cron box"}).json()
        with api.server.client(created["key"]) as cron_box:
            schedule = api.create(cron_box, cron="0 * * * *")
        assert alice.delete(f"/v1/keys/{created['id']}").status_code in (200, 204)
        tick = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
        api.set_next_fire_at(schedule["id"], tick)
        assert api.drive([tick, tick + timedelta(hours=1)]) == [0, 0]
        assert api.ticks(schedule["id"]) == []
        shown = alice.get(f"/v1/schedules/{schedule['id']}").json()
        assert shown["enabled"] is False
        assert shown["next_fire_at"] is None
        assert "revoked" in shown["disabled_reason"]

        resumed = alice.post(f"/v1/schedules/{schedule['id']}/resume").json()  # under Alice's own key now
        assert resumed["enabled"] is True
        assert resumed["disabled_reason"] is None
        api.set_next_fire_at(schedule["id"], tick)
        assert api.drive([tick]) == [1]


def test_a_schedule_that_cannot_fire_is_stopped_without_holding_up_the_others(api: Api) -> None:
    with api.client(ALICE) as client:
        doomed = api.create(client, cron="0 * * * *", agent="slow")
        fine = api.create(client, cron="0 * * * *")
        tick = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
        for schedule in (doomed, fine):
            api.set_next_fire_at(schedule["id"], tick)
        # As if the plugin with the `slow` agent had been removed: one transaction, one SAVEPOINT per schedule.
        assert api.drive([tick], without_agents=("slow",)) == [1]
        assert api.ticks(fine["id"]) == [tick]
        assert api.ticks(doomed["id"]) == []
        shown = client.get(f"/v1/schedules/{doomed['id']}").json()
        assert shown["enabled"] is False
        assert "unknown agent 'slow'" in shown["disabled_reason"]
        assert client.get(f"/v1/schedules/{fine['id']}").json()["enabled"] is True


def test_a_server_with_workers_fires_a_new_schedule_at_once(make_server: Callable[..., LiveServer]) -> None:
    """`switchboard serve` runs a scheduler beside its workers; creating a schedule wakes it (NOTIFY) rather than
    leaving the first tick to its next poll, and the tick's run executes."""
    server = make_server(plugins=[TEST_PLUGIN], workers=1)
    key = seed_demo(server.settings)[ALICE].key
    with server.client(key) as client:
        response = client.post(
            "/v1/schedules", json={"agent": "echo", "message": "every second", "cron": "* * * * * *"}
        )
        assert response.status_code == 201, response.text
        schedule_id = response.json()["id"]
        deadline = time.monotonic() + 10
        while not (runs := client.get(f"/v1/schedules/{schedule_id}/runs").json()["items"]):
            assert time.monotonic() < deadline, "no tick fired"
            time.sleep(0.05)
        assert client.post(f"/v1/schedules/{schedule_id}/pause").status_code == 200
        run = wait_for_status(client, runs[-1]["id"])
        assert run["status"] == "succeeded"
        assert run["output"] == "echo: every second"
        assert run["scheduled_for"] is not None
