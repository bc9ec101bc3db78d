"""GET /metrics: who may scrape, and that the counters move with what the server does (requests by route
template, runs created and settled, their duration, the queue read from the database, webhook deliveries).

The test servers run in this process, so their counters share its registry: the tests compare before and after."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest

from switchboard.settings import Settings
from tests.fakes.webhook_sink import Answer, webhook_sink
from tests.fixtures.demo import DemoUser, seed_demo
from tests.fixtures.http import assert_error
from tests.fixtures.server import LiveServer
from tests.observability.metrics_scrape import scrape, value

TOKEN = "scrape-token-for-tests"
ALICE = "alice@example.com"
ADMIN = "admin@example.com"

Start = Callable[..., LiveServer]


def test_the_scrape_token_or_an_admin_key_may_scrape_others_may_not(make_server: Start) -> None:
    server = make_server(metrics_token=TOKEN)
    users = seed_demo(server.settings)
    with server.client() as anonymous:
        assert_error(anonymous.get("/metrics"), 401, "authentication_error")
        assert_error(
            anonymous.get("/metrics", headers={"Authorization": "Bearer not-the-token"}), 401, "authentication_error"
        )
        assert_error(
            anonymous.get("/metrics", headers={"Authorization": f"Basic {TOKEN}"}), 401, "authentication_error"
        )
    with server.client(users[ALICE].key) as member:
        assert_error(member.get("/metrics"), 403, "permission_denied")
    for key in (TOKEN, users[ADMIN].key):
        with server.client(key) as scraper:
            samples = scrape(scraper)
            assert ("switchboard_queue_depth", frozenset({("agent", "support")})) in samples
    # Documented in the API's description, not listed among the API's operations.
    with server.client() as anonymous:
        spec = anonymous.get("/openapi.json").json()
        assert "/metrics" not in spec["paths"]
        assert "GET /metrics" in spec["info"]["description"]


def test_without_a_scrape_token_only_admin_keys_scrape(make_server: Start) -> None:
    server = make_server()
    users = seed_demo(server.settings)
    with server.client(users[ADMIN].key) as admin:
        scrape(admin)
        # Without a token set, a bearer value that is no key is refused like any unknown key.
        assert_error(admin.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}), 401, "authentication_error")


def test_a_run_moves_the_request_and_run_counters(make_server: Start) -> None:
    server = make_server(metrics_token=TOKEN)
    users = seed_demo(server.settings)
    with server.client(TOKEN) as scraper, server.client(users[ALICE].key) as alice:
        before = scrape(scraper)
        response = alice.post("/v1/runs/wait", json={"agent": "support", "message": "Show me all my orders"})
        assert response.status_code == 200, response.text
        run = response.json()
        assert run["status"] == "succeeded"
        assert alice.get(f"/v1/runs/{run['id']}").status_code == 200
        assert alice.get(f"/v1/runs/{run['id']}").status_code == 200
        assert alice.get("/v1/no/such/route/12345").status_code == 404
        after = scrape(scraper)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("switchboard_runs_created_total", agent="support") == 1
    assert moved("switchboard_runs_settled_total", agent="support", status="succeeded") == 1
    assert moved("switchboard_run_duration_seconds_count", agent="support", status="succeeded") == 1
    assert moved("switchboard_run_duration_seconds_sum", agent="support", status="succeeded") > 0
    # Requests by route template, never by raw path; what no route takes is one label.
    requests = "switchboard_http_requests_total"
    assert moved(requests, method="POST", route="/v1/runs/wait", status="200") == 1
    assert moved(requests, method="GET", route="/v1/runs/{run_id}", status="200") == 2
    assert moved(requests, method="GET", route="unmatched", status="404") == 1
    assert not any(run["id"] in dict(labels).get("route", "") for _, labels in after)
    assert moved("switchboard_http_request_duration_seconds_count", method="GET", route="/v1/runs/{run_id}") == 2
    # The first scrape was counted before the second one answered.
    assert moved(requests, method="GET", route="/metrics", status="200") == 1


def test_queue_depth_and_oldest_age_are_read_from_the_database(make_server: Start) -> None:
    server = make_server(metrics_token=TOKEN, workers=0)  # an API-only server: runs stay queued
    users = seed_demo(server.settings)
    with server.client(TOKEN) as scraper, server.client(users[ALICE].key) as alice:
        before = scrape(scraper)
        assert value(before, "switchboard_queue_depth", agent="support") == 0
        assert value(before, "switchboard_queue_oldest_age_seconds", agent="support") == 0
        created = time.monotonic()
        ids = []
        for n in range(3):
            response = alice.post("/v1/runs", json={"agent": "support", "message": f"Show me all my orders {n}"})
            assert response.status_code == 202, response.text
            ids.append(response.json()["id"])
        time.sleep(0.3)
        queued = scrape(scraper)
        waited = time.monotonic() - created
        assert value(queued, "switchboard_queue_depth", agent="support") == 3
        assert 0.3 <= value(queued, "switchboard_queue_oldest_age_seconds", agent="support") <= waited + 1
        # Cancelling a queued run settles it at once (no worker holds it): counted, and out of the queue.
        assert alice.post(f"/v1/runs/{ids[0]}/cancel").status_code == 200
        after = scrape(scraper)
    assert value(after, "switchboard_queue_depth", agent="support") == 2
    cancelled = {"agent": "support", "status": "cancelled"}
    assert (
        value(after, "switchboard_runs_settled_total", **cancelled)
        - value(queued, "switchboard_runs_settled_total", **cancelled)
        == 1
    )
    assert (
        value(after, "switchboard_runs_created_total", agent="support")
        - value(before, "switchboard_runs_created_total", agent="support")
        == 3
    )


def test_webhook_deliveries_are_counted_by_channel_and_outcome(make_server: Start) -> None:
    server = make_server(
        metrics_token=TOKEN, allow_private_urls=True, webhook_retry_seconds="0.05,0.05", webhook_retry_jitter=0
    )
    users: dict[str, DemoUser] = seed_demo(server.settings)
    with webhook_sink() as sink, server.client(TOKEN) as scraper, server.client(users[ALICE].key) as alice:
        sink.script = [Answer(status=503)]  # the first attempt fails, the retry is delivered
        assert alice.post("/v1/webhooks", json={"url": f"{sink.url}/hook"}).status_code == 201
        before = scrape(scraper)
        response = alice.post("/v1/runs/wait", json={"agent": "support", "message": "Show me all my orders"})
        assert response.status_code == 200, response.text
        sink.wait_for(2)
        after = wait_for_delivered(scraper, value(before, DELIVERIES, channel="webhook", outcome="delivered") + 1)
    assert (
        value(after, DELIVERIES, channel="webhook", outcome="failed")
        - value(before, DELIVERIES, channel="webhook", outcome="failed")
        == 1
    )
    assert value(after, DELIVERIES, channel="webhook", outcome="dead") == value(
        before, DELIVERIES, channel="webhook", outcome="dead"
    )


DELIVERIES = "switchboard_webhook_deliveries_total"


def wait_for_delivered(
    scraper: httpx.Client, count: float, timeout: float = 10.0
) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """The sink has the request before the dispatcher has counted its answer: scrape until it has."""
    deadline = time.monotonic() + timeout
    while True:
        samples = scrape(scraper)
        if value(samples, DELIVERIES, channel="webhook", outcome="delivered") >= count:
            return samples
        if time.monotonic() > deadline:
            pytest.fail(f"no delivered webhook counted within {timeout} s")
        time.sleep(0.05)


def test_blank_telemetry_settings_are_unset() -> None:
    """As in a copied `.env.example`: `SWITCHBOARD_METRICS_TOKEN=` is no token (not an empty one)."""
    settings = Settings(_env_file=None, metrics_token="", metrics_dir=" ", otel_endpoint="")
    assert settings.metrics_token is None
    assert settings.metrics_dir is None
    assert settings.otel_endpoint is None
