"""Slack (an incoming-webhook POST with `text` and blocks) and email (SMTP, plain text with an HTML alternative)
as a run's own `notify` targets: what arrives at a real HTTP sink and a real SMTP server on loopback, and what
becomes of a delivery the destination refuses."""

from __future__ import annotations

import json
from collections.abc import Callable
from email.message import EmailMessage
from typing import Any

import pytest

from tests.fakes.smtp_sink import SmtpSink
from tests.fakes.webhook_sink import Answer, WebhookSink
from tests.fixtures.demo import DemoUser
from tests.fixtures.http import assert_error, create_run, wait_for_status
from tests.fixtures.server import LiveServer
from tests.notifications.conftest import count_runs, finished_run, run_deliveries, smtp_settings

Start = Callable[..., tuple[LiveServer, dict[str, DemoUser]]]
ALICE = "alice@example.com"
BOB = "bob@example.com"
SLACK_PATH = "/services/T000/B000/XXXX"


def slack(sink: WebhookSink) -> list[dict[str, Any]]:
    return [{"slack": {"webhook_url": f"{sink.url}{SLACK_PATH}"}}]


def parts(message: EmailMessage) -> dict[str, str]:
    """The text of each part of a multipart/alternative email, by content type."""
    assert message.get_content_type() == "multipart/alternative", message
    found: dict[str, str] = {}
    for part in message.iter_parts():
        assert isinstance(part, EmailMessage)
        found[part.get_content_type()] = part.get_content()
    return found


# --- Slack ---


def test_slack_gets_text_and_blocks_with_status_agent_excerpt_and_link(notifying: Start, sink: WebhookSink) -> None:
    server, users = notifying()
    with server.client(users[ALICE].key) as alice:
        run = finished_run(alice, notify=slack(sink))
        [got] = sink.wait_for(1, SLACK_PATH)
        [delivery] = run_deliveries(alice, run["id"], 1, "succeeded")
    assert got.headers["content-type"] == "application/json"
    assert "webhook-signature" not in got.headers  # Slack's URL is the credential: nothing is signed
    message = json.loads(got.body)
    assert set(message) == {"text", "blocks"}
    assert message["text"].startswith("Run succeeded: support — Here are your orders")
    header, section, context = message["blocks"]
    assert header == {"type": "header", "text": {"type": "plain_text", "text": "Run succeeded: support"}}
    assert section["type"] == "section"
    assert section["text"]["type"] == "mrkdwn"
    assert section["text"]["text"] == run["output"]  # short: all of it (nothing in it to escape)
    assert context["type"] == "context"
    [element] = context["elements"]
    run_url = f"/v1/runs/{run['id']}"
    assert "status *succeeded*" in element["text"]
    assert run_url + f"|run {run['id']}>" in element["text"]
    assert (delivery["channel"], delivery["attempts"], delivery["last_status_code"]) == ("slack", 1, 200)
    assert delivery["destination"] == f"{sink.url}/…"


def test_slack_escapes_mrkdwn_and_cuts_a_long_output(notifying: Start, sink: WebhookSink) -> None:
    server, users = notifying(plugins=["tests.fixtures.agents:plugin"], max_prompt_chars=10_000)
    prompt = "<@here> & " + "x" * 5000
    with server.client(users[ALICE].key) as alice:
        response = alice.post("/v1/runs/wait", json={"agent": "echo", "message": prompt, "notify": slack(sink)})
        assert response.status_code == 200, response.text
        [got] = sink.wait_for(1, SLACK_PATH)
    message = json.loads(got.body)
    assert message["text"].startswith("Run succeeded: echo — echo: &lt;@here&gt; &amp; xxx")
    assert len(message["text"]) < 300
    header, section, _context = message["blocks"]
    assert header["text"]["text"] == "Run succeeded: echo"
    text = section["text"]["text"]
    assert text.startswith("echo: &lt;@here&gt; &amp; xxx")  # no mention, no link: the output is text
    assert len(text) < 3000  # Slack refuses a longer section
    assert text.endswith("…")


