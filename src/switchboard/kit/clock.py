"""The one clock: aware UTC datetimes. Database timestamps come from PostgreSQL's `now()` instead wherever a
row's times must agree with each other."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> datetime:
    return datetime.now(UTC)
