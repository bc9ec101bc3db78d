"""405 is decided before any route runs, from every route of the app: a fixed path is a resource of its own (not a
value of the path parameter beside it), `Allow` lists all the methods of the resource, and a CORS preflight is
left to the CORS middleware whichever order the middlewares are in. On a small app of its own, under uvicorn."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from switchboard.kit.routing import MethodCheckMiddleware
from tests.fixtures.server import serve_in_thread


def make_app() -> FastAPI:
    app = FastAPI()

    @app.get("/things/{thing_id}")
    async def get_thing(thing_id: int) -> dict[str, int]:
        return {"id": thing_id}

    @app.delete("/things/{thing_id}")
    async def delete_thing(thing_id: int) -> None:
        return None

    @app.post("/things/search")
    async def search() -> list[int]:
        return []

    # The CORS middleware inside the method check: the order that would refuse its preflights.
    app.add_middleware(CORSMiddleware, allow_origins=["https://example.com"], allow_methods=["*"])
    app.add_middleware(MethodCheckMiddleware)
    return app


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    with serve_in_thread(make_app(), "routing") as url, httpx.Client(base_url=url) as client:
        yield client


def allow(response: httpx.Response) -> set[str]:
    assert response.status_code == 405, response.text
    assert response.json()["error"]["type"] == "method_not_allowed"
    return {method.strip() for method in response.headers["allow"].split(",")}


def test_a_fixed_path_is_not_a_value_of_the_parameter_beside_it(client: httpx.Client) -> None:
    assert allow(client.get("/things/search")) == {"POST"}  # not GET /things/{thing_id} with "search" (a 422)
    assert client.post("/things/search").status_code == 200
    assert client.get("/things/7").json() == {"id": 7}


def test_allow_lists_every_method_of_the_resource(client: httpx.Client) -> None:
    assert allow(client.patch("/things/7")) == {"GET", "DELETE"}
    assert allow(client.options("/things/7")) == {"GET", "DELETE"}
    assert client.get("/nothing/here").status_code == 404  # no resource: not a 405


def test_a_cors_preflight_reaches_the_cors_middleware(client: httpx.Client) -> None:
    preflight = client.options(
        "/things/7", headers={"Origin": "https://example.com", "Access-Control-Request-Method": "DELETE"}
    )
    assert preflight.status_code == 200, preflight.text
    assert preflight.headers["access-control-allow-origin"] == "https://example.com"
