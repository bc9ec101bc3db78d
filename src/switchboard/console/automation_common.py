"""What the schedules, triggers and webhooks pages share: the API's run-creation check, fragments of templates,
and notices sent beside a partial update."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from switchboard.auth.dependencies import require_runs_writer
from switchboard.auth.principal import Principal
from switchboard.console.rendering import templates
from switchboard.limits.guard import admit_run_creator

PAGE_SIZE = 50


async def require_run_creator(request: Request, user: Principal) -> None:
    """What the API's `RunCreatorDep` checks: `runs:write`, and the user's tier allows another run now."""
    await require_runs_writer(user)
    await admit_run_creator(request, user)


def notice(
    request: Request, message: str, *, kind: str = "ok", link: str | None = None, link_text: str | None = None
) -> str:
    """A notice for the page's `#flash`, swapped out of band beside a partial update."""
    context = {"message": message, "kind": kind, "link": link, "link_text": link_text or link}
    return fragment(request, "schedules_notice.html", context)


def fragment(request: Request, name: str, context: dict[str, Any]) -> str:
    """A template rendered to text, to be sent with others in one answer (a row and a notice, say)."""
    return str(templates.get_template(name).render({"request": request, **context}))
