"""Response shapes of the health, readiness and request-log routes."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from switchboard.kit.pagination import Page
from switchboard.kit.schemas import FromRow


class Health(BaseModel):
    status: str
    version: str


class Readiness(BaseModel):
    status: str
    database: str
    migrations: str


class RequestLogOut(FromRow):
    id: int
    request_id: str
    method: str
    path: str
    status_code: int
    duration_ms: float
    client_host: str | None
    user_agent: str | None
    user_id: int | None
    created_at: datetime


class RequestLogPage(Page[RequestLogOut]):
    pass
