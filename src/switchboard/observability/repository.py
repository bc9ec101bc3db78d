from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.kit.errors import ValidationFailed
from switchboard.kit.pagination import decode_cursor, encode_cursor
from switchboard.models import RequestLog


@dataclass(frozen=True)
class RequestLogFilter:
    request_id: str | None = None
    path: str | None = None
    status: int | None = None
    since: datetime | None = None
    until: datetime | None = None


class RequestLogRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def page(
        self, where: RequestLogFilter, limit: int, cursor: str | None
    ) -> tuple[list[RequestLog], str | None]:
        """Newest first; the cursor is the (created_at, id) of the last row of the previous page."""
        query = select(RequestLog)
        if where.request_id is not None:
            query = query.where(RequestLog.request_id == where.request_id)
        if where.path is not None:
            query = query.where(RequestLog.path == where.path)
        if where.status is not None:
            query = query.where(RequestLog.status_code == where.status)
        if where.since is not None:
            query = query.where(RequestLog.created_at >= where.since)
        if where.until is not None:
            query = query.where(RequestLog.created_at < where.until)
        if cursor is not None:
            created_at, row_id = decode_cursor(cursor, 2)
            try:
                after, after_id = datetime.fromisoformat(str(created_at)), int(row_id)
            except (TypeError, ValueError):
                raise ValidationFailed("cursor is not valid: pass next_cursor unchanged") from None
            query = query.where(
                or_(RequestLog.created_at < after, and_(RequestLog.created_at == after, RequestLog.id < after_id))
            )
        query = query.order_by(RequestLog.created_at.desc(), RequestLog.id.desc()).limit(limit + 1)
        rows = list(await self.session.scalars(query))
        more = len(rows) > limit
        rows = rows[:limit]
        return rows, encode_cursor(rows[-1].created_at.isoformat(), rows[-1].id) if more else None
