from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.kit.pagination import keyset_page
from switchboard.models import RequestLog


@dataclass(frozen=True)
class RequestLogFilter:
    request_id: str | None = None
    path: str | None = None
    status: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    user_id: int | None = None  # whose key made the request


class RequestLogRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def page(
        self, where: RequestLogFilter, limit: int, cursor: str | None
    ) -> tuple[list[RequestLog], str | None]:
        """Newest first."""
        query = select(RequestLog)
        if where.request_id is not None:
            query = query.where(RequestLog.request_id == where.request_id)
        if where.path is not None:
            query = query.where(RequestLog.path == where.path)
        if where.status is not None:
            query = query.where(RequestLog.status_code == where.status)
        if where.user_id is not None:
            query = query.where(RequestLog.user_id == where.user_id)
        if where.since is not None:
            query = query.where(RequestLog.created_at >= where.since)
        if where.until is not None:
            query = query.where(RequestLog.created_at < where.until)
        columns = [RequestLog.created_at, RequestLog.id]
        return await keyset_page(self.session, query, columns, limit=limit, cursor=cursor, descending=True)
