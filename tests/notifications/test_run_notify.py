"""A run's own `notify` targets: given on POST /v1/runs, /v1/runs/wait and /v1/chat, delivered (signed when they
carry a secret) for that run alone, shown without their secrets and stored sealed; bad targets are a 422 that
names the field, with nothing stored."""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import Callable
from typing import Any

import pytest
from standardwebhooks import Webhook

from tests.fakes.webhook_sink import WebhookSink
from tests.fixtures.demo import DemoUser
from tests.fixtures.http import assert_error, create_run, wait_for_status
from tests.fixtures.server import LiveServer
from tests.notifications.conftest import count_runs, finished_run, run_deliveries, stored_notify

Start = Callable[..., tuple[LiveServer, dict[str, DemoUser]]]
ALICE = "alice@example.com"
BOB = "bob@example.com"


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def test_a_runs_own_webhooks_slack_are_delivered_for_it_alone_and_its_secrets_never_shown(
    notifying: Start, sink: WebhookSink
) -> None:
    server, users = notifying()
    secret = new_secret()
    slack_url = f"{sink.url}/services/T000/B000/very-secret-token"
    notify = [
        {"webhook": {"url": f"{sink.url}/signed", "secret": secret}},
        {"webhook": {"url": f"{sink.url}/plain"}},
        {"slack": {"webhook_url": slack_url}},
    ]
    with server.client(users[ALICE].key) as alice:
        created = create_run(alice, "support", "Show me all my orders", notify=notify)
        run = wait_for_status(alice, created["id"], "succeeded")
        [signed] = sink.wait_for(1, "/signed")
        [plain] = sink.wait_for(1, "/plain")
        sink.wait_for(1, "/services/T000/B000/very-secret-token")

        payload = Webhook(secret).verify(signed.body, signed.headers)
        assert payload["type"] == "run.succeeded"
        assert payload["data"]["id"] == run["id"]
        assert payload["data"]["output"] == run["output"]
        assert payload["data"]["url"].endswith(f"/v1/runs/{run['id']}")
        # Without a secret: the same event, unsigned, still with its id and timestamp for deduplication.
        assert "webhook-signature" not in plain.headers
        assert plain.headers["webhook-id"] == signed.headers["webhook-id"]
        assert int(plain.headers["webhook-timestamp"]) == pytest.approx(time.time(), abs=60)
        assert plain.body == signed.body

        # Shown without secrets: whether a webhook is signed, only the origin of the Slack URL.
        origin = sink.url + "/…"
        expected = [
            {"webhook": {"url": f"{sink.url}/signed", "signed": True}},
            {"webhook": {"url": f"{sink.url}/plain", "signed": False}},
            {"slack": {"webhook_url": origin}},
        ]
        assert created["notify"] == expected
        assert run["notify"] == expected
        assert payload["data"]["notify"] == expected
        shown = json.dumps(alice.get(f"/v1/runs/{run['id']}").json())
        assert secret not in shown
        assert "very-secret-token" not in shown

        items = run_deliveries(alice, run["id"], 3, "succeeded")
        assert sorted((d["channel"], d["destination"]) for d in items) == sorted(
            [("webhook", f"{sink.url}/signed"), ("webhook", f"{sink.url}/plain"), ("slack", origin)]
        )
        assert all(d["endpoint_id"] is None and d["attempts"] == 1 for d in items)
        assert "very-secret-token" not in json.dumps(items)

        # Another run of the same user, and a run of another user: nobody is told.
        finished_run(alice)
    with server.client(users[BOB].key) as bob:
        finished_run(bob)
    time.sleep(0.3)
    assert len(sink.received) == 3

    # Stored sealed: neither the secret nor the Slack URL is in the row as given.
    row = stored_notify(server, run["id"])
    dumped = json.dumps(row)
    assert secret not in dumped
    assert secret.removeprefix("whsec_") not in dumped
    assert "very-secret-token" not in dumped
    assert row[0]["secret"]
    assert row[0]["secret"] != secret
    assert row[1]["secret"] is None
    assert row[2]["webhook_url"] != slack_url


def test_a_whsec_secret_without_its_padding_signs_as_the_libraries_read_it(notifying: Start, sink: WebhookSink) -> None:
    server, users = notifying()
    secret = new_secret().rstrip("=")  # 32 bytes: 43 characters of base64, the "=" left off
    with server.client(users[ALICE].key) as alice:
        run = finished_run(alice, notify=[{"webhook": {"url": f"{sink.url}/hook", "secret": secret}}])
        [got] = sink.wait_for(1)
        [delivery] = run_deliveries(alice, run["id"], 1, "succeeded")
    assert Webhook(secret).verify(got.body, got.headers)["data"]["id"] == run["id"]
    assert delivery["attempts"] == 1


