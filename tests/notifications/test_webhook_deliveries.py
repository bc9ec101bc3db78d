"""Webhook endpoints get signed, retried, logged deliveries of run events, verified with the `standardwebhooks`
library on a real HTTP sink."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession
from standardwebhooks import Webhook, WebhookVerificationError

from switchboard.kit.secret_box import SecretBox
from tests.fakes.webhook_sink import Answer, Received, WebhookSink
from tests.fixtures.database import run_db
from tests.fixtures.demo import DemoUser
from tests.fixtures.http import assert_error
from tests.fixtures.server import LiveServer
from tests.notifications.conftest import finished_run, register

Start = Callable[..., tuple[LiveServer, dict[str, DemoUser]]]


def verified(secret: str, got: Received) -> dict[str, Any]:
    payload: dict[str, Any] = Webhook(secret).verify(got.body, got.headers)
    return payload


def deliveries(client: Any, endpoint_id: str, count: int, status: str, timeout: float = 10) -> list[dict[str, Any]]:
    """The endpoint's delivery log once it has `count` deliveries in `status`."""
    deadline = time.monotonic() + timeout
    while True:
        items: list[dict[str, Any]] = client.get(f"/v1/webhooks/{endpoint_id}/deliveries").json()["items"]
        if sum(item["status"] == status for item in items) >= count:
            return items
        assert time.monotonic() < deadline, items
        time.sleep(0.05)


def test_a_finished_run_is_delivered_signed_with_the_run_as_get_shows_it(notifying: Start, sink: WebhookSink) -> None:
    server, users = notifying()
    with server.client(users["alice@example.com"].key) as alice:
        endpoint = register(alice, f"{sink.url}/hook", description="orders")
        secret = endpoint["secret"]
        assert secret.startswith("whsec_")
        assert len(Webhook(secret)._whsecret) == 32
        run = finished_run(alice)
        got = sink.wait_for(1)[0]
        payload = verified(secret, got)
        assert payload["type"] == "run.succeeded"
        shown = alice.get(f"/v1/runs/{run['id']}").json()
        assert shown.pop("children") == []  # GET reads the tree of child runs; a notification leaves it out
        assert {k: v for k, v in payload["data"].items() if k != "url"} == shown
        assert payload["data"]["url"].endswith(f"/v1/runs/{run['id']}")
        assert got.headers["webhook-id"].startswith("msg_")
        [delivery] = deliveries(alice, endpoint["id"], 1, "succeeded")
        assert delivery["event_id"] == got.headers["webhook-id"]
        assert delivery["run_id"] == run["id"]
        assert delivery["attempts"] == 1
        [attempt] = delivery["attempt_log"]
        assert attempt["status_code"] == 200
        assert attempt["response_excerpt"] == "ok"
        assert attempt["error"] is None
        assert alice.get(f"/v1/runs/{run['id']}/deliveries").json()["items"][0]["id"] == delivery["id"]
        # The secret is shown once: never again, and never stored as it is.
        assert "secret" not in alice.get(f"/v1/webhooks/{endpoint['id']}").json()

    def stored(session: AsyncSession) -> Any:
        return session.execute(text("SELECT secret FROM webhook_endpoints"))

    sealed = run_db(server.database_url, lambda s: _scalar(s, "SELECT secret FROM webhook_endpoints"))
    assert secret not in sealed
    assert secret.removeprefix("whsec_") not in sealed


async def _scalar(session: AsyncSession, statement: str) -> Any:
    return (await session.execute(text(statement))).scalar()


