"""One registered tool run directly, as the caller (`POST /v1/tools/{name}`), with the deps it has in a run.

The tool gets `ctx.deps` as in a run (`user` = the key's user, the request id) and its own unit of work
(`ctx.deps.session`), committed only when the tool returns within its time limit, rolled back otherwise: its
database changes take effect exactly with its success, as in a run's tool-call ledger.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import structlog
from pydantic import ValidationError
from pydantic_ai import ModelRetry, RunContext
from pydantic_ai.usage import RunUsage
from pydantic_core import to_jsonable_python

from switchboard.agents.registry import AgentRegistry
from switchboard.agents.spec import AgentDeps, current_tool_session
from switchboard.auth.principal import Principal
from switchboard.auth.scopes import Scope
from switchboard.kit.db import Database, DatabaseUnavailable, database_unavailable
from switchboard.kit.errors import (
    AppError,
    BadRequest,
    Conflict,
    NotFound,
    PermissionDenied,
    ToolTimedOut,
    ValidationFailed,
)
from switchboard.observability.metrics import TOOL_CALLS, TOOL_SECONDS
from switchboard.tools.catalogue import DoorTool
from switchboard.tools.errors import ToolFailed
from switchboard.tools.schemas import ToolOut, ToolResult

log = structlog.get_logger(__name__)


def listed(agents: AgentRegistry, user: Principal) -> list[ToolOut]:
    """The tools `user` may call through the door (none for a key without `tools:call`)."""
    if not user.may(Scope.TOOLS_CALL):
        return []
    default = agents.tool_timeout_seconds
    return [
        ToolOut(
            name=t.name,
            description=t.definition.description,
            agents=list(t.agents),
            args_schema=t.definition.parameters_json_schema,
            requires_approval=t.requires_approval,
            idempotent=t.idempotent,
            timeout_seconds=t.access.limit(default),
        )
        for t in agents.tools.callable_by(user)
    ]


def door_tool(agents: AgentRegistry, user: Principal, name: str) -> DoorTool:
    """The tool `user` may call as `name`, or the error that says why not (the scope first: a narrowed key learns
    nothing about tools)."""
    if not user.may(Scope.TOOLS_CALL):
        raise PermissionDenied(f"This API key lacks the scope {Scope.TOOLS_CALL.value!r}, needed to call tools.")
    catalogue = agents.tools
    found = catalogue.find(name)
    if found is None or not found.access.door:
        if name in catalogue.ambiguous:
            raise NotFound(
                f"Several agents have a different tool named {name!r}: call one of "
                f"{', '.join(catalogue.ambiguous[name])}."
            )
        raise NotFound(f"No tool {name!r} may be called directly; GET /v1/tools lists the ones you may call.")
    if not found.access.allows(user):
        TOOL_CALLS.labels(tool=found.name, outcome="denied").inc()
        raise PermissionDenied(f"Tool {found.name!r} is for {' or '.join(found.access.roles or ())} users only.")
    if found.requires_approval:
        TOOL_CALLS.labels(tool=found.name, outcome="denied").inc()
        raise Conflict(
            f"Tool {found.name!r} needs a person's approval for each call, so it runs only inside a run: ask one of "
            f"its agents ({', '.join(found.agents)}) through POST /v1/runs and approve the call there."
        )
    return found


def validated_args(found: DoorTool, args: dict[str, Any]) -> dict[str, Any]:
    """`args` as the tool's own schema validates them; invalid → 422 naming each field as `args.<field>`."""
    try:
        validated = found.tool.function_schema.validator.validate_python(args)
    except ValidationError as invalid:
        details = [
            {"field": ".".join(["args", *(str(p) for p in error["loc"])]), "message": error["msg"]}
            for error in invalid.errors(include_url=False, include_input=False)
        ]
        fields = ", ".join(d["field"] for d in details)
        raise ValidationFailed(f"Invalid arguments for tool {found.name!r}: {fields}.", details=details) from None
    assert isinstance(validated, dict)
    return validated


async def call_tool(
    db: Database, agents: AgentRegistry, user: Principal, name: str, args: dict[str, Any], request_id: str | None
) -> ToolResult:
    found = door_tool(agents, user, name)
    validated = validated_args(found, args)
    limit = found.access.limit(agents.tool_timeout_seconds)
    deps = AgentDeps(user=user, request_id=request_id)
    ctx = RunContext[AgentDeps](
        deps=deps,
        model=found.model,
        usage=RunUsage(),
        tool_name=found.tool.name,
        tool_call_id=f"door-{uuid.uuid4().hex}",
    )
    started = time.perf_counter()
    outcome = "error"
    try:
        async with db.unit_of_work() as session:  # committed only if the call returns in time
            token = current_tool_session.set(session)
            try:
                async with asyncio.timeout(limit) as deadline:
                    result = await found.tool.function_schema.call(validated, ctx)
            except TimeoutError:
                if not deadline.expired():
                    raise
                outcome = "timeout"
                raise ToolTimedOut(
                    f"Tool {found.name!r} did not finish within its time limit of {limit:g} s; what it had changed "
                    "was rolled back."
                ) from None
            finally:
                current_tool_session.reset(token)
        outcome = "ok"
    except AppError:
        raise
    except ModelRetry as retry:
        raise ValidationFailed(f"Tool {found.name!r}: {retry.message}") from None
    except ValueError as refused:
        raise BadRequest(f"Tool {found.name!r}: {refused}") from None
    except Exception as exc:
        if database_unavailable(exc):
            outcome = "error"
            raise DatabaseUnavailable() from None  # 503 with Retry-After: the tool's changes were not made
        log.exception("tool.door_failed", tool=found.name)
        raise ToolFailed(f"Tool {found.name!r} failed; the error is in the server's log.") from None
    finally:
        elapsed = time.perf_counter() - started
        TOOL_CALLS.labels(tool=found.name, outcome=outcome).inc()
        TOOL_SECONDS.labels(tool=found.name).observe(elapsed)
        # Who called what, and how it ended (never the arguments: they may hold personal data).
        log.info("tool.door_called", tool=found.name, outcome=outcome, duration_ms=round(elapsed * 1000, 3))
    return ToolResult(tool=found.name, result=to_jsonable_python(result, fallback=str), duration_ms=elapsed * 1000)
