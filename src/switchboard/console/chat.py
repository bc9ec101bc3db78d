"""The chat page: pick an agent and talk. The page (threads, a thread's history, its context, the calls that wait
for approval) is rendered here; `static/chat.js` sends each message to `POST /v1/chat/stream` and streams the reply,
decides approvals with `POST /v1/runs/{id}/approvals` and follows the resumed run (`GET /v1/runs/{id}/events`)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

from fastapi import APIRouter, Query, Request, Response

from switchboard.auth.scopes import Scope
from switchboard.console.chat_history import history
from switchboard.console.dependencies import ConsoleUserDep
from switchboard.console.rendering import templates
from switchboard.console.routing import ConsoleRoute
from switchboard.kit.errors import NotFound
from switchboard.models import Run, Thread, ThreadMessage
from switchboard.models.runs import RunStatus
from switchboard.runs.repository import RunFilter
from switchboard.runs.schemas import RunOut
from switchboard.runs.service import RunService
from switchboard.state import app_state
from switchboard.threads.service import ThreadService

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)

DEFAULT_AGENT = "support"
THREADS_SHOWN = 30  # the sidebar's most recently active threads
MESSAGES_SHOWN = 200  # a thread's latest messages rendered on its page
TITLE_CHARS = 60
RUNS_LOOKED_AT = 10  # a thread's latest runs, for those that wait for approval or are still at work
# Still at work: the page follows them (a reload during a reply, or a turn queued by another client).
WORKING = frozenset({RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.WAITING})


@dataclass(frozen=True)
class AgentChoice:
    name: str
    offline: bool


@dataclass(frozen=True)
class ThreadLink:
    id: uuid.UUID
    agent: str
    title: str
    updated_at: object


def _thread_id(raw: str | None) -> uuid.UUID | None:
    """`?thread=`: not a thread id is as not found as another user's thread."""
    if not raw:
        return None
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise NotFound(f"Thread {raw} not found.") from None


def _title(thread: Thread, first_prompts: dict[uuid.UUID, str]) -> str:
    text = thread.title or first_prompts.get(thread.id) or "(no messages yet)"
    text = " ".join(text.split())
    return text if len(text) <= TITLE_CHARS else text[: TITLE_CHARS - 1] + "…"


@router.get("/chat")
async def chat_page(
    request: Request,
    user: ConsoleUserDep,
    agent: str | None = Query(default=None, max_length=100),
    thread: str | None = Query(default=None, max_length=100),
) -> Response:
    state = app_state(request)
    agents = [AgentChoice(a.spec.name, a.model.is_offline) for a in state.agents.all()]
    names = {a.name for a in agents}
    thread_id = _thread_id(thread)
    async with state.db.unit_of_work() as session:
        threads = ThreadService(session)
        current: Thread | None = None
        messages: list[ThreadMessage] = []
        earlier_left_out = False
        paused: list[RunOut] = []
        working: list[Run] = []
        if thread_id is not None:
            current, messages, earlier_left_out = await threads.latest_messages(user, thread_id, MESSAGES_SHOWN)
            runs = RunService(session, state.agents, state.settings)
            latest, _ = await runs.page(user, RunFilter(thread_id=thread_id), RUNS_LOOKED_AT, None)
            paused = await runs.outs([run for run in latest if run.status == RunStatus.REQUIRES_ACTION])
            working = [run for run in reversed(latest) if run.status in WORKING]
        recent, _ = await threads.page(user, THREADS_SHOWN, None)
        prompts = await threads.first_prompts(recent)
    if current is not None:
        chosen = current.agent
    elif agent in names:
        chosen = agent
    else:
        chosen = DEFAULT_AGENT if DEFAULT_AGENT in names else next(iter(sorted(names)), "")
    context = {
        "agents": agents,
        "agent": chosen,
        "unknown_agent": agent if agent and agent not in names and current is None else None,
        "threads": [ThreadLink(t.id, t.agent, _title(t, prompts), t.updated_at) for t in recent],
        "thread": current,
        "entries": history(messages, paused, working),
        "follow": " ".join(str(run.id) for run in working),
        "earlier_left_out": earlier_left_out,
        "thread_context": json.dumps(current.context, indent=2, ensure_ascii=False)
        if current is not None and current.context is not None
        else "",
        "may_chat": user.may(Scope.RUNS_WRITE),
    }
    return templates.TemplateResponse(request, "chat.html", context)
