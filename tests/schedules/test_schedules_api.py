"""The schedules API over real HTTP: create, read, list, change, pause, resume, run now, delete; every bad field
refused (422 naming it, 413 for a long message) with nothing stored; another user's schedule is 404."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from switchboard.schedules.cron import next_tick
from tests.fixtures.http import assert_error, get_run
from tests.schedules.conftest import ALICE, BOB, Api

SCHEDULE_KEYS = {
    "id",
    "agent",
    "message",
    "cron",
    "timezone",
    "thread",
    "enabled",
    "end_at",
    "metadata",
    "limits",
    "notify",
    "next_fire_at",
    "description",
    "last_fired_at",
    "last_run_id",
    "missed_ticks",
    "last_missed_at",
    "disabled_reason",
    "created_at",
    "updated_at",
}


def instant(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def count_schedules(api: Api) -> int:
    """Schedules stored, besides the one the demo seeds for test.user (`demo/automation.py`)."""
    return int(api.sql("SELECT count(*) FROM schedules WHERE metadata ->> 'demo' IS NULL")[0][0])


def test_create_shows_every_field_the_next_tick_and_what_it_means(api: Api) -> None:
    with api.client() as client:
        before = datetime.now(UTC)
        schedule = api.create(
            client,
            cron="30 9 * * 1-5",
            timezone="Europe/Berlin",
            metadata={"team": "ops"},
            limits={"max_model_requests": 3},
            notify=[{"webhook": {"url": "http://127.0.0.1:9/hook", "secret": "s" * 20}}],
        )
        assert set(schedule) == SCHEDULE_KEYS
        assert schedule["thread"] == "new"
        assert schedule["enabled"] is True
        assert schedule["description"] == "At 09:30 on Monday through Friday (Europe/Berlin)"
        assert schedule["next_fire_at"] is not None
        assert instant(schedule["next_fire_at"]) == next_tick("30 9 * * 1-5", "Europe/Berlin", before)
        assert schedule["metadata"] == {"team": "ops"}
        assert schedule["limits"]["max_model_requests"] == 3
        assert schedule["notify"] == [{"webhook": {"url": "http://127.0.0.1:9/hook", "signed": True}}]
        assert schedule["missed_ticks"] == 0
        assert schedule["last_run_id"] is None
        assert schedule["disabled_reason"] is None
        # Recorded under the key that created it.
        key_ids = api.sql("SELECT api_key_id FROM schedules WHERE id = :id", id=schedule["id"])
        assert key_ids[0][0] is not None

        assert client.get(f"/v1/schedules/{schedule['id']}").json() == schedule


def test_six_fields_and_macros_are_understood(api: Api) -> None:
    with api.client() as client:
        every_second = api.create(client, cron="*/10 * * * * *")
        assert every_second["description"] == "Every 10th second of every minute (UTC)"
        assert instant(every_second["next_fire_at"]) - datetime.now(UTC) <= timedelta(seconds=10)
        daily = api.create(client, cron="@daily")
        assert daily["description"] == "At 00:00 every day (UTC)"


def test_list_is_paginated_newest_first_and_shows_only_yours(api: Api) -> None:
    with api.client() as alice, api.client(BOB) as bob:
        ids = [api.create(alice, message=f"number {i}")["id"] for i in range(3)]
        api.create(bob)
        first = alice.get("/v1/schedules", params={"limit": 2}).json()
        assert [s["id"] for s in first["items"]] == ids[::-1][:2]
        second = alice.get("/v1/schedules", params={"limit": 2, "cursor": first["next_cursor"]}).json()
        assert [s["id"] for s in second["items"]] == ids[:1]
        assert second["next_cursor"] is None


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"cron": "61 * * * *"}, "cron"),
        ({"cron": "* * *"}, "cron"),
        ({"cron": "@fortnightly"}, "cron"),
        ({"cron": "0 0 30 2 *"}, "cron"),  # 30 February: never
        ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
        ({"timezone": "../../etc/passwd"}, "timezone"),
        ({"agent": "no-such-agent"}, "agent"),
        ({"end_at": "2020-01-01T00:00:00Z"}, "end_at"),
        ({"end_at": "2099-01-01T00:00:00Z", "cron": "0 0 1 1 *", "timezone": "UTC", "thread": "nonsense"}, "thread"),
        ({"enabled": "yes"}, "enabled"),
        ({"limits": {"max_model_requests": 0}}, "limits.max_model_requests"),
        ({"notify": [{"webhook": {"url": "ftp://example.com/x"}}]}, "notify.0.webhook.url"),
        ({"message": ""}, "message"),
    ],
)
def test_each_bad_field_is_refused_by_name_and_nothing_is_stored(api: Api, fields: dict[str, Any], field: str) -> None:
    with api.client() as client:
        body = {"agent": "echo", "message": "hi", "cron": "0 9 * * *", **fields}
        error = assert_error(client.post("/v1/schedules", json=body), 422, "validation_error")
        assert field in [d["field"] for d in error["details"]], error
        assert count_schedules(api) == 0


def test_an_end_with_no_tick_before_it_is_refused(api: Api) -> None:
    with api.client() as client:
        soon = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
        body = {"agent": "echo", "message": "hi", "cron": "0 0 1 1 *", "end_at": soon}
        error = assert_error(client.post("/v1/schedules", json=body), 422, "validation_error")
        assert error["details"] == [{"field": "end_at", "message": "the expression has no tick before end_at"}]
        assert count_schedules(api) == 0


def test_a_long_message_is_413(api: Api) -> None:
    with api.client() as client:
        body = {"agent": "echo", "message": "x" * (api.settings.max_prompt_chars + 1), "cron": "0 9 * * *"}
        assert_error(client.post("/v1/schedules", json=body), 413, "payload_too_large")
        assert count_schedules(api) == 0


def test_a_message_is_limited_as_its_agent_limits_its_input(api: Api) -> None:
    """The text-analysis pipeline takes 10,000 characters (its own `max_input_chars`), whatever the server-wide
    SWITCHBOARD_MAX_PROMPT_CHARS: so does a schedule of it."""
    with api.client() as client:
        text = "A calm sentence about the weather. " * (api.settings.max_prompt_chars // 30)
        assert api.settings.max_prompt_chars < len(text) < 10_000
        made = client.post("/v1/schedules", json={"agent": "text-analysis", "message": text, "cron": "0 9 * * *"})
        assert made.status_code == 201, made.text
        longer = {"agent": "text-analysis", "message": "x" * 10_001, "cron": "0 9 * * *"}
        error = assert_error(client.post("/v1/schedules", json=longer), 413, "payload_too_large")
        assert "text-analysis's own limit" in error["message"]
        assert count_schedules(api) == 1


def test_a_thread_must_be_yours_and_of_the_same_agent(api: Api) -> None:
    with api.client() as alice, api.client(BOB) as bob:
        bobs = bob.post("/v1/threads", json={"agent": "echo"}).json()["id"]
        for thread in (bobs, "00000000-0000-0000-0000-000000000001"):  # another's is as one that never was: 404
            body = {"agent": "echo", "message": "m", "cron": "0 9 * * *", "thread": thread}
            error = assert_error(alice.post("/v1/schedules", json=body), 404, "not_found")
            assert [d["field"] for d in error["details"]] == ["thread"]
        slow_thread = alice.post("/v1/threads", json={"agent": "slow"}).json()["id"]
        body = {"agent": "echo", "message": "m", "cron": "0 9 * * *", "thread": slow_thread}
        error = assert_error(alice.post("/v1/schedules", json=body), 422, "validation_error")
        assert [d["field"] for d in error["details"]] == ["thread"]
        assert count_schedules(api) == 0

        own = alice.post("/v1/threads", json={"agent": "echo"}).json()["id"]
        schedule = api.create(alice, thread=own)
        assert schedule["thread"] == own


def test_another_users_schedule_is_not_found(api: Api) -> None:
    with api.client() as alice, api.client(BOB) as bob:
        schedule = api.create(alice)
        path = f"/v1/schedules/{schedule['id']}"
        assert_error(bob.get(path), 404, "not_found")
        assert_error(bob.patch(path, json={"message": "mine now"}), 404, "not_found")
        for action in ("pause", "resume", "run"):
            assert_error(bob.post(f"{path}/{action}"), 404, "not_found")
        assert_error(bob.get(f"{path}/runs"), 404, "not_found")
        assert_error(bob.delete(path), 404, "not_found")
        assert alice.get(path).json() == schedule


def test_patch_changes_what_is_given_and_recomputes_the_next_tick(api: Api) -> None:
    with api.client() as client:
        schedule = api.create(client, end_at="2099-01-01T00:00:00Z")
        path = f"/v1/schedules/{schedule['id']}"
        before = datetime.now(UTC)
        response = client.patch(path, json={"cron": "15 6 * * *", "timezone": "America/New_York", "end_at": None})
        assert response.status_code == 200, response.text
        changed = response.json()
        assert changed["message"] == schedule["message"]
        assert changed["end_at"] is None
        assert changed["description"] == "At 06:15 every day (America/New_York)"
        assert instant(changed["next_fire_at"]) == next_tick("15 6 * * *", "America/New_York", before)

        error = assert_error(client.patch(path, json={"cron": "bad"}), 422, "validation_error")
        assert [d["field"] for d in error["details"]] == ["cron"]
        error = assert_error(client.patch(path, json={"message": None}), 422, "validation_error")
        assert [d["field"] for d in error["details"]] == ["message"]
        slow_thread = client.post("/v1/threads", json={"agent": "slow"}).json()["id"]
        error = assert_error(client.patch(path, json={"thread": slow_thread}), 422, "validation_error")
        assert [d["field"] for d in error["details"]] == ["thread"]
        assert client.get(path).json() == changed  # nothing of the refused patches stored


def test_pause_resume_and_delete(api: Api) -> None:
    with api.client() as client:
        schedule = api.create(client, cron="* * * * *")
        path = f"/v1/schedules/{schedule['id']}"
        paused = client.post(f"{path}/pause").json()
        assert paused["enabled"] is False
        assert paused["next_fire_at"] is None
        before = datetime.now(UTC)
        resumed = client.post(f"{path}/resume").json()
        assert resumed["enabled"] is True
        assert instant(resumed["next_fire_at"]) == next_tick("* * * * *", "UTC", before)

        assert client.delete(path).status_code == 204
        assert_error(client.get(path), 404, "not_found")
        assert count_schedules(api) == 0


def test_run_now_creates_one_run_of_the_schedule_even_paused(api: Api) -> None:
    with api.client() as client:
        schedule = api.create(client, metadata={"from": "schedule"}, enabled=False)
        assert schedule["next_fire_at"] is None
        response = client.post(f"/v1/schedules/{schedule['id']}/run")
        assert response.status_code == 202, response.text
        run = response.json()
        assert response.headers["location"] == f"/v1/runs/{run['id']}"
        assert run["schedule_id"] == schedule["id"]
        assert run["scheduled_for"] is None
        assert run["agent"] == "echo"
        assert run["message"] == "hello from a schedule"
        assert run["metadata"] == {"from": "schedule"}
        assert get_run(client, run["id"])["status"] == "queued"  # no worker here

        again = client.post(f"/v1/schedules/{schedule['id']}/run").json()
        assert again["thread_id"] != run["thread_id"]  # thread "new": a thread per run
        runs = client.get(f"/v1/schedules/{schedule['id']}/runs", params={"limit": 1}).json()
        assert [r["id"] for r in runs["items"]] == [again["id"]]
        rest = client.get(f"/v1/schedules/{schedule['id']}/runs", params={"cursor": runs["next_cursor"]}).json()
        assert [r["id"] for r in rest["items"]] == [run["id"]]
        assert client.get(f"/v1/schedules/{schedule['id']}").json()["last_run_id"] == again["id"]


def test_run_now_on_a_fixed_thread_uses_it(api: Api) -> None:
    with api.client() as client:
        thread = client.post("/v1/threads", json={"agent": "echo"}).json()["id"]
        schedule = api.create(client, thread=thread)
        run = client.post(f"/v1/schedules/{schedule['id']}/run").json()
        assert run["thread_id"] == thread


def test_deleting_a_schedule_keeps_its_runs(api: Api) -> None:
    with api.client(ALICE) as client:
        schedule = api.create(client)
        run = client.post(f"/v1/schedules/{schedule['id']}/run").json()
        assert client.delete(f"/v1/schedules/{schedule['id']}").status_code == 204
        assert get_run(client, run["id"])["schedule_id"] is None
