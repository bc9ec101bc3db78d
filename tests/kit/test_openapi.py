"""The error statuses OpenAPI documents come from a route's definition: a route added later (here by a plugin,
with no `responses=` at all) documents what it can answer without any effort of its own."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from switchboard.app import create_app
from switchboard.auth.dependencies import AdminDep, PrincipalDep
from switchboard.plugins import Plugin
from tests.fixtures.server import make_settings


class Note(BaseModel):
    text: str


later = APIRouter(prefix="/v1/later")


@later.put("/{note_id}")
async def replace_note(note_id: uuid.UUID, body: Note, admin: AdminDep) -> Note:
    return body


@later.get("")
async def list_notes(user: PrincipalDep) -> list[Note]:
    return []


@later.get("/public")
async def public() -> Note:
    return Note(text="hi")


PLUGIN = Plugin(name="later", routers=[later])


def openapi(tmp_path: Path) -> dict[str, Any]:
    settings = make_settings("postgresql+asyncpg://unused@127.0.0.1/unused", tmp_path, plugins=[f"{__name__}:PLUGIN"])
    return create_app(settings).openapi()


def statuses(schema: dict[str, Any], method: str, path: str) -> set[int]:
    return {int(status) for status in schema["paths"][path][method]["responses"]}


def test_a_route_added_later_documents_the_errors_its_definition_implies(tmp_path: Path) -> None:
    schema = openapi(tmp_path)
    # A body (400 not JSON, 408, 413, 422), an admin key (401, 403; 429 for an address sending too many bad keys), a
    # path parameter (404), the database (503). Any key: 401, 403 (the console's cookie without its CSRF token).
    assert statuses(schema, "put", "/v1/later/{note_id}") == {200, 400, 401, 403, 404, 408, 413, 422, 429, 500, 503}
    assert statuses(schema, "get", "/v1/later") == {200, 401, 403, 422, 429, 500, 503}
    assert statuses(schema, "get", "/v1/later/public") == {200, 422, 500}


def test_every_error_has_the_one_error_shape_as_json_also_on_streams(tmp_path: Path) -> None:
    schema = openapi(tmp_path)
    errors = [
        (path, method, status, response)
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        for status, response in operation["responses"].items()
        if int(status) >= 400
    ]
    assert len(errors) > 100
    for path, method, status, response in errors:
        assert response["content"] == {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}
        assert response["description"].strip(), (method, path, status)
    # FastAPI's own validation-error model is not this API's and is gone.
    assert "HTTPValidationError" not in json.dumps(schema)
    # Bounds are JSON Schema's keywords, which clients and fuzzers read (not Pydantic's `ge`, which none does).
    assert not re.search(r'"(ge|gt|le|lt)": -?\d', json.dumps(schema))
    assert {"ErrorResponse", "ErrorBody"} <= set(schema["components"]["schemas"])
    stream = schema["paths"]["/v1/chat/stream"]["post"]["responses"]
    assert set(stream["200"]["content"]) == {"text/event-stream"}


def test_what_each_route_raises_itself_is_documented_with_its_own_words(tmp_path: Path) -> None:
    schema = openapi(tmp_path)
    chat = schema["paths"]["/v1/chat"]["post"]["responses"]
    assert {"404", "409", "502", "503", "504"} <= set(chat)  # unknown thread; busy; model failed; no worker; time
    assert "run_timed_out" in chat["504"]["description"]
    assert "404" in schema["paths"]["/agents/status/{run_id}"]["get"]["responses"]


def test_request_bodies_list_the_agents_this_server_runs(tmp_path: Path) -> None:
    components = openapi(tmp_path)["components"]["schemas"]
    agents = [  # every installed plugin's agents and pipelines (the offline model serves them all)
        "assistant",
        "document-extractor",
        "entities",
        "policy-checker",
        "researcher",
        "sentiment",
        "shop-sidekick",
        "summarizer",
        "support",
        "text-analysis",
        "text-analysis-sequential",
    ]
    for model in ("RunCreate", "ChatRequest", "ThreadCreate"):
        assert components[model]["properties"]["agent"]["enum"] == agents, model
    assert "x-switchboard-agent-name" not in json.dumps(components)
