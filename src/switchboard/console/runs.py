"""The runs list: the signed-in user's runs, newest first, filtered as `GET /v1/runs` filters them (status,
agent) and by the day they were created, paginated by cursor, its table polled by htmx so it stays current (not
while keyboard focus is in it: a swap would lose it). The run page is `console.run_page`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import urlencode

from fastapi import APIRouter, Request, Response

from switchboard.console import run_page
from switchboard.console.dependencies import ConsoleUserDep
from switchboard.console.rendering import templates
from switchboard.console.routing import ConsoleRoute, is_htmx
from switchboard.console.run_page import total_tokens
from switchboard.kit.errors import ValidationFailed
from switchboard.models import Run
from switchboard.models.runs import RunStatus
from switchboard.runs.repository import RunFilter
from switchboard.runs.service import RunService
from switchboard.state import app_state

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)
router.include_router(run_page.router)

PAGE_SIZE = 25
INPUT_WORDS = 12
TABLE_ID = "runs-table"


@dataclass(frozen=True)
class RunFilters:
    """The list's filters as the form sends them ("" for none), checked."""

    status: str = ""
    agent: str = ""
    created_from: str = ""  # YYYY-MM-DD, inclusive
    created_to: str = ""  # YYYY-MM-DD, inclusive

    def where(self) -> RunFilter:
        status = None
        if self.status:
            try:
                status = RunStatus(self.status)
            except ValueError:
                raise ValidationFailed(f"status: {self.status!r} is not a run status.") from None
        start, end = _day(self.created_from, "from"), _day(self.created_to, "to")
        return RunFilter(
            agent=self.agent or None,
            status=status,
            created_from=datetime.combine(start, time(), UTC) if start else None,
            created_before=datetime.combine(end + timedelta(days=1), time(), UTC) if end else None,
        )

    def query(self, **extra: str) -> str:
        """The filters (and `extra`) as a query string, without the empty ones."""
        fields = {"status": self.status, "agent": self.agent, "from": self.created_from, "to": self.created_to}
        return urlencode({k: v for k, v in {**fields, **extra}.items() if v})


# The days the filters take: no run is older than the first, and the day after the last still is a date (the
# range's end is the next day's midnight).
FIRST_DAY = date(1970, 1, 1)
LAST_DAY = date.max - timedelta(days=1)


def _day(value: str, field: str) -> date | None:
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise ValidationFailed(f"{field}: {value!r} is not a date (YYYY-MM-DD).") from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ValidationFailed(f"{field}: {value!r} is out of range; pick a day from {FIRST_DAY} to {LAST_DAY}.")
    return day


@dataclass(frozen=True)
class RunRow:
    run: Run
    input_start: str
    tokens: int | None
    seconds: float | None


def run_row(run: Run) -> RunRow:
    words = run.input.split()
    start = " ".join(words[:INPUT_WORDS]) + (" …" if len(words) > INPUT_WORDS else "")
    seconds = (run.finished_at - run.started_at).total_seconds() if run.started_at and run.finished_at else None
    return RunRow(run=run, input_start=start, tokens=total_tokens(run.usage), seconds=seconds)


@router.get("/runs")
async def runs_page(request: Request, user: ConsoleUserDep) -> Response:
    params = request.query_params
    filters = RunFilters(
        status=params.get("status", ""),
        agent=params.get("agent", ""),
        created_from=params.get("from", ""),
        created_to=params.get("to", ""),
    )
    cursor = params.get("cursor") or None
    state = app_state(request)
    async with state.db.unit_of_work() as session:
        service = RunService(session, state.agents, state.settings)
        runs, next_cursor = await service.page(user, filters.where(), PAGE_SIZE, cursor)
    context = {
        "rows": [run_row(run) for run in runs],
        "filters": filters,
        "cursor": cursor,
        "next_cursor": next_cursor,
        "table_id": TABLE_ID,
        "first_day": FIRST_DAY.isoformat(),
        "last_day": LAST_DAY.isoformat(),
        "statuses": [status.value for status in RunStatus],
        "agents": sorted(
            [registered.spec.name for registered in state.agents.all()]
            + [pipeline.name for pipeline in state.agents.pipelines()]
        ),
    }
    if is_htmx(request) and request.headers.get("HX-Target") == TABLE_ID:
        return templates.TemplateResponse(request, "runs_table.html", context)
    return templates.TemplateResponse(request, "runs.html", context)
