"""CORS is off unless SWITCHBOARD_CORS_ORIGINS names the origins whose browser pages may call the API; then
preflights are answered before authentication, and every answer, errors included, can be read by those pages."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from switchboard.settings import Settings
from tests.fixtures.demo import seed_demo
from tests.fixtures.server import LiveServer

APP = "https://app.example.com"
OTHER = "https://evil.example.net"


def preflight(origin: str) -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type",
    }


def test_cors_is_off_by_default(server: LiveServer) -> None:
    key = seed_demo(server.settings)["test.user@example.com"].key
    with server.client(key) as client:
        response = client.get("/v1/agents", headers={"Origin": APP})
        assert response.status_code == 200
        assert "access-control-allow-origin" not in response.headers
        asked = client.options("/v1/chat", headers=preflight(APP))
        assert "access-control-allow-origin" not in asked.headers


def test_configured_origins_may_call_the_api_from_a_browser(make_server: Callable[..., LiveServer]) -> None:
    server = make_server(cors_origins=[APP, "http://localhost:5173/"])  # a trailing slash is forgiven
    key = seed_demo(server.settings)["test.user@example.com"].key
    with server.client() as client:
        asked = client.options("/v1/chat", headers=preflight(APP))  # no key: browsers send none on a preflight
        assert asked.status_code == 200, asked.text
        assert asked.headers["access-control-allow-origin"] == APP
        assert "POST" in asked.headers["access-control-allow-methods"]
        assert "authorization" in asked.headers["access-control-allow-headers"].lower()

        listed = client.get("/v1/agents", headers={"Origin": "http://localhost:5173", "Authorization": f"Bearer {key}"})
        assert listed.status_code == 200
        assert listed.headers["access-control-allow-origin"] == "http://localhost:5173"
        assert "x-request-id" in listed.headers["access-control-expose-headers"].lower()

        refused = client.get("/v1/agents", headers={"Origin": APP})  # an error is readable too
        assert refused.status_code == 401
        assert refused.headers["access-control-allow-origin"] == APP

        stranger = client.get("/v1/agents", headers={"Origin": OTHER, "Authorization": f"Bearer {key}"})
        assert "access-control-allow-origin" not in stranger.headers
        assert client.options("/v1/chat", headers=preflight(OTHER)).status_code == 400


def test_cors_origins_are_read_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SWITCHBOARD_CORS_ORIGINS", f" {APP}, http://localhost:5173/ ,")
    assert Settings(_env_file=None).cors_origins == [APP, "http://localhost:5173"]
    monkeypatch.delenv("SWITCHBOARD_CORS_ORIGINS")
    assert Settings(_env_file=None).cors_origins == []
