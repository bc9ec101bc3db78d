"""Per client address: requests with a bad API key, and events at the inbound trigger hooks. Past the limit, 429
(from memory, without looking the key or the trigger up). A key the server authenticated moments ago still works
from a refused address; any other key waits out the Retry-After like the flood (documented in the README)."""

from __future__ import annotations

import time
import uuid

import httpx

from tests.fixtures.http import assert_error
from tests.limits.conftest import ALICE, BOB, Limited


def test_a_flood_of_bad_keys_is_refused_from_its_address(limited: Limited) -> None:
    server, users = limited(auth_failures_per_minute=30)  # one back every 2 s
    with server.client(users[ALICE].key) as alice:
        assert alice.get("/v1/me").status_code == 200  # remembered by the server for a few seconds
        with server.client() as anonymous:
            for _ in range(40):  # no key at all costs no lookup: not counted
                assert_error(anonymous.get("/v1/me"), 401, "authentication_error")
            bad = {"Authorization": "Bearer sb_" + "x" * 40}
            for _ in range(30):
                assert_error(anonymous.get("/v1/me", headers=bad), 401, "authentication_error")
            refused = anonymous.get("/v1/me", headers=bad)
            error = assert_error(refused, 429, "rate_limited")
            assert "30 requests with a bad key per minute" in error["message"]
            assert 1 <= int(refused.headers["retry-after"]) <= 2
            assert_error(anonymous.get("/v1/me", headers=bad), 429, "rate_limited")
            with server.client(users[BOB].key) as bob:  # a key not seen lately waits too
                assert_error(bob.get("/v1/me"), 429, "rate_limited")
            assert alice.get("/v1/me").status_code == 200
            time.sleep(int(refused.headers["retry-after-ms"]) / 1000 + 0.1)
            with server.client(users[BOB].key) as bob:
                assert bob.get("/v1/me").status_code == 200


def test_a_flood_of_events_at_a_trigger_hook_is_refused_from_its_address(limited: Limited) -> None:
    server, _ = limited(trigger_ingest_per_minute=5)
    path = f"/v1/hooks/{uuid.uuid4()}"
    with httpx.Client(base_url=server.url) as client:
        for _ in range(5):
            assert_error(client.post(path, content=b"{}"), 404, "not_found")
        refused = client.post(path, content=b"{}")
        error = assert_error(refused, 429, "rate_limited")
        assert "5 trigger events per minute" in error["message"]
        assert 11 <= int(refused.headers["retry-after"]) <= 12
        assert_error(client.post(f"/v1/hooks/{uuid.uuid4()}", content=b"{}"), 429, "rate_limited")  # any trigger