def test_notify_on_runs_wait_and_on_chat(notifying: Start, sink: WebhookSink) -> None:
    server, users = notifying()
    raw_secret = "a plain key of twenty-odd characters"  # not whsec_: its bytes are the key
    with server.client(users[ALICE].key) as alice:
        waited = finished_run(alice, notify=[{"webhook": {"url": f"{sink.url}/wait", "secret": raw_secret}}])
        [got] = sink.wait_for(1, "/wait")
        payload = Webhook(raw_secret.encode()).verify(got.body, got.headers)
        assert (payload["type"], payload["data"]["id"]) == ("run.succeeded", waited["id"])

        response = alice.post(
            "/v1/chat",
            json={
                "agent": "support",
                "message": "Show me all my orders",
                "notify": [{"webhook": {"url": f"{sink.url}/chat"}}],
            },
        )
        assert response.status_code == 200, response.text
        turn = response.json()
        [got] = sink.wait_for(1, "/chat")
        payload = json.loads(got.body)
        assert (payload["type"], payload["data"]["id"]) == ("run.succeeded", turn["run_id"])
        assert payload["data"]["output"] == turn["reply"]
        assert alice.get(f"/v1/runs/{turn['run_id']}").json()["notify"] == [
            {"webhook": {"url": f"{sink.url}/chat", "signed": False}}
        ]


@pytest.mark.parametrize(
    ("target", "field"),
    [
        ({"webhook": {"url": "https://example.com/a"}, "slack": {"webhook_url": "https://example.com/b"}}, "notify.0"),
        ({"pager": {"number": "555"}}, "notify.0.pager"),
        ({}, "notify.0"),
        ({"email": {"to": "not an address"}}, "notify.0.email"),
        ({"email": {"to": "a@example.com,b@example.com"}}, "notify.0.email"),  # one address per entry
        ({"email": {"to": "a@example.com,postmaster"}}, "notify.0.email"),
        ({"email": {"to": ["a@example.com", "Eve <e@example.com>"]}}, "notify.0.email"),
        (
            {"webhook": {"url": "https://example.com/hook", "secret": "whsec_not base64 at all!"}},
            "notify.0.webhook.secret",
        ),
        ({"webhook": {"url": "https://example.com/hook", "secret": "whsec_" + "A" * 16}}, "notify.0.webhook.secret"),
        ({"email": {"to": []}}, "notify.0.email.to"),
        ({"webhook": {"url": "ftp://example.com/hook"}}, "notify.0.webhook.url"),
        ({"webhook": {"url": "https://example.com/hook", "secret": "short"}}, "notify.0.webhook.secret"),
        ({"webhook": {"url": "https://example.com/hook", "extra": 1}}, "notify.0.webhook.extra"),
        ({"slack": {"webhook_url": "file:///etc/passwd"}}, "notify.0.slack.webhook_url"),
    ],
)
def test_bad_targets_are_refused_naming_the_field_and_nothing_is_stored(
    notifying: Start, target: dict[str, Any], field: str
) -> None:
    server, users = notifying(smtp_host="127.0.0.1")
    with server.client(users[ALICE].key) as alice:
        for path in ("/v1/runs", "/v1/runs/wait", "/v1/chat"):
            body = {"agent": "support", "message": "Show me all my orders", "notify": [target]}
            error = assert_error(alice.post(path, json=body), 422, "validation_error")
            assert field in [detail["field"] for detail in error["details"]], (path, error)
        assert alice.get("/v1/runs").json()["items"] == []
        assert alice.get("/v1/threads").json()["items"] == []
    assert count_runs(server) == 0


def test_a_url_that_resolves_to_loopback_is_refused_with_the_guard_on(notifying: Start, sink: WebhookSink) -> None:
    server, users = notifying(allow_private_urls=False, smtp_host="127.0.0.1")  # the email at [0] passes
    port = sink.url.rsplit(":", 1)[1]
    with server.client(users[ALICE].key) as alice:
        for target, field in [
            ({"webhook": {"url": f"http://localhost:{port}/hook"}}, "notify.1.webhook.url"),
            ({"webhook": {"url": f"{sink.url}/hook", "secret": new_secret()}}, "notify.1.webhook.url"),
            ({"slack": {"webhook_url": f"http://127.0.0.1:{port}/services/x"}}, "notify.1.slack.webhook_url"),
            ({"webhook": {"url": "http://169.254.169.254/latest"}}, "notify.1.webhook.url"),
        ]:
            body = {
                "agent": "support",
                "message": "Show me all my orders",
                "notify": [{"email": {"to": "a@example.com"}}, target],
            }
            error = assert_error(alice.post("/v1/runs", json=body), 422, "validation_error")
            assert error["details"][0]["field"] == field, error
            assert "resolves to" in error["message"], error
    assert count_runs(server) == 0
    time.sleep(0.2)
    assert sink.received == []


def test_too_many_targets_are_refused(notifying: Start) -> None:
    server, users = notifying()
    with server.client(users[ALICE].key) as alice:
        notify = [{"webhook": {"url": f"https://example.com/{i}"}} for i in range(11)]
        body = {"agent": "support", "message": "Show me all my orders", "notify": notify}
        error = assert_error(alice.post("/v1/runs", json=body), 422, "validation_error")
        assert "notify" in json.dumps(error)
    assert count_runs(server) == 0