def test_a_receiver_down_for_three_attempts_gets_the_fourth_with_one_webhook_id(
    notifying: Start, sink: WebhookSink
) -> None:
    server, users = notifying()
    sink.script = [Answer(500, "down"), Answer(503, "down"), Answer(502, "down")]
    with server.client(users["alice@example.com"].key) as alice:
        endpoint = register(alice, f"{sink.url}/hook")
        finished_run(alice)
        got = sink.wait_for(4)
        assert len({r.headers["webhook-id"] for r in got}) == 1
        assert len({r.body for r in got}) == 1  # the same bytes every time, each signed afresh
        for request in got:
            verified(endpoint["secret"], request)
        [delivery] = deliveries(alice, endpoint["id"], 1, "succeeded")
        assert [a["status_code"] for a in delivery["attempt_log"]] == [500, 503, 502, 200]
        assert delivery["attempts"] == 4
        assert delivery["last_error"] is None
        time.sleep(0.3)
        assert len(sink.at("/hook")) == 4  # nothing after the success


def test_event_types_filter_what_an_endpoint_gets(notifying: Start, sink: WebhookSink) -> None:
    server, users = notifying()
    with server.client(users["alice@example.com"].key) as alice:
        register(alice, f"{sink.url}/failed-only", event_types=["run.failed"])
        register(alice, f"{sink.url}/hook", event_types=["run.succeeded", "run.cancelled"])
        finished_run(alice)
        sink.wait_for(1)
        time.sleep(0.3)
        assert sink.at("/failed-only") == []
    with server.client(users["bob@example.com"].key) as bob:  # alice's endpoints hear nothing of bob's runs
        finished_run(bob)
        time.sleep(0.3)
        assert len(sink.at("/hook")) == 1


def test_gone_410_disables_the_endpoint_and_get_says_why(notifying: Start, sink: WebhookSink) -> None:
    server, users = notifying()
    sink.default = Answer(410, "gone")
    with server.client(users["alice@example.com"].key) as alice:
        endpoint = register(alice, f"{sink.url}/hook")
        finished_run(alice)
        [delivery] = deliveries(alice, endpoint["id"], 1, "dead")
        assert delivery["attempts"] == 1
        assert delivery["last_status_code"] == 410
        shown = alice.get(f"/v1/webhooks/{endpoint['id']}").json()
        assert shown["enabled"] is False
        assert "410" in shown["disabled_reason"]
        finished_run(alice)
        time.sleep(0.3)
        assert len(sink.at("/hook")) == 1  # a disabled endpoint gets nothing more
        retried = alice.post(f"/v1/deliveries/{delivery['id']}/retry")
        assert "disabled" in assert_error(retried, 409, "conflict")["message"]
        enabled = alice.patch(f"/v1/webhooks/{endpoint['id']}", json={"enabled": True}).json()
        assert enabled["enabled"] is True
        assert enabled["disabled_reason"] is None


def test_failing_everything_for_the_disable_period_disables_the_endpoint(notifying: Start, sink: WebhookSink) -> None:
    server, users = notifying(webhook_disable_after_seconds=0.2)
    sink.default = Answer(500, "broken")
    with server.client(users["alice@example.com"].key) as alice:
        endpoint = register(alice, f"{sink.url}/hook")
        finished_run(alice)
        deadline = time.monotonic() + 10
        while (shown := alice.get(f"/v1/webhooks/{endpoint['id']}").json())["enabled"]:
            assert time.monotonic() < deadline, shown
            time.sleep(0.05)
        assert "every delivery has failed since" in shown["disabled_reason"]
        [delivery] = deliveries(alice, endpoint["id"], 1, "dead")
        assert delivery["next_attempt_at"] is None


def test_redirects_are_failures_never_followed(notifying: Start, sink: WebhookSink) -> None:
    server, users = notifying(webhook_retry_seconds="")
    sink.default = Answer(302, "", {"location": f"{sink.url}/elsewhere"})
    with server.client(users["alice@example.com"].key) as alice:
        endpoint = register(alice, f"{sink.url}/hook")
        finished_run(alice)
        [delivery] = deliveries(alice, endpoint["id"], 1, "dead")
        assert delivery["last_status_code"] == 302
        assert "redirects are not followed" in delivery["last_error"]
        assert sink.at("/elsewhere") == []


