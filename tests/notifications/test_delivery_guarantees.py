"""What holds when things go wrong: a dispatcher killed mid-send loses nothing (the delivery is sent again, with
the same `webhook-id`, once its claim lapses), and the SSRF guard checks the address actually connected to, at
delivery time, whatever the URL resolved to when it was registered; redirects are never followed."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession
from standardwebhooks import Webhook

from switchboard.kit.secret_box import new_signing_secret, secret_box
from tests.fakes.webhook_sink import Answer, WebhookSink, webhook_sink
from tests.fixtures.database import run_db
from tests.fixtures.demo import DemoUser, seed_demo
from tests.fixtures.processes import Processes, processes
from tests.fixtures.server import LiveServer, make_settings
from tests.notifications.conftest import finished_run, register

Start = Callable[..., tuple[LiveServer, dict[str, DemoUser]]]
SECRET_KEY = "a shared server key for every process of this test"


@pytest.fixture
def procs(db_url: str, tmp_path: Path) -> Iterator[Processes]:
    with processes(db_url, tmp_path) as started:
        yield started


def delivery_rows(url: str) -> list[dict[str, Any]]:
    async def read(session: AsyncSession) -> list[dict[str, Any]]:
        rows = await session.execute(text("SELECT status, attempts, lease_owner FROM deliveries"))
        return [dict(row) for row in rows.mappings()]

    return run_db(url, read)


def test_a_dispatcher_killed_mid_send_loses_nothing(procs: Processes, db_url: str, tmp_path: Path) -> None:
    settings = {"secret_key": SECRET_KEY, "allow_private_urls": "true", "webhook_timeout_seconds": 2}
    with webhook_sink() as sink:
        sink.script = [Answer(delay=5)]  # no answer to the first attempt before the process dies
        server, url = procs.serve(name="server", **settings)
        alice = seed_demo(make_settings(db_url, tmp_path))["alice@example.com"].key
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {alice}"}, timeout=30) as client:
            endpoint = register(client, f"{sink.url}/hook")
            run = finished_run(client)
        [first] = sink.wait_for(1)
        server.kill()  # the run and its delivery are committed; the send is in flight, unrecorded
        [row] = delivery_rows(db_url)
        assert row["status"] == "pending"
        assert row["attempts"] == 0
        assert row["lease_owner"] is not None
        procs.worker(name="replacement", **settings)
        first, again = sink.wait_for(2, timeout=30)
        assert again.headers["webhook-id"] == first.headers["webhook-id"]
        assert again.body == first.body
        payload = Webhook(endpoint["secret"]).verify(again.body, again.headers)
        assert payload["data"]["id"] == run["id"]
        procs.wait_until(lambda: delivery_rows(db_url)[0]["status"] == "succeeded", "the delivery to be recorded")
        assert delivery_rows(db_url)[0]["attempts"] == 1  # the killed attempt left no result: only this one


def test_the_guard_checks_the_address_connected_to_at_delivery_time(notifying: Start, sink: WebhookSink) -> None:
    """An endpoint whose name resolves to loopback now (say it resolved to a public address when registered, and
    its DNS was rebound since) is refused when the dispatcher connects."""
    server, users = notifying(allow_private_urls=False)
    port = sink.url.rsplit(":", 1)[1]
    rebound = f"http://localhost:{port}/hook"
    sealed = secret_box(server.settings).seal(new_signing_secret())

    async def insert(session: AsyncSession) -> None:
        await session.execute(
            text(
                "INSERT INTO webhook_endpoints (id, user_id, url, enabled, secret) VALUES (:id, :user, :url, true, :s)"
            ),
            {"id": uuid.uuid4(), "user": users["alice@example.com"].user_id, "url": rebound, "s": sealed},
        )

    run_db(server.database_url, insert)
    with server.client(users["alice@example.com"].key) as alice:
        finished_run(alice)
        [endpoint] = alice.get("/v1/webhooks").json()["items"]
        deadline = time.monotonic() + 10
        while not (items := alice.get(f"/v1/webhooks/{endpoint['id']}/deliveries").json()["items"])[0]["attempts"]:
            assert time.monotonic() < deadline, items
            time.sleep(0.05)
        [delivery] = items
        assert "127.0.0.1" in delivery["last_error"]
        assert "SSRFProtectionError" in delivery["last_error"]
        assert delivery["last_status_code"] is None
    time.sleep(0.2)
    assert sink.received == []  # nothing ever reached the loopback receiver


def test_a_redirect_to_an_internal_address_is_not_followed(notifying: Start, sink: WebhookSink) -> None:
    """The receiver is allowed by name (an internal service on the allowlist); its redirect to another loopback
    port is a failed delivery, not a request to that port."""
    with webhook_sink() as internal:
        internal_port = internal.url.rsplit(":", 1)[1]
        port = sink.url.rsplit(":", 1)[1]
        server, users = notifying(
            allow_private_urls=False, private_url_allowlist=f"127.0.0.1:{port}", webhook_retry_seconds=""
        )
        sink.default = Answer(307, "", {"location": f"http://127.0.0.1:{internal_port}/admin"})
        with server.client(users["alice@example.com"].key) as alice:
            refused = alice.post("/v1/webhooks", json={"url": f"http://127.0.0.1:{internal_port}/admin"})
            assert refused.status_code == 422  # the internal port itself is not on the allowlist
            endpoint = register(alice, f"{sink.url}/hook")
            finished_run(alice)
            deadline = time.monotonic() + 10
            while (items := alice.get(f"/v1/webhooks/{endpoint['id']}/deliveries").json()["items"])[0][
                "status"
            ] != "dead":
                assert time.monotonic() < deadline, items
                time.sleep(0.05)
            assert items[0]["last_status_code"] == 307
        assert len(sink.at("/hook")) == 1
        assert internal.received == []
