"""The console's templates (Jinja2, autoescaped) and the filters they format numbers, money and times with."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates

from switchboard.auth.principal import Principal

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_URL = "/console/static"


@dataclass(frozen=True)
class ConsoleVisit:
    """Who is looking, and the CSRF token their forms and scripts send (set by `ConsoleUserDep`)."""

    user: Principal
    csrf_token: str


@dataclass(frozen=True)
class NavItem:
    path: str
    label: str
    admin_only: bool = False


NAV = (
    NavItem("/console/agents", "Agents"),
    NavItem("/console/chat", "Chat"),
    NavItem("/console/runs", "Runs"),
    NavItem("/console/approvals", "Approvals"),
    NavItem("/console/schedules", "Schedules"),
    NavItem("/console/triggers", "Triggers"),
    NavItem("/console/webhooks", "Webhooks"),
    NavItem("/console/knowledge", "Knowledge"),
    NavItem("/console/usage", "Usage"),
    NavItem("/console/admin", "Admin", admin_only=True),
)


def _visit_context(request: Request) -> dict[str, Any]:
    visit: ConsoleVisit | None = getattr(request.state, "console", None)
    user = visit.user if visit else None
    nav = [item for item in NAV if not item.admin_only or (user is not None and user.is_admin)]
    return {
        "user": user,
        "csrf_token": visit.csrf_token if visit else "",
        "nav": nav if user else [],
        "path": request.url.path,
        "static": STATIC_URL,
    }


def money(value: Decimal | float | None, places: int = 4) -> str:
    """A cost in USD; an unknown one (an unpriced model) is "unknown", never $0."""
    if value is None:
        return "unknown"
    return f"${Decimal(value):,.{places}f}"


def number(value: int | float | None) -> str:
    return "—" if value is None else f"{value:,}"


def when(value: datetime | None) -> str:
    """An instant as UTC, to the second: the same for every reader, whatever their time zone."""
    if value is None:
        return "—"
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def ago(value: datetime | None, now: datetime | None = None) -> str:
    if value is None:
        return "—"
    seconds = ((now or datetime.now(UTC)) - value).total_seconds()
    if seconds < 0:
        return "in " + duration(-seconds)
    return "just now" if seconds < 5 else duration(seconds) + " ago"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs} s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min"
    return f"{hours // 24} days"


def emphasis(text: str | None) -> list[tuple[str, bool]]:
    """The text in pieces, each marked whether it is **bold** (the one bit of Markdown replies commonly use; the
    rest stays as written). Unbalanced markers leave the text as it is."""
    if not text:
        return []
    pieces = text.split("**")
    if len(pieces) % 2 == 0:
        return [(text, False)]
    return [(piece, index % 2 == 1) for index, piece in enumerate(pieces) if piece]


def pretty(value: Any) -> str:
    """JSON as a person reads it (the template escapes it)."""
    return json.dumps(value, indent=2, ensure_ascii=False, default=str, sort_keys=False)


templates = Jinja2Templates(directory=TEMPLATES_DIR, context_processors=[_visit_context])
templates.env.globals["emphasis"] = emphasis  # a reply's **bold**, in the chat and on a run's page
templates.env.filters.update(money=money, number=number, when=when, ago=ago, duration=duration, pretty=pretty)