def test_retry_after_is_honoured(notifying: Start, sink: WebhookSink) -> None:
    server, users = notifying()
    sink.script = [Answer(429, "slow down", {"retry-after": "1"})]
    with server.client(users["alice@example.com"].key) as alice:
        register(alice, f"{sink.url}/hook")
        finished_run(alice)
        first, second = sink.wait_for(2)
        assert second.at - first.at >= 0.95  # not the 50 ms of the schedule


def test_dead_deliveries_can_be_retried_by_their_owner_only(notifying: Start, sink: WebhookSink) -> None:
    server, users = notifying(webhook_retry_seconds="0.05")
    sink.script = [Answer(500), Answer(500)]
    with server.client(users["alice@example.com"].key) as alice:
        endpoint = register(alice, f"{sink.url}/hook")
        finished_run(alice)
        [delivery] = deliveries(alice, endpoint["id"], 1, "dead")
        assert delivery["attempts"] == 2
        assert delivery["next_attempt_at"] is None
        with server.client(users["bob@example.com"].key) as bob:
            assert_error(bob.post(f"/v1/deliveries/{delivery['id']}/retry"), 404, "not_found")
            assert_error(bob.get(f"/v1/deliveries/{delivery['id']}"), 404, "not_found")
            assert_error(bob.get(f"/v1/webhooks/{endpoint['id']}/deliveries"), 404, "not_found")
        retried = alice.post(f"/v1/deliveries/{delivery['id']}/retry")
        assert retried.status_code == 202
        assert retried.json()["status"] == "pending"
        [done] = deliveries(alice, endpoint["id"], 1, "succeeded")
        assert done["attempts"] == 3
        assert len(sink.wait_for(3)) == 3
        assert_error(alice.post(f"/v1/deliveries/{delivery['id']}/retry"), 409, "conflict")


def test_a_rotated_secret_signs_beside_the_old_one(notifying: Start, sink: WebhookSink) -> None:
    server, users = notifying()
    with server.client(users["alice@example.com"].key) as alice:
        endpoint = register(alice, f"{sink.url}/hook")
        rotated = alice.post(f"/v1/webhooks/{endpoint['id']}/rotate-secret").json()
        assert rotated["secret"] != endpoint["secret"]
        assert rotated["previous_secret_expires_at"]
        finished_run(alice)
        [got] = sink.wait_for(1)
        assert len(got.headers["webhook-signature"].split()) == 2
        verified(endpoint["secret"], got)
        verified(rotated["secret"], got)
        with pytest.raises(WebhookVerificationError):
            verified("whsec_" + "A" * 43 + "=", got)


def test_webhook_crud_validation_and_isolation(notifying: Start, sink: WebhookSink) -> None:
    server, users = notifying()
    with server.client(users["alice@example.com"].key) as alice, server.client(users["bob@example.com"].key) as bob:
        endpoint = register(alice, f"{sink.url}/hook")
        for bad, field in [
            ({"url": "ftp://example.com/x"}, "url"),
            ({"url": f"{sink.url}/hook", "event_types": ["run.exploded"]}, "event_types"),
            ({"url": f"{sink.url}/hook", "enabled": "yes"}, "enabled"),
            ({"url": f"{sink.url}/hook", "surprise": 1}, "surprise"),
        ]:
            error = assert_error(alice.post("/v1/webhooks", json=bad), 422, "validation_error")
            assert field in json.dumps(error), error
        assert len(alice.get("/v1/webhooks").json()["items"]) == 1
        assert bob.get("/v1/webhooks").json()["items"] == []
        for method, path in [
            ("GET", ""),
            ("PATCH", ""),
            ("DELETE", ""),
            ("POST", "/rotate-secret"),
            ("GET", "/deliveries"),
        ]:
            response = bob.request(
                method, f"/v1/webhooks/{endpoint['id']}{path}", json={} if method == "PATCH" else None
            )
            assert_error(response, 404, "not_found")
        for field in ("url", "enabled"):  # left out keeps a field; null is refused (event_types: null is "all")
            refused = assert_error(
                alice.patch(f"/v1/webhooks/{endpoint['id']}", json={field: None}), 422, "validation_error"
            )
            assert refused["details"][0]["field"] == field, refused
        changed = alice.patch(f"/v1/webhooks/{endpoint['id']}", json={"description": "d", "enabled": False}).json()
        assert changed["description"] == "d"
        assert changed["enabled"] is False
        assert changed["url"] == endpoint["url"]
        finished_run(alice)
        time.sleep(0.3)
        assert sink.received == []  # disabled by its owner: nothing sent
        assert alice.delete(f"/v1/webhooks/{endpoint['id']}").status_code == 204
        assert_error(alice.get(f"/v1/webhooks/{endpoint['id']}"), 404, "not_found")


