"""The interactive API docs work offline: `/docs` and `/redoc` load their assets from the server itself (copies
shipped in the package), never from a CDN, and need no API key."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest

from tests.fixtures.server import LiveServer

CONTENT_TYPES = {
    ".js": {"application/javascript", "text/javascript"},
    ".css": {"text/css"},
    ".png": {"image/png"},
}


class _References(HTMLParser):
    """Every URL a page makes the browser load or link to: src, href and ReDoc's spec-url attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [value for name, value in attrs if name in {"src", "href", "spec-url"} and value]


def _references(html: str) -> list[str]:
    parser = _References()
    parser.feed(html)
    return parser.urls


@pytest.mark.parametrize(("page", "assets"), [("/docs", {".js", ".css", ".png"}), ("/redoc", {".js", ".png"})])
def test_the_docs_pages_load_every_asset_from_the_server_itself(
    server: LiveServer, page: str, assets: set[str]
) -> None:
    with server.client() as client:  # no API key: the docs are public
        response = client.get(page)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/html")
        html = response.text

        # No other host anywhere in the page: not in a tag, not in the inline script, not a protocol-relative URL.
        assert re.findall(r"(?:https?:)?//[\w.-]+", html.replace("<!--", "").replace("-->", "")) == []
        references = _references(html)
        assert {urlsplit(url).netloc for url in references} == {""}

        found: set[str] = set()
        for url in references:
            if url == "/openapi.json":
                continue
            suffix = "." + url.rsplit(".", 1)[-1]
            asset = client.get(urljoin(server.url, url))
            assert asset.status_code == 200, (url, asset.status_code)
            assert asset.headers["content-type"].split(";")[0] in CONTENT_TYPES[suffix], (url, asset.headers)
            assert len(asset.content) > 500, url
            found.add(suffix)
        assert found == assets
        assert client.get("/openapi.json").status_code == 200


def test_swagger_ui_does_not_call_the_online_validator(server: LiveServer) -> None:
    """Swagger UI otherwise shows a badge fetched from validator.swagger.io, sending it the spec's URL."""
    with server.client() as client:
        html = client.get("/docs").text
    assert '"validatorUrl": null' in html


def test_the_api_description_speaks_to_users_not_of_the_original_seeds(server: LiveServer) -> None:
    """Tags, summaries and descriptions say "the support demo" and "the insurance agents"; which original system
    each one replaces is the README's business, not the API's."""
    with server.client() as client:
        spec = client.get("/openapi.json")
    assert spec.status_code == 200
    assert re.findall(r".{0,60}\bseed.{0,60}", spec.text, flags=re.IGNORECASE) == []
    tags = {tag for operation in _operations(spec.json()) for tag in operation.get("tags", [])}
    assert "insurance agents (one run at a time)" in tags
    assert "demo shop" in tags


def _operations(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [operation for path in spec["paths"].values() for operation in path.values()]