@pytest.mark.parametrize("status", [404, 410])
def test_a_slack_channel_gone_is_dead_after_one_attempt(notifying: Start, sink: WebhookSink, status: int) -> None:
    server, users = notifying()
    sink.default = Answer(status, "channel_not_found" if status == 404 else "channel_is_archived")
    with server.client(users[ALICE].key) as alice:
        run = finished_run(alice, notify=slack(sink))
        [delivery] = run_deliveries(alice, run["id"], 1, "dead")
    assert delivery["attempts"] == 1
    assert delivery["last_status_code"] == status
    assert delivery["next_attempt_at"] is None
    assert delivery["attempt_log"][0]["response_excerpt"] in ("channel_not_found", "channel_is_archived")
    assert len(sink.at(SLACK_PATH)) == 1


def test_a_slack_server_error_is_retried(notifying: Start, sink: WebhookSink) -> None:
    server, users = notifying()
    sink.script = [Answer(500, "rollup_error"), Answer(503, "no_service")]
    with server.client(users[ALICE].key) as alice:
        run = finished_run(alice, notify=slack(sink))
        [delivery] = run_deliveries(alice, run["id"], 1, "succeeded")
    assert [attempt["status_code"] for attempt in delivery["attempt_log"]] == [500, 503, 200]
    got = sink.wait_for(3, SLACK_PATH)
    assert len({request.body for request in got}) == 1


# --- Email ---


def test_an_email_per_event_to_the_recipients_with_text_and_html(notifying: Start, smtp: SmtpSink) -> None:
    server, users = notifying(**smtp_settings(smtp))
    to = ["bob@example.com", "ops@example.com"]
    with server.client(users[BOB].key) as bob:
        # A refund waits for approval (run.requires_action), then succeeds (run.succeeded): two emails.
        response = bob.post(
            "/v1/chat", json={"agent": "support", "message": "Please refund order 3", "notify": [{"email": {"to": to}}]}
        )
        assert response.status_code == 200, response.text
        paused = response.json()
        assert paused["status"] == "requires_action"
        [first] = smtp.wait_for(1)
        assert bob.get(f"/v1/runs/{paused['run_id']}").json()["notify"] == [{"email": {"to": to}}]
        [pending] = paused["pending_approvals"]
        decided = bob.post(
            f"/v1/runs/{paused['run_id']}/approvals", json={"tool_call_id": pending["tool_call_id"], "approve": True}
        )
        assert decided.status_code == 200, decided.text
        run = wait_for_status(bob, paused["run_id"], "succeeded")
        first, second = smtp.wait_for(2)
        items = run_deliveries(bob, run["id"], 2, "succeeded")

    run_url = f"/v1/runs/{run['id']}"
    for mail in (first, second):
        assert mail.mail_from == "switchboard@example.com"
        assert mail.rcpt_tos == to
        assert mail.message["From"] == "switchboard@example.com"
        assert mail.message["To"] == "bob@example.com, ops@example.com"
    assert first.message["Subject"] == "[Switchboard] Run needs your approval: support"
    assert second.message["Subject"] == "[Switchboard] Run succeeded: support"
    text, html = parts(first.message)["text/plain"], parts(first.message)["text/html"]
    assert "status requires_action" in text
    assert 'Waiting for approval: refund_order {"order_id": 3}' in text
    assert run_url in text
    assert "<code>requires_action</code>" in html
    assert "refund_order {&quot;order_id&quot;: 3}" in html
    assert f"{run_url}'>Run {run['id']}</a>" in html
    text, html = parts(second.message)["text/plain"], parts(second.message)["text/html"]
    assert "Done! Order #3 has been refunded." in text
    assert "Done! Order #3 has been refunded." in html
    assert run_url in text
    assert run_url in html
    assert sorted(item["event_type"] for item in items) == ["run.requires_action", "run.succeeded"]
    assert {(item["channel"], item["destination"], item["last_status_code"]) for item in items} == {
        ("email", "bob@example.com, ops@example.com", 250)
    }


def test_email_without_an_smtp_server_is_refused_and_nothing_stored(notifying: Start) -> None:
    server, users = notifying()  # no smtp_host
    with server.client(users[ALICE].key) as alice:
        for path in ("/v1/runs", "/v1/runs/wait", "/v1/chat"):
            body = {
                "agent": "support",
                "message": "Show me all my orders",
                "notify": [{"email": {"to": "a@b.example"}}],
            }
            error = assert_error(alice.post(path, json=body), 422, "validation_error")
            assert [detail["field"] for detail in error["details"]] == ["notify.0.email"], error
            assert "SWITCHBOARD_SMTP_HOST" in error["message"], error
        assert alice.get("/v1/threads").json()["items"] == []
    assert count_runs(server) == 0


