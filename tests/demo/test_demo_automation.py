"""The demo seeds test.user a morning schedule (paused) and an "order shipped" trigger whose secret it keeps in
the data dir, so the README's walkthrough can fire one and sign events for the other."""

from __future__ import annotations

import datetime
import json
import stat
import uuid

import httpx
from standardwebhooks import Webhook

from switchboard.settings import Settings
from tests.fixtures.demo import DemoUser, seed_demo
from tests.fixtures.http import wait_for_status
from tests.fixtures.server import LiveServer

OWNER = "test.user@example.com"


def signed_post(ingest_url: str, secret: str, payload: dict[str, object]) -> httpx.Response:
    body = json.dumps(payload)
    msg_id, now = f"msg_{uuid.uuid4().hex}", datetime.datetime.now(datetime.UTC)
    headers = {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, now, body),
    }
    return httpx.post(ingest_url, content=body, headers=headers, timeout=10)


def test_the_demo_seeds_a_paused_schedule_and_a_working_trigger(server: LiveServer, demo: dict[str, DemoUser]) -> None:
    settings: Settings = server.settings
    path = settings.data_dir / "demo-trigger.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    written = json.loads(path.read_text())
    with server.client(demo[OWNER].key) as client:
        [schedule] = client.get("/v1/schedules").json()["items"]
        assert (schedule["cron"], schedule["timezone"], schedule["enabled"]) == ("0 9 * * *", "Europe/Berlin", False)
        assert schedule["next_fire_at"] is None
        fired = client.post(f"/v1/schedules/{schedule['id']}/run")
        assert fired.status_code == 202, fired.text
        assert "Order #1" in wait_for_status(client, fired.json()["id"], "succeeded")["output"]

        [trigger] = client.get("/v1/triggers").json()["items"]
        assert trigger["id"] == written["trigger_id"]
        ingest_url = written["ingest_url"].replace(f"{settings.host}:{settings.port}", server.url.split("//")[1])
        answer = signed_post(ingest_url, written["secret"], {"event": "order.shipped", "order_id": 1})
        assert answer.status_code == 202, answer.text
        run = wait_for_status(client, answer.json()["run_id"], "succeeded")
        assert "Order #1" in run["output"]
        assert run["trigger_id"] == trigger["id"]

    again = seed_demo(settings)  # idempotent: the same two, the same secret
    assert json.loads(path.read_text()) == written
    with server.client(again[OWNER].key) as client:
        assert len(client.get("/v1/schedules").json()["items"]) == 1
        assert len(client.get("/v1/triggers").json()["items"]) == 1
    for other in ("alice@example.com", "bob@example.com"):
        with server.client(demo[other].key) as client:
            assert client.get("/v1/schedules").json()["items"] == []
