"""A webhook notify target's options: `signature_header` (a hex HMAC-SHA256 of the exact bytes sent, besides the
Standard Webhooks signature) and `body: "output"` (a succeeded run's output alone), on the core's /v1/runs."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable

from standardwebhooks import Webhook

from tests.fakes.webhook_sink import WebhookSink
from tests.fixtures.demo import DemoUser
from tests.fixtures.http import assert_error, create_run, wait_for_status
from tests.fixtures.server import LiveServer
from tests.notifications.conftest import count_runs

Start = Callable[..., tuple[LiveServer, dict[str, DemoUser]]]
ALICE = "alice@example.com"
SECRET = "a-secret-of-some-length"


def test_a_named_hex_signature_and_the_output_alone(notifying: Start, sink: WebhookSink) -> None:
    server, users = notifying()
    target = {"url": f"{sink.url}/out", "secret": SECRET, "signature_header": "X-Signature", "body": "output"}
    with server.client(users[ALICE].key) as alice:
        created = create_run(alice, "summarizer", "One sentence here. And a second one.", notify=[{"webhook": target}])
        run = wait_for_status(alice, created["id"], "succeeded")
        [got] = sink.wait_for(1, "/out")
        assert json.loads(got.body) == run["output"]  # the output alone, no envelope
        assert got.headers["x-signature"] == hmac.new(SECRET.encode(), got.body, hashlib.sha256).hexdigest()
        assert Webhook(SECRET.encode()).verify(got.body, got.headers) == run["output"]
        assert run["notify"] == [
            {"webhook": {"url": f"{sink.url}/out", "signed": True, "signature_header": "X-Signature", "body": "output"}}
        ]


def test_a_signature_header_needs_a_secret_and_may_not_replace_a_standard_one(notifying: Start) -> None:
    server, users = notifying()
    with server.client(users[ALICE].key) as alice:
        for webhook in (
            {"url": "https://example.com/h", "signature_header": "X-Signature"},
            {"url": "https://example.com/h", "secret": SECRET, "signature_header": "webhook-signature"},
            {"url": "https://example.com/h", "secret": SECRET, "signature_header": "X-Bad\r\nHeader"},
            {"url": "https://example.com/h", "body": "envelope"},
        ):
            response = alice.post(
                "/v1/runs", json={"agent": "summarizer", "message": "Hi there.", "notify": [{"webhook": webhook}]}
            )
            error = assert_error(response, 422, "validation_error")
            assert error["details"][0]["field"].startswith("notify.0.webhook"), error
        assert count_runs(server) == 0
