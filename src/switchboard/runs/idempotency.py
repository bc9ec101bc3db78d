"""`Idempotency-Key` on the run-creating POSTs, per user.

The first request with a key takes a transaction-scoped advisory lock on (user, key) and records the key with
the run it creates, in the same commit. A repeat with the same request gets the original answer; with a
different request, a 422; while the first is still being created (the lock is held), a 409.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from typing import Annotated, Any

from fastapi import Header
from pydantic import BaseModel
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.auth.principal import Principal
from switchboard.kit.errors import Conflict, ValidationFailed
from switchboard.models import IdempotencyKey

_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")

IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="Makes this POST safe to retry: the same key with the same body returns the original "
        "response (one run); with a different body → 422; while the first is still being created → 409. "
        "Up to 200 printable ASCII characters, per user.",
        json_schema_extra={"pattern": _KEY.pattern},  # checked below, with a message saying what it must be
    ),
]


def fingerprint(route: str, body: BaseModel) -> str:
    canonical = json.dumps([route, body.model_dump(mode="json")], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


async def find_or_lock(
    session: AsyncSession, user: Principal, key: str, route: str, body: BaseModel
) -> IdempotencyKey | None:
    """The earlier request made with this key (same fingerprint), or None after locking the key for this one."""
    if not _KEY.match(key):
        raise ValidationFailed(
            "Idempotency-Key must be 1 to 200 printable ASCII characters (no spaces).",
            details=[{"field": "Idempotency-Key", "message": "invalid"}],
        )
    locked = await session.scalar(
        text("SELECT pg_try_advisory_xact_lock(hashtextextended(:key, 0))"),
        {"key": f"switchboard.idempotency:{user.user_id}:{key}"},
    )
    if not locked:
        raise Conflict("A request with this Idempotency-Key is still being processed; retry in a moment.")
    existing = await session.scalar(
        select(IdempotencyKey).where(IdempotencyKey.user_id == user.user_id, IdempotencyKey.key == key)
    )
    if existing is not None and existing.fingerprint != fingerprint(route, body):
        raise ValidationFailed(
            "This Idempotency-Key was already used with a different request (another route or body). "
            "Use a new key for a new request.",
            details=[{"field": "Idempotency-Key", "message": "reused with a different request"}],
        )
    return existing


def remember(
    session: AsyncSession,
    user: Principal,
    key: str,
    route: str,
    body: BaseModel,
    run_id: uuid.UUID,
    response: dict[str, Any] | None = None,
) -> None:
    session.add(
        IdempotencyKey(
            user_id=user.user_id, key=key, fingerprint=fingerprint(route, body), run_id=run_id, response=response
        )
    )
