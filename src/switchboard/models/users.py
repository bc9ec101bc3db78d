from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, DateTime, ForeignKey, Identity, Numeric, String, Text, Uuid
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from switchboard.models.base import Base, CreatedAt


class User(CreatedAt, Base):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint("role IN ('admin', 'member')", name="role"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)  # stored lower-cased by the service
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16), server_default="member")
    # The user's tier (SWITCHBOARD_TIERS names them) and per-user overrides of its numbers (`limits.tiers`).
    tier: Mapped[str] = mapped_column(String(32), server_default="free")
    limits: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")


class ApiKey(CreatedAt, Base):
    """An API key, stored as a SHA-256 digest; `prefix` is the visible start used to name and revoke it."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200), server_default="default")
    prefix: Mapped[str] = mapped_column(String(32), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    # What the key may do (`auth.scopes`); None: everything its user may.
    scopes: Mapped[list[str] | None] = mapped_column(ARRAY(String(32)), default=None)
    # A daily cost cap in USD for runs made with this key, on top of its user's.
    daily_cost_usd: Mapped[Decimal | None] = mapped_column(Numeric(14, 6), default=None)


class RateLimitBucket(Base):
    """The rate limiter's state in PostgreSQL (`limits.postgres`): each key's GCRA theoretical arrival time.
    UNLOGGED: no WAL, so a check is cheap; a crash empties it, which only resets the limits."""

    __tablename__ = "rate_limit_buckets"
    __table_args__ = {"prefixes": ["UNLOGGED"]}  # noqa: RUF012

    key: Mapped[str] = mapped_column(Text, primary_key=True)
    tat: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class EndedBrowserSession(Base):
    """A console session signed out before it expired (`auth.browser_session`): its cookie, though still sealed
    and unexpired, is refused from then on. Kept until the session would have expired anyway."""

    __tablename__ = "ended_browser_sessions"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
