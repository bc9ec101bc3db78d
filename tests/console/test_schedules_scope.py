"""Saving a schedule or trigger from the console needs `runs:write` on the signed-in key, as the API's does; reading
and pausing do not. Server-level (no browser): a read-only key signs in and tries."""

from __future__ import annotations

import re

import httpx

from tests.fixtures.demo import DemoUser
from tests.fixtures.server import LiveServer

ALICE = "alice@example.com"


def signed_in(server: LiveServer, key: str) -> tuple[httpx.Client, str]:
    """A console session for `key` (the cookie in the client) and its CSRF token (from a page's meta tag)."""
    client = server.client()
    assert client.post("/console/sign-in", data={"api_key": key}).status_code == 303
    page = client.get("/console/schedules")
    assert page.status_code == 200
    match = re.search(r'<meta name="csrf-token" content="([^"]+)"', page.text)
    assert match is not None
    return client, match.group(1)


def test_a_key_without_runs_write_cannot_save_a_schedule_or_trigger(
    server: LiveServer, demo: dict[str, DemoUser]
) -> None:
    with server.client(demo[ALICE].key) as api:
        made = api.post("/v1/keys", json={"name": "read only", "scopes": ["tools:call"]})
        assert made.status_code == 201, made.text
        read_only = made.json()["key"]
    client, csrf = signed_in(server, read_only)
    try:
        page = client.get("/console/schedules")
        assert "lacks the runs:write scope" in page.text
        schedule = {"agent": "support", "message": "hi", "cron": "0 9 * * *", "timezone": "UTC"}
        refused = client.post("/console/schedules", data=schedule, headers={"X-CSRF-Token": csrf, "HX-Request": "true"})
        assert refused.status_code == 403
        assert "runs:write" in refused.text
        trigger = {"name": "t", "agent": "support", "instructions": "do it"}
        refused = client.post("/console/triggers", data=trigger, headers={"X-CSRF-Token": csrf, "HX-Request": "true"})
        assert refused.status_code == 403
        no_csrf = client.post("/console/schedules", data=schedule, headers={"HX-Request": "true"})
        assert no_csrf.status_code in (401, 403)
        # A preview is a read: it works for this key too.
        shown = client.get("/console/schedules/preview", params={"cron": "@daily", "timezone": "UTC"})
        assert "At 00:00 every day (UTC)" in shown.text
    finally:
        client.close()
    with server.client(demo[ALICE].key) as api:
        assert api.get("/v1/schedules").json()["items"] == []
        assert api.get("/v1/triggers").json()["items"] == []


def test_an_invalid_schedule_is_refused_with_what_to_fix_and_nothing_stored(
    server: LiveServer, demo: dict[str, DemoUser]
) -> None:
    client, csrf = signed_in(server, demo[ALICE].key)
    htmx = {"X-CSRF-Token": csrf, "HX-Request": "true"}
    try:
        bad_cron = {"agent": "support", "message": "hi", "cron": "61 * * * *", "timezone": "UTC"}
        refused = client.post("/console/schedules", data=bad_cron, headers=htmx)
        assert refused.status_code == 422
        assert refused.headers["HX-Retarget"] == "#flash"  # a notice; the form keeps what was typed
        assert "is not a cron expression" in refused.text
        bad_agent = {**bad_cron, "cron": "0 9 * * *", "agent": "nobody"}
        assert "unknown agent" in client.post("/console/schedules", data=bad_agent, headers=htmx).text
        bad_end = {**bad_cron, "cron": "0 9 * * *", "end_at": "yesterday"}
        assert client.post("/console/schedules", data=bad_end, headers=htmx).status_code == 422
        made = client.post("/console/schedules", data={**bad_cron, "cron": "@daily"}, headers=htmx)
        assert made.status_code == 200
        assert "At 00:00 every day (UTC)" in made.text
    finally:
        client.close()
    with server.client(demo[ALICE].key) as api:
        (stored,) = api.get("/v1/schedules").json()["items"]
    assert stored["cron"] == "@daily"
