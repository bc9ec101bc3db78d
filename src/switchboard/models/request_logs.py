from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Float, Identity, Index, Integer, String, func
from sqlalchemy.orm import Mapped, mapped_column

from switchboard.models.base import Base


class RequestLog(Base):
    """One row per HTTP request. No unique request id: a client may reuse one, and every request keeps its row."""

    __tablename__ = "request_logs"
    __table_args__ = (Index("ix_request_logs_created_at_id", "created_at", "id"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    request_id: Mapped[str] = mapped_column(String(128), index=True)
    method: Mapped[str] = mapped_column(String(16))
    path: Mapped[str] = mapped_column(String(2048))
    status_code: Mapped[int] = mapped_column(Integer)
    duration_ms: Mapped[float] = mapped_column(Float)
    client_host: Mapped[str | None] = mapped_column(String(100), default=None)
    user_agent: Mapped[str | None] = mapped_column(String(500), default=None)
    user_id: Mapped[int | None] = mapped_column(BigInteger, default=None)  # no FK: logs outlive users
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
