"""What the schedules, triggers and webhooks pages share: forms checked by the API's own request models, the
API's `runs:write` check, and notices sent beside a partial update."""

from __future__ import annotations

from typing import Any, TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError

from switchboard.auth.dependencies import require_runs_writer
from switchboard.auth.principal import Principal
from switchboard.console.rendering import templates
from switchboard.kit.errors import ValidationFailed
from switchboard.limits.guard import admit_run_creator

M = TypeVar("M", bound=BaseModel)

PAGE_SIZE = 50


def parsed(model: type[M], data: dict[str, Any]) -> M:
    """The form as the API's request model reads it; invalid: 422 naming each field, as the API says it."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = [f"{'.'.join(str(p) for p in e['loc']) or 'form'}: {e['msg']}" for e in exc.errors()]
        raise ValidationFailed("; ".join(problems[:5])) from None


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
