"""What an API key may do. A key without scopes (the default) may do everything its user may; a key with scopes
is narrowed to them. Scopes only ever take rights away: a member's key with `admin` is still a member's key."""

from __future__ import annotations

from enum import StrEnum


class Scope(StrEnum):
    RUNS_WRITE = "runs:write"  # create runs: POST /v1/runs, chat, every route that starts an agent
    TOOLS_CALL = "tools:call"  # call a tool directly: POST /v1/tools/{name}
    ADMIN = "admin"  # the admin routes, for an admin's key
