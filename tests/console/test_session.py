"""The console's session, over plain HTTP: what the cookie is, what it allows on the API, and what it does not."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from tests.fixtures.demo import DemoUser
from tests.fixtures.server import LiveServer

ALICE = "alice@example.com"


@contextmanager
def _signed_in(server: LiveServer, key: str) -> Iterator[tuple[httpx.Client, str]]:
    """A client holding a console session, and the CSRF token its pages carry."""
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield client, _sign_in(client, key)


def _sign_in(client: httpx.Client, key: str) -> str:
    response = client.post("/console/sign-in", data={"api_key": key, "next": "/console/agents"})
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/console/agents"
    page = client.get("/console/agents")
    assert page.status_code == 200
    match = re.search(r'<meta name="csrf-token" content="([0-9a-f]{64})">', page.text)
    assert match is not None
    return match.group(1)


def test_the_cookie_is_httponly_strict_and_does_not_hold_the_key(server: LiveServer, demo: dict[str, DemoUser]) -> None:
    key = demo[ALICE].key
    with httpx.Client(base_url=server.url) as client:
        response = client.post("/console/sign-in", data={"api_key": key})
    header = response.headers["set-cookie"]
    assert header.startswith("switchboard_session=")
    assert "HttpOnly" in header
    assert "SameSite=strict" in header
    assert "Max-Age=43200" in header
    assert key not in header
    assert key.removeprefix("sb_")[:12] not in header


def test_the_session_reads_the_api_and_writes_only_with_its_csrf_token(
    server: LiveServer, demo: dict[str, DemoUser]
) -> None:
    with _signed_in(server, demo[ALICE].key) as (client, csrf):
        me = client.get("/v1/me")
        assert me.status_code == 200
        assert me.json()["email"] == ALICE

        thread = {"agent": "support", "title": "from the console"}
        refused = client.post("/v1/threads", json=thread)
        assert refused.status_code == 403
        assert "CSRF" in refused.json()["error"]["message"]
        wrong = client.post("/v1/threads", json=thread, headers={"X-CSRF-Token": "0" * 64})
        assert wrong.status_code == 403
        assert client.get("/v1/threads").json()["items"] == []  # nothing was made

        made = client.post("/v1/threads", json=thread, headers={"X-CSRF-Token": csrf})
        assert made.status_code == 201, made.text

        # A console form without the token is refused too, as a page.
        out = client.post("/console/sign-out", data={})
        assert out.status_code == 403
        assert "text/html" in out.headers["content-type"]
        assert client.get("/v1/me").status_code == 200  # still signed in


def test_another_session_token_or_a_forged_cookie_is_worthless(server: LiveServer, demo: dict[str, DemoUser]) -> None:
    with (
        _signed_in(server, demo[ALICE].key) as (_, alice_csrf),
        _signed_in(server, demo["bob@example.com"].key) as (
            bob,
            _,
        ),
    ):
        assert bob.post("/v1/threads", json={}, headers={"X-CSRF-Token": alice_csrf}).status_code == 403
        forged = httpx.Client(base_url=server.url, cookies={"switchboard_session": "gAAAAAforged"})
        with forged:
            response = forged.get("/v1/me")
            assert response.status_code == 401
            assert "sign in again" in response.json()["error"]["message"]
            page = forged.get("/console/agents")
            assert page.status_code == 303
            assert page.headers["location"].startswith("/console/sign-in?next=%2Fconsole%2Fagents&reason=")


def test_revoking_the_key_ends_its_sessions(server: LiveServer, demo: dict[str, DemoUser]) -> None:
    key = demo[ALICE].key
    with _signed_in(server, key) as (client, _), server.client(key) as api:
        key_id = next(k["id"] for k in api.get("/v1/keys").json()["items"] if not k["revoked"])
        assert api.delete(f"/v1/keys/{key_id}", params={"allow_lockout": "true"}).status_code == 200
        assert client.get("/v1/me").status_code == 401
        page = client.get("/console/agents")
        assert page.status_code == 303
        assert "/console/sign-in" in page.headers["location"]


def test_sign_in_goes_back_only_into_the_console(server: LiveServer, demo: dict[str, DemoUser]) -> None:
    key = demo[ALICE].key
    with httpx.Client(base_url=server.url) as client:
        for target in ("//evil.example/console", "https://evil.example/", "/v1/me", "/consolex/../v1"):
            response = client.post("/console/sign-in", data={"api_key": key, "next": target})
            assert response.status_code == 303
            assert response.headers["location"] in {"/console/agents", target}, target
            assert not response.headers["location"].startswith(("//", "http", "/v1")), target
        other_site = client.post("/console/sign-in", data={"api_key": key}, headers={"Origin": "https://evil.example"})
        assert other_site.status_code == 403
        assert "set-cookie" not in other_site.headers


def test_a_bad_key_is_a_page_that_says_so_and_sets_nothing(server: LiveServer) -> None:
    with httpx.Client(base_url=server.url) as client:
        response = client.post("/console/sign-in", data={"api_key": "sb_nope"})
        assert response.status_code == 401
        assert "Invalid API key" in response.text
        assert "set-cookie" not in response.headers
        assert client.get("/").headers["location"] == "/console"


def test_signing_out_ends_the_session_for_every_copy_of_the_cookie(
    server: LiveServer, demo: dict[str, DemoUser]
) -> None:
    with _signed_in(server, demo[ALICE].key) as (client, csrf):
        copy = httpx.Client(base_url=server.url, cookies={"switchboard_session": client.cookies["switchboard_session"]})
        with copy:
            assert copy.get("/v1/me").status_code == 200
            out = client.post("/console/sign-out", data={"csrf_token": csrf})
            assert out.status_code == 303
            assert out.headers["location"] == "/console/sign-in?reason=signed-out"
            assert 'switchboard_session=""' in out.headers["set-cookie"]
            assert "Max-Age=0" in out.headers["set-cookie"]
            refused = copy.post("/v1/threads", json={"agent": "support"}, headers={"X-CSRF-Token": csrf})
            assert refused.status_code == 401
            assert copy.get("/console/agents").headers["location"].endswith("&reason=session-ended")
        with server.client(demo[ALICE].key) as api:
            assert api.get("/v1/threads").json()["items"] == []  # the copy made nothing


def test_odd_tokens_and_reasons_are_refused_plainly(server: LiveServer, demo: dict[str, DemoUser]) -> None:
    with _signed_in(server, demo[ALICE].key) as (client, _):
        odd = client.post(
            "/v1/threads", json={"agent": "support"}, headers={b"X-CSRF-Token": ("é" * 64).encode("latin-1")}
        )
        assert odd.status_code == 403
        form = client.post("/console/sign-out", data={"csrf_token": "ü"})
        assert form.status_code == 403
        page = client.get("/console/sign-in", params={"reason": "Your account is locked: call +1 555"})
        assert "call +1 555" not in page.text  # the page says only its own fixed messages


def test_console_answers_are_not_cached_framed_or_given_inline_script(
    server: LiveServer, demo: dict[str, DemoUser]
) -> None:
    with _signed_in(server, demo[ALICE].key) as (client, _):
        for path in ("/console/agents", "/console/sign-in", "/console/runs/00000000-0000-0000-0000-000000000000"):
            response = client.get(path)
            assert response.headers["cache-control"] == "no-store", path
            assert response.headers["x-frame-options"] == "DENY", path
            assert "script-src 'self';" in response.headers["content-security-policy"], path
            assert "frame-ancestors 'none'" in response.headers["content-security-policy"], path


def test_an_htmx_request_without_a_session_is_sent_to_sign_in_and_back_to_its_page(server: LiveServer) -> None:
    with httpx.Client(base_url=server.url) as client:
        here = f"{server.url}/console/runs?status=failed"
        polled = client.get("/console/runs", headers={"HX-Request": "true", "HX-Current-URL": here})
        assert polled.status_code == 204
        assert polled.headers["hx-redirect"] == "/console/sign-in?next=%2Fconsole%2Fruns%3Fstatus%3Dfailed"
        elsewhere = client.get(
            "/console/runs", headers={"HX-Request": "true", "HX-Current-URL": "https://evil.example/console/x"}
        )
        assert elsewhere.headers["hx-redirect"] == "/console/sign-in?next=%2Fconsole"
