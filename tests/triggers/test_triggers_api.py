"""The triggers API over real HTTP: create (secret shown once, stored encrypted), list (own only, paginated), get,
change, delete, rotate; invalid input names its field and stores nothing; another user's trigger is not found on
every route; the events list says what came in and which run it started."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.demo.automation import TRIGGER_NAME
from tests.fixtures.database import run_db
from tests.fixtures.demo import DemoUser, seed_demo
from tests.fixtures.http import assert_error, wait_for_status
from tests.fixtures.server import LiveServer
from tests.triggers.helpers import create_trigger, send, standard_headers, stored_counts

ALICE = "alice@example.com"
BOB = "bob@example.com"
TRIGGER_KEYS = {
    "id",
    "agent",
    "name",
    "instructions",
    "enabled",
    "thread",
    "notify",
    "signature",
    "ingest_url",
    "accepting_events",
    "not_accepting_reason",
    "previous_secret_expires_at",
    "created_at",
    "updated_at",
}


def stored_triggers(url: str) -> list[dict[str, Any]]:
    async def work(session: AsyncSession) -> list[dict[str, Any]]:
        # Besides the one the demo seeds for test.user (`demo/automation.py`).
        query = "SELECT id, user_id, api_key_id, secret, thread_id FROM triggers WHERE name <> :demo"
        rows = await session.execute(text(query), {"demo": TRIGGER_NAME})
        return [dict(row._mapping) for row in rows]

    return run_db(url, work)


def test_create_shows_the_secret_once_and_stores_it_encrypted(server: LiveServer, demo: dict[str, DemoUser]) -> None:
    with server.client(demo[ALICE].key) as alice:
        response = alice.post(
            "/v1/triggers",
            json={"agent": "support", "name": "order shipped", "instructions": "Show me all my orders"},
        )
        assert response.status_code == 201, response.text
        created = response.json()
        assert set(created) == TRIGGER_KEYS | {"secret"}
        assert created["secret"].startswith("whsec_")
        assert created["enabled"] is True
        assert created["thread"] == "new"
        assert created["signature"] == "standard"
        assert created["notify"] == []
        assert created["accepting_events"] is True
        assert created["not_accepting_reason"] is None
        settings = server.settings
        assert created["ingest_url"] == f"http://{settings.host}:{settings.port}/v1/hooks/{created['id']}"
        me = alice.get("/v1/me").json()

        shown = alice.get(f"/v1/triggers/{created['id']}").json()
        assert shown == {key: value for key, value in created.items() if key != "secret"}
        assert [t["id"] for t in alice.get("/v1/triggers").json()["items"]] == [created["id"]]
        assert "secret" not in alice.get("/v1/triggers").json()["items"][0]

    [row] = stored_triggers(server.database_url)
    assert row["user_id"] == demo[ALICE].user_id
    assert row["api_key_id"] == me["api_key"]["id"]
    assert created["secret"] not in row["secret"]
    assert created["secret"].removeprefix("whsec_") not in row["secret"]


def test_the_ingest_url_uses_the_public_url(make_server: Callable[..., LiveServer]) -> None:
    server = make_server(public_url="https://switchboard.example.com/")
    people = seed_demo(server.settings)
    with server.client(people[ALICE].key) as alice:
        created = create_trigger(alice)
    assert created["ingest_url"] == f"https://switchboard.example.com/v1/hooks/{created['id']}"


def test_invalid_input_names_the_field_and_stores_nothing(server: LiveServer, demo: dict[str, DemoUser]) -> None:
    with server.client(demo[ALICE].key) as alice, server.client(demo[BOB].key) as bob:
        bobs_thread = bob.post("/v1/threads", json={"agent": "support"}).json()["id"]
        extractor_thread = alice.post("/v1/threads", json={"agent": "document-extractor"}).json()["id"]
        base = {"agent": "support", "name": "n", "instructions": "Show me all my orders"}
        cases: list[tuple[dict[str, Any], int, str]] = [
            ({**base, "agent": "nobody"}, 422, "agent"),
            ({**base, "thread": bobs_thread}, 404, "thread"),
            ({**base, "thread": str(uuid.uuid4())}, 404, "thread"),
            ({**base, "thread": extractor_thread}, 422, "thread"),
            ({**base, "thread": "old"}, 422, "thread"),
            ({**base, "signature": "svix"}, 422, "signature"),
            ({**base, "name": ""}, 422, "name"),
            ({**base, "instructions": ""}, 422, "instructions"),
            ({**base, "instructions": "x" * 2001}, 422, "instructions"),
            ({**base, "enabled": "yes"}, 422, "enabled"),
            ({**base, "notify": [{"webhook": {"url": "http://127.0.0.1:9/hook"}}]}, 422, "notify.0.webhook.url"),
            ({"name": "n", "instructions": "i"}, 422, "agent"),
        ]
        for body, status, field in cases:
            error = assert_error(
                alice.post("/v1/triggers", json=body), status, "not_found" if status == 404 else "validation_error"
            )
            assert field in {detail["field"] for detail in error["details"]}, (body, error)
    assert stored_triggers(server.database_url) == []


def test_another_users_trigger_is_not_found_everywhere(server: LiveServer, demo: dict[str, DemoUser]) -> None:
    with server.client(demo[ALICE].key) as alice, server.client(demo[BOB].key) as bob:
        trigger = create_trigger(alice)
        path = f"/v1/triggers/{trigger['id']}"
        for response in (
            bob.get(path),
            bob.patch(path, json={"enabled": False}),
            bob.delete(path),
            bob.post(f"{path}/rotate-secret"),
            bob.get(f"{path}/events"),
        ):
            assert_error(response, 404, "not_found")
        assert bob.get("/v1/triggers").json() == {"items": [], "next_cursor": None}
        assert alice.get(path).json()["enabled"] is True
        assert alice.get(path).json()["previous_secret_expires_at"] is None
        assert_error(alice.get(f"/v1/triggers/{uuid.uuid4()}"), 404, "not_found")
        assert_error(alice.get("/v1/triggers/not-a-uuid"), 422, "validation_error")


def test_list_is_newest_first_and_paginated(server: LiveServer, demo: dict[str, DemoUser]) -> None:
    with server.client(demo[ALICE].key) as alice:
        ids = [create_trigger(alice, name=f"t{i}")["id"] for i in range(3)]
        first = alice.get("/v1/triggers", params={"limit": 2}).json()
        second = alice.get("/v1/triggers", params={"limit": 2, "cursor": first["next_cursor"]}).json()
        assert second["next_cursor"] is None
        assert [t["id"] for t in first["items"] + second["items"]] == ids[::-1]
        assert_error(alice.get("/v1/triggers", params={"cursor": "garbage"}), 422, "validation_error")


def test_patch_changes_only_what_is_given(make_server: Callable[..., LiveServer]) -> None:
    server = make_server(allow_private_urls=True)  # the notify URL below is on loopback
    people = seed_demo(server.settings)
    with server.client(people[ALICE].key) as alice:
        thread = alice.post("/v1/threads", json={"agent": "support"}).json()["id"]
        extractor_thread = alice.post("/v1/threads", json={"agent": "document-extractor"}).json()["id"]
        trigger = create_trigger(alice, notify=[{"webhook": {"url": "http://127.0.0.1:9/hook"}}])
        assert trigger["notify"] == [{"webhook": {"url": "http://127.0.0.1:9/hook", "signed": False}}]
        path = f"/v1/triggers/{trigger['id']}"

        changed = alice.patch(path, json={"name": "renamed", "thread": thread, "signature": "github"})
        assert changed.status_code == 200, changed.text
        after = changed.json()
        assert "secret" not in after
        assert (after["name"], after["thread"], after["signature"]) == ("renamed", thread, "github")
        assert after["instructions"] == trigger["instructions"]
        assert after["notify"] == trigger["notify"]
        assert after["updated_at"] > trigger["updated_at"]

        assert alice.patch(path, json={"notify": None}).json()["notify"] == []
        assert alice.patch(path, json={"thread": "new"}).json()["thread"] == "new"
        for body, field in (
            ({"name": None}, "name"),  # left out keeps a field; null is refused, save notify's
            ({"enabled": None}, "enabled"),
            ({"agent": "nobody"}, "agent"),
            ({"thread": extractor_thread}, "thread"),
            ({"instructions": "x" * 2001}, "instructions"),
        ):
            error = assert_error(alice.patch(path, json=body), 422, "validation_error")
            assert field in {detail["field"] for detail in error["details"]}, (body, error)
        # A new agent must fit the trigger's thread.
        alice.patch(path, json={"thread": thread})
        error = assert_error(alice.patch(path, json={"agent": "document-extractor"}), 422, "validation_error")
        assert error["details"][0]["field"] == "thread"
        moved = alice.patch(path, json={"agent": "document-extractor", "thread": extractor_thread}).json()
        assert (moved["agent"], moved["thread"]) == ("document-extractor", extractor_thread)


def test_events_list_what_came_in_and_delete_keeps_the_runs(server: LiveServer, demo: dict[str, DemoUser]) -> None:
    with server.client(demo[ALICE].key) as alice, server.client() as sender:
        trigger = create_trigger(alice)
        run_ids = []
        for index in range(3):
            body = f'{{"n": {index}}}'.encode()
            response = send(sender, trigger, body, standard_headers(trigger["secret"], body, f"evt_{index}"))
            run_ids.append(response.json()["run_id"])
        for run_id in run_ids:
            wait_for_status(alice, run_id)
        path = f"/v1/triggers/{trigger['id']}/events"
        first = alice.get(path, params={"limit": 2}).json()
        second = alice.get(path, params={"limit": 2, "cursor": first["next_cursor"]}).json()
        events = first["items"] + second["items"]
        assert [e["event_id"] for e in events] == ["evt_2", "evt_1", "evt_0"]
        assert [e["run_id"] for e in events] == run_ids[::-1]
        assert {e["run_status"] for e in events} == {"succeeded"}
        assert [e["size_bytes"] for e in events] == [8, 8, 8]

        assert alice.delete(f"/v1/triggers/{trigger['id']}").status_code == 204
        assert_error(alice.get(f"/v1/triggers/{trigger['id']}"), 404, "not_found")
        assert_error(alice.get(path), 404, "not_found")
        assert_error(send(sender, trigger, b"{}", standard_headers(trigger["secret"], b"{}")), 404, "not_found")
        for run_id in run_ids:  # the runs stay, no longer linked to a trigger
            run = alice.get(f"/v1/runs/{run_id}").json()
            assert run["trigger_id"] is None
            assert run["status"] == "succeeded"
    assert stored_counts(server.database_url, trigger["id"]) == (0, 0)
