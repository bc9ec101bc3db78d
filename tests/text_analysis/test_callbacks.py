"""Seed 003's callbacks and inbound requests over real HTTP: the result POSTed to a real sink, verified with its
X-Webhook-Signature HMAC and with the `standardwebhooks` library; a failing receiver retried and logged, then
retried by hand; `/webhook/receive` signed with a trigger's secret starts a pipeline, once per body, and a bad
signature is a 401 that stores nothing."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

import httpx
from standardwebhooks import Webhook

from tests.fakes.webhook_sink import Answer, WebhookSink
from tests.fixtures.http import assert_error
from tests.text_analysis.conftest import Start, count, process, wait_result

ALICE = "alice@example.com"
BOB = "bob@example.com"
TEXT = "Dr. Ada Lovelace joined Acme Corp. in London on 3 March 2025. She was very happy with the team."
SEED_SECRET = "your-secret-key"  # seed 003's README: 15 characters


def hex_hmac(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def logs_when(client: httpx.Client, request_id: str, status: str, timeout: float = 15) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        response = client.get(f"/api/v1/webhook-logs/{request_id}")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        if body["webhook_status"] == status:
            return body
        assert time.monotonic() < deadline, body
        time.sleep(0.05)


def test_the_callback_is_the_result_signed_with_hmac_and_standard_webhooks(
    orchestrator: Start, sink: WebhookSink
) -> None:
    server, users = orchestrator()
    with server.client(users[ALICE].key) as alice:
        accepted = process(alice, TEXT, "parallel", webhook_url=f"{sink.url}/hook", webhook_secret=SEED_SECRET)
        [got] = sink.wait_for(1, "/hook")
        # Seed 003's check, as its README gives it: hex HMAC-SHA256 of the exact bytes with the secret.
        assert hmac.compare_digest(got.headers["x-webhook-signature"], hex_hmac(SEED_SECRET, got.body))
        # And Standard Webhooks, keyed with the same secret's bytes.
        payload = Webhook(SEED_SECRET.encode()).verify(got.body, got.headers)
        assert payload == json.loads(got.body)
        result = wait_result(alice, accepted["request_id"])
        keys = ("request_id", "summary", "sentiment", "entities", "agent_results", "total_execution_time")
        analysis = {k: result[k] for k in keys}
        assert payload == analysis  # the result at the top level, as GET shows it
        assert payload["request_id"] == accepted["request_id"]  # the receiver can match it to its request
        assert payload["entities"]["persons"] == ["Ada Lovelace"]
        # The sink answered; the dispatcher records the attempt just after (its writes are batched).
        result = wait_result(alice, accepted["request_id"], until=lambda r: r["webhook_status"] != "pending")
        assert result["webhook_status"] == "succeeded"
        assert result["webhook_attempts"] == 1
        logs = alice.get(f"/api/v1/webhook-logs/{accepted['request_id']}").json()
        assert logs["webhook_status"] == "succeeded"
        assert [(log["attempt"], log["status_code"], log["success"]) for log in logs["logs"]] == [(1, 200, True)]
        assert logs["logs"][0]["url"] == f"{sink.url}/hook"
        # The secret is never shown.
        shown = json.dumps(alice.get(f"/v1/runs/{accepted['request_id']}").json())
        assert SEED_SECRET not in shown
        assert '"signature_header": "X-Webhook-Signature"' in shown


def test_a_failing_callback_is_retried_logged_and_retried_by_hand(orchestrator: Start, sink: WebhookSink) -> None:
    server, users = orchestrator()
    sink.default = Answer(status=500, body="receiver down")
    with server.client(users[ALICE].key) as alice:
        request_id = process(alice, TEXT, "sequential", webhook_url=f"{sink.url}/hook", webhook_secret=SEED_SECRET)[
            "request_id"
        ]
        dead = logs_when(alice, request_id, "dead")  # five attempts, then no more
        assert [(log["attempt"], log["status_code"], log["success"]) for log in dead["logs"]] == [
            (n, 500, False) for n in range(1, 6)
        ]
        assert all(log["response_body"] == "receiver down" for log in dead["logs"])
        assert len(sink.at("/hook")) == 5
        result = wait_result(alice, request_id)
        assert (result["webhook_status"], result["webhook_attempts"]) == ("dead", 5)

        sink.default = Answer(status=200)
        response = alice.post(f"/api/v1/webhook/retry/{request_id}")
        assert response.status_code == 202, response.text
        assert len(response.json()["retried"]) == 1
        done = logs_when(alice, request_id, "succeeded")
        assert [log["status_code"] for log in done["logs"]] == [500] * 5 + [200]
        bodies = {r.body for r in sink.at("/hook")}
        assert len(bodies) == 1  # every attempt sent the same bytes
        assert wait_result(alice, request_id)["webhook_attempts"] == 6
        # Delivered: nothing left to retry.
        assert_error(alice.post(f"/api/v1/webhook/retry/{request_id}"), 409, "conflict")
        # A request made without a webhook has no callback to retry.
        plain = process(alice, TEXT)["request_id"]
        wait_result(alice, plain)
        assert_error(alice.post(f"/api/v1/webhook/retry/{plain}"), 409, "conflict")
        assert alice.get(f"/api/v1/webhook-logs/{plain}").json() == {
            "request_id": plain,
            "webhook_status": None,
            "logs": [],
        }


def test_a_callback_to_a_private_address_is_refused_when_not_allowed(orchestrator: Start) -> None:
    server, users = orchestrator(allow_private_urls=False)
    with server.client(users[ALICE].key) as alice:
        response = alice.post(
            "/api/v1/process", json={"text": TEXT, "webhook_url": "http://127.0.0.1:9/hook", "webhook_secret": "k"}
        )
        error = assert_error(response, 422, "validation_error")
        assert error["details"][0]["field"] == "webhook_url"
        assert count(server, "runs") == 0


def test_webhook_receive_signed_with_a_triggers_secret_starts_one_pipeline_per_body(orchestrator: Start) -> None:
    server, users = orchestrator()
    with server.client(users[ALICE].key) as alice, server.client(users[BOB].key) as bob:
        body = json.dumps({"text": TEXT, "orchestration_mode": "parallel"}).encode()
        # No trigger yet: nothing says which secret signs.
        assert_error(alice.post("/webhook/receive", content=body), 404, "not_found")

        made = alice.post(
            "/v1/triggers",
            json={"agent": "text-analysis", "name": "seed 003 inbound", "instructions": "Analyse the text."},
        )
        assert made.status_code == 201, made.text
        secret = made.json()["secret"]
        events_before = count(server, "trigger_events")

        # A wrong signature, or none: 401, nothing stored; the signature is checked before the body is read as
        # JSON, so an unsigned body that is not JSON at all is a 401 too.
        for headers in ({}, {"X-Webhook-Signature": hex_hmac("not the secret", body)}, {"X-Webhook-Signature": "zz"}):
            assert_error(alice.post("/webhook/receive", content=body, headers=headers), 401, "authentication_error")
        assert_error(alice.post("/webhook/receive", content=b"{not json"), 401, "authentication_error")
        # Bob signs with Alice's secret: he has no trigger of his own, so nothing is checked against hers.
        signed = {"X-Webhook-Signature": hex_hmac(secret, body), "Content-Type": "application/json"}
        assert_error(bob.post("/webhook/receive", content=body, headers=signed), 404, "not_found")
        assert count(server, "runs") == 0
        assert count(server, "trigger_events") == events_before

        first = alice.post("/webhook/receive", content=body, headers=signed)
        assert first.status_code == 202, first.text
        request_id = first.json()["request_id"]
        assert first.json()["duplicate"] is False
        result = wait_result(alice, request_id)
        assert result["orchestration_mode"] == "parallel"
        assert result["entities"]["organizations"] == ["Acme Corp."]
        # The same signed body again is the same event: its first request, no new run.
        again = alice.post("/webhook/receive", content=body, headers=signed)
        assert again.status_code == 200, again.text
        assert again.json() == {"request_id": request_id, "status": "completed", "duplicate": True}
        assert count(server, "runs") == 4  # the pipeline and its three steps
        # The run is the trigger's, and the event is in the trigger's log.
        events = alice.get(f"/v1/triggers/{made.json()['id']}/events").json()["items"]
        assert [e["run_id"] for e in events] == [request_id]

        # Signed, but not a valid request: 422 naming the field, no run.
        short = json.dumps({"text": "short"}).encode()
        error = assert_error(
            alice.post("/webhook/receive", content=short, headers={"X-Webhook-Signature": hex_hmac(secret, short)}),
            422,
            "validation_error",
        )
        assert error["details"][0]["field"] == "text"
        nul = json.dumps({"text": "a long enough text\u0000 with a NUL"}).encode()
        signed_nul = {"X-Webhook-Signature": hex_hmac(secret, nul)}
        error = assert_error(alice.post("/webhook/receive", content=nul, headers=signed_nul), 422, "validation_error")
        assert error["details"][0]["field"] == "text"
        assert count(server, "runs") == 4
