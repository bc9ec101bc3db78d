"""What the trigger tests share: creating a trigger over HTTP, signing events as a sender would (with the
`standardwebhooks` library itself, or GitHub's HMAC), sending them, and counting what was stored."""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession
from standardwebhooks import Webhook

from tests.fixtures.database import run_db


def create_trigger(client: httpx.Client, **fields: Any) -> dict[str, Any]:
    """POST /v1/triggers that must succeed (201); returns the trigger, its secret included."""
    body = {"agent": "support", "name": "shop events", "instructions": "Show me all my orders", **fields}
    response = client.post("/v1/triggers", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def standard_headers(
    secret: str, body: bytes, event_id: str | None = None, at: datetime | None = None
) -> dict[str, str]:
    """Standard Webhooks headers as a sender makes them, signed by the reference library."""
    event_id = event_id or f"msg_{uuid.uuid4().hex}"
    at = at or datetime.now(UTC)
    signature = Webhook(secret).sign(event_id, at, body.decode())
    return {
        "webhook-id": event_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature,
        "content-type": "application/json",
    }


def signed_bytes(secret: str, body: bytes, event_id: str = "msg_bytes") -> dict[str, str]:
    """Standard Webhooks headers for a body the library cannot sign (it takes text): the same HMAC, by hand."""
    timestamp = str(int(datetime.now(UTC).timestamp()))
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"{event_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    signature = "v1," + base64.b64encode(digest).decode()
    return {"webhook-id": event_id, "webhook-timestamp": timestamp, "webhook-signature": signature}


def github_headers(secret: str, body: bytes, delivery: str | None = None) -> dict[str, str]:
    """What GitHub sends: the HMAC of the body keyed with the secret string as typed into its settings."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {
        "X-Hub-Signature-256": f"sha256={digest}",
        "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
        "X-GitHub-Event": "push",
        "content-type": "application/json",
    }


def send(client: httpx.Client, trigger: dict[str, Any], body: bytes, headers: dict[str, str]) -> httpx.Response:
    """POST to the trigger's ingest path, with no API key."""
    return client.post(f"/v1/hooks/{trigger['id']}", content=body, headers=headers)


def stored_counts(url: str, trigger_id: str) -> tuple[int, int]:
    """(trigger_events, runs) rows of this trigger."""

    async def work(session: AsyncSession) -> tuple[int, int]:
        params = {"id": uuid.UUID(trigger_id)}
        events = await session.scalar(text("SELECT count(*) FROM trigger_events WHERE trigger_id = :id"), params)
        runs = await session.scalar(text("SELECT count(*) FROM runs WHERE trigger_id = :id"), params)
        return int(events or 0), int(runs or 0)

    return run_db(url, work)


def execute_sql(url: str, statement: str, **params: Any) -> None:
    async def work(session: AsyncSession) -> None:
        await session.execute(text(statement), params)

    run_db(url, work)