def test_the_guard_refuses_private_addresses_at_registration(notifying: Start, sink: WebhookSink) -> None:
    server, users = notifying(allow_private_urls=False)
    port = sink.url.rsplit(":", 1)[1]
    with server.client(users["alice@example.com"].key) as alice:
        for url, reason in [
            (f"http://localhost:{port}/hook", "loopback"),
            ("http://169.254.169.254/latest/meta-data", "metadata"),
            ("http://10.1.2.3/hook", "private"),
            ("http://[fe80::1]/hook", "link-local"),
            ("http://224.0.0.1/hook", "multicast"),
        ]:
            error = assert_error(alice.post("/v1/webhooks", json={"url": url}), 422, "validation_error")
            assert reason in error["message"], error
            assert error["details"][0]["field"] == "url", error
        assert alice.get("/v1/webhooks").json()["items"] == []


def test_a_delivery_being_attempted_cannot_be_retried_meanwhile(notifying: Start, sink: WebhookSink) -> None:
    """A retry while a dispatcher holds the delivery would take its claim away: its result would be lost and the
    receiver would get the event twice at once."""
    server, users = notifying(webhook_retry_seconds="0.05,0.05")
    sink.script = [Answer(500, "down"), Answer(delay=2)]  # the second attempt is still out when we ask
    with server.client(users["alice@example.com"].key) as alice:
        endpoint = register(alice, f"{sink.url}/hook")
        finished_run(alice)
        sink.wait_for(2)
        [delivery] = alice.get(f"/v1/webhooks/{endpoint['id']}/deliveries").json()["items"]
        assert delivery["status"] == "failed"
        error = assert_error(alice.post(f"/v1/deliveries/{delivery['id']}/retry"), 409, "conflict")
        assert "right now" in error["message"]
        [done] = deliveries(alice, endpoint["id"], 1, "succeeded")
        assert [a["status_code"] for a in done["attempt_log"]] == [500, 200]


def test_a_previous_secret_the_server_cannot_open_is_left_out(notifying: Start, sink: WebhookSink) -> None:
    """After the server's key changed and the owner rotated, the old secret (sealed under the old key) cannot
    sign: deliveries go out signed with the new one alone, not dead."""
    server, users = notifying()
    with server.client(users["alice@example.com"].key) as alice:
        endpoint = register(alice, f"{sink.url}/hook")
        rotated = alice.post(f"/v1/webhooks/{endpoint['id']}/rotate-secret").json()
        other_key = SecretBox("some other server key").seal(endpoint["secret"])

        async def unreadable(session: AsyncSession) -> None:
            await session.execute(text("UPDATE webhook_endpoints SET previous_secret = :s"), {"s": other_key})

        run_db(server.database_url, unreadable)
        finished_run(alice)
        [got] = sink.wait_for(1)
        assert len(got.headers["webhook-signature"].split()) == 1
        verified(rotated["secret"], got)
