"""At most `max_concurrent_runs` of a user's runs queued or running at once: exact when many ask at once, and a
slot is free again once a run ends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.fixtures.http import assert_error, get_run, wait_for_status
from tests.limits.conftest import ALICE, BOB, Limited, concurrently, run_body
from tests.schedules.conftest import Api


def test_of_ten_runs_asked_at_once_exactly_the_cap_is_admitted(limited: Limited) -> None:
    server, users = limited(max_concurrent_runs=2)  # no workers: the runs stay queued
    responses = concurrently(server, users[ALICE].key, 10)
    assert sorted(r.status_code for r in responses) == [202] * 2 + [429] * 8
    error = assert_error(next(r for r in responses if r.status_code == 429), 429, "rate_limited")
    assert "2 runs at once (tier free)" in error["message"]
    assert error["details"]["busy"] == 2
    with server.client(users[BOB].key) as client:  # another user's runs are their own
        assert client.post("/v1/runs", json=run_body()).status_code == 202
    with server.client(users[ALICE].key) as client:
        admitted = [r.json()["id"] for r in responses if r.status_code == 202]
        assert client.post(f"/v1/runs/{admitted[0]}/cancel").status_code == 200
        assert get_run(client, admitted[0])["status"] == "cancelled"
        assert client.post("/v1/runs", json=run_body()).status_code == 202  # the cancelled one's slot
        assert_error(client.post("/v1/runs", json=run_body()), 429, "rate_limited")
        limits = client.get("/v1/limits").json()
    assert limits["max_concurrent_runs"] == {"limit": 2, "in_use": 2}


def test_a_finished_run_frees_its_slot(limited: Limited) -> None:
    server, users = limited(max_concurrent_runs=1, workers=1)
    with server.client(users[ALICE].key) as client:
        first = client.post("/v1/runs/wait", json=run_body("tokens=10 requests=2"))
        assert first.status_code == 200, first.text
        assert first.json()["status"] == "succeeded"
        second = client.post("/v1/runs", json=run_body())
        assert second.status_code == 202, second.text
        wait_for_status(client, second.json()["id"])


def test_a_schedule_tick_refused_by_the_cap_is_missed_and_the_schedule_carries_on(limited: Limited) -> None:
    server, users = limited(max_concurrent_runs=1)  # no workers: the first run stays queued
    api = Api(server, users)
    with api.client(ALICE) as client:
        assert client.post("/v1/runs", json=run_body()).status_code == 202  # the one run at once
        schedule = api.create(client, agent="spender", message="tokens=1", cron="0 9 * * *")
        tick = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=5)
        api.set_next_fire_at(schedule["id"], tick)
        assert api.drive([tick + timedelta(seconds=10)]) == [0]  # (or the server's own scheduler refused it)
        shown = client.get(f"/v1/schedules/{schedule['id']}").json()
    assert shown["enabled"] is True, shown
    assert shown["missed_ticks"] == 1
    assert shown["last_run_id"] is None