def test_with_allowed_domains_email_goes_to_those_only(notifying: Start, smtp: SmtpSink) -> None:
    server, users = notifying(**smtp_settings(smtp), smtp_allowed_domains="example.com, Example.org")
    with server.client(users[ALICE].key) as alice:
        body = {"agent": "support", "message": "Show me all my orders"}
        outside = {**body, "notify": [{"email": {"to": ["ok@example.com", "spam@elsewhere.test"]}}]}
        error = assert_error(alice.post("/v1/runs", json=outside), 422, "validation_error")
        assert [detail["field"] for detail in error["details"]] == ["notify.0.email.to"], error
        assert "spam@elsewhere.test" in error["message"]
        assert "ok@example.com" not in error["message"]
        assert count_runs(server) == 0
        inside = [{"email": {"to": ["ok@example.com", "me@EXAMPLE.ORG"]}}]
        run = create_run(alice, "support", "Show me all my orders", notify=inside)
        run_deliveries(alice, run["id"], 1, "succeeded")
    [mail] = smtp.mails()
    assert mail.rcpt_tos == ["ok@example.com", "me@EXAMPLE.ORG"]


def test_an_smtp_refusal_is_final_and_a_temporary_one_is_retried(notifying: Start, smtp: SmtpSink) -> None:
    server, users = notifying(**smtp_settings(smtp))
    smtp.script = ["550 5.1.1 mailbox unavailable"]
    with server.client(users[ALICE].key) as alice:
        refused = finished_run(alice, notify=[{"email": {"to": "nobody@example.com"}}])
        [dead] = run_deliveries(alice, refused["id"], 1, "dead")
        assert dead["attempts"] == 1
        assert dead["last_status_code"] == 550
        assert "550" in dead["last_error"]
        assert "mailbox unavailable" in dead["last_error"]
        assert dead["next_attempt_at"] is None

        smtp.script = ["451 4.3.0 try again later"]
        later = finished_run(alice, notify=[{"email": {"to": "alice@example.com"}}])
        [delivered] = run_deliveries(alice, later["id"], 1, "succeeded")
    assert [attempt["status_code"] for attempt in delivered["attempt_log"]] == [451, 250]
    assert smtp.refused == ["550 5.1.1 mailbox unavailable", "451 4.3.0 try again later"]
    [mail] = smtp.mails()
    assert mail.rcpt_tos == ["alice@example.com"]
    assert f"run {later['id']}" in parts(mail.message)["text/plain"]


def test_an_unreachable_smtp_server_is_retried_then_dead(notifying: Start, smtp: SmtpSink) -> None:
    settings = {**smtp_settings(smtp), "smtp_port": 1, "webhook_retry_seconds": "0.05"}  # nothing listens on 1
    server, users = notifying(**settings)
    with server.client(users[ALICE].key) as alice:
        run = create_run(alice, "support", "Show me all my orders", notify=[{"email": {"to": "a@example.com"}}])
        [delivery] = run_deliveries(alice, run["id"], 1, "dead")
    assert delivery["attempts"] == 2
    assert delivery["last_status_code"] is None
    assert delivery["last_error"]


def test_starttls_is_required_so_a_password_never_travels_in_clear(notifying: Start, smtp: SmtpSink) -> None:
    """The sink offers no STARTTLS: with `smtp_security=starttls` nothing is sent (not even a login)."""
    settings = {
        **smtp_settings(smtp),
        "smtp_security": "starttls",
        "smtp_username": "mailer",
        "smtp_password": "hunter2-hunter2",
        "webhook_retry_seconds": "0.05",
    }
    server, users = notifying(**settings)
    with server.client(users[ALICE].key) as alice:
        run = create_run(alice, "support", "Show me all my orders", notify=[{"email": {"to": "a@example.com"}}])
        [delivery] = run_deliveries(alice, run["id"], 1, "dead")
    assert "STARTTLS" in delivery["last_error"] or "starttls" in delivery["last_error"].lower()
    assert smtp.mails() == []
    assert "hunter2" not in json.dumps(delivery)
