"""A schedule's and a trigger's runs have the rights and the budget of the key that saved them: a narrowed key's
schedule never starts runs wider than the key, and a key that may not start runs may not save either."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from tests.fixtures.http import assert_error
from tests.schedules.conftest import ALICE, Api
from tests.triggers.helpers import create_trigger, standard_headers


def narrowed_key(api: Api, scopes: list[str]) -> tuple[int, str]:
    with api.client(ALICE) as alice:
        made = alice.post("/v1/keys", json={"name": "narrow", "scopes": scopes}).json()
    return made["id"], made["key"]


def test_a_key_without_runs_write_saves_no_schedule_or_trigger(api: Api) -> None:
    counts = "SELECT (SELECT count(*) FROM schedules), (SELECT count(*) FROM triggers)"
    before = api.sql(counts)
    _, key = narrowed_key(api, [])
    with api.server.client(key) as narrowed:
        body = {"agent": "echo", "message": "hi", "cron": "0 9 * * *"}
        error = assert_error(narrowed.post("/v1/schedules", json=body), 403, "permission_denied")
        assert "runs:write" in error["message"]
        trigger = {"agent": "support", "name": "shop events", "instructions": "Show me all my orders"}
        assert_error(narrowed.post("/v1/triggers", json=trigger), 403, "permission_denied")
    assert api.sql(counts) == before


def test_a_schedules_tick_runs_under_the_key_that_saved_it(api: Api) -> None:
    key_id, key = narrowed_key(api, ["runs:write"])
    with api.server.client(key) as narrowed:
        schedule = api.create(narrowed)
    tick = datetime.now(UTC) - timedelta(seconds=5)
    api.set_next_fire_at(schedule["id"], tick)
    assert api.drive([datetime.now(UTC)]) == [1]
    rows = api.sql("SELECT api_key_id FROM runs WHERE schedule_id = :id", id=schedule["id"])
    assert rows == [(key_id,)]  # its rights (scopes) and its budget are that key's


def test_a_triggers_event_runs_under_the_key_that_saved_it(api: Api) -> None:
    key_id, key = narrowed_key(api, ["runs:write"])
    with api.server.client(key) as narrowed:
        trigger = create_trigger(narrowed)
    body = json.dumps({"event": "order.shipped", "order_id": 1}).encode()
    with api.server.client() as sender:
        ingest = urlsplit(trigger["ingest_url"]).path
        sent = sender.post(ingest, content=body, headers=standard_headers(trigger["secret"], body))
    assert sent.status_code == 202, sent.text
    rows = api.sql("SELECT api_key_id FROM runs WHERE trigger_id = :id", id=trigger["id"])
    assert rows == [(key_id,)]
