"""Who may call a tool, whether it may be called directly (the tool door), and how long it may take: declared on
the tool as Pydantic AI tool metadata, read back from its `ToolDefinition`.

    Tool(delete_user, metadata=tool_access(roles=("admin",), timeout_seconds=10))

A tool's rights come only from its caller: the run's user inside a run, the key's user (and the key's scopes)
through the door. Nothing the model writes (a tool's arguments, a user id in them) grants anything.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from switchboard.auth.principal import Principal

ROLES = "roles"
DOOR = "door"
TIMEOUT_SECONDS = "timeout_seconds"
DELEGATE_TO = "delegate_to"  # the key `agents.delegation.agent_tool` sets (also named in agents.spec)


def tool_access(
    *,
    roles: Iterable[str] | None = None,
    door: bool = True,
    timeout_seconds: float | None = None,
    idempotent: bool | None = None,
) -> dict[str, Any]:
    """A tool's metadata (`Tool(..., metadata=tool_access(...))`).

    `roles`: the user roles that may call it (e.g. `("admin",)`); None: every signed-in user. `door`: whether it
    may be called directly through `POST /v1/tools/{name}` (False: only by a model inside a run). `timeout_seconds`:
    its time limit (None: SWITCHBOARD_TOOL_TIMEOUT_SECONDS). `idempotent`: False for a tool that must never run
    twice for one call (the ledger records its start first; see `engine.ledger`)."""
    if timeout_seconds is not None and not timeout_seconds > 0:
        raise ValueError("tool_access: timeout_seconds must be positive")
    metadata: dict[str, Any] = {DOOR: door}
    if roles is not None:
        metadata[ROLES] = tuple(roles)
        if not metadata[ROLES]:
            raise ValueError("tool_access: roles=() would let no one call the tool; leave it out for everyone")
    if timeout_seconds is not None:
        metadata[TIMEOUT_SECONDS] = float(timeout_seconds)
    if idempotent is not None:
        metadata["idempotent"] = idempotent
    return metadata


@dataclass(frozen=True)
class ToolAccess:
    roles: tuple[str, ...] | None
    door: bool
    timeout_seconds: float | None

    @classmethod
    def of(cls, metadata: Mapping[str, Any] | None, declared_timeout: float | None = None) -> ToolAccess:
        """A tool's declared access, from its metadata (and Pydantic AI's own `Tool(timeout=…)` if it has one). An
        agent called as a tool needs a run (it starts a child run), so it is never door-callable."""
        metadata = metadata or {}
        roles = metadata.get(ROLES)
        timeout = metadata.get(TIMEOUT_SECONDS, declared_timeout)
        return cls(
            roles=tuple(roles) if roles is not None else None,
            door=bool(metadata.get(DOOR, True)) and metadata.get(DELEGATE_TO) is None,
            timeout_seconds=float(timeout) if timeout is not None else None,
        )

    def allows(self, user: Principal) -> bool:
        """Whether `user` may call the tool. The admin role counts only for a principal that `is_admin` (its key,
        if narrowed, keeps the admin scope; an admin acting for someone else is that someone)."""
        if self.roles is None:
            return True
        return any(has_role(user, role) for role in self.roles)

    def limit(self, default: float) -> float:
        return self.timeout_seconds if self.timeout_seconds is not None else default


def has_role(user: Principal, role: str) -> bool:
    if role == "admin":
        return user.is_admin
    return user.role == role
