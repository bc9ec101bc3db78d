"""405 Method Not Allowed, decided once for every route, before any route (or the API key check) runs.

Starlette would answer it only when no route takes the path with this method, and with `Allow` listing the
methods of the first route on the path only. Two things go wrong with that:

- A fixed path is shadowed by a path parameter beside it: `GET /v1/runs/wait` reached `GET /v1/runs/{run_id}`
  with run_id "wait" and got a 422 for a malformed id, although `/v1/runs/wait` is a resource of its own that
  takes POST only. Here a request for a fixed path (one without parameters) is for that path's routes.
- `PATCH /v1/threads/{id}` listed `Allow: GET` where the resource also takes DELETE.

The routes are read from the app on the first request (all are added by then, plugins' included).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from fastapi.routing import iter_route_contexts
from starlette.types import ASGIApp, Receive, Scope, Send

from switchboard.kit.errors import MethodNotAllowed, app_error_response


@dataclass(frozen=True)
class _Path:
    pattern: re.Pattern[str]
    methods: frozenset[str]


@dataclass(frozen=True)
class RouteTable:
    fixed: dict[str, frozenset[str]]  # a path without parameters → its methods
    parametrised: list[_Path]

    @classmethod
    def of(cls, app: ASGIApp) -> RouteTable:
        fixed: dict[str, frozenset[str]] = {}
        parametrised: list[_Path] = []
        for route in iter_route_contexts(getattr(app, "routes", [])):
            methods, pattern = route.methods, getattr(route, "path_regex", None)
            if not methods or pattern is None:  # mounts, websockets: not ours to answer for
                continue
            if route.param_convertors:
                parametrised.append(_Path(pattern, frozenset(methods)))
            elif route.path is not None:
                fixed[route.path] = fixed.get(route.path, frozenset()) | frozenset(methods)
        return cls(fixed, parametrised)

    def allowed(self, path: str) -> frozenset[str]:
        """The methods of the resource at `path` (none: there is no such resource, a 404)."""
        if path in self.fixed:
            return self.fixed[path]
        return frozenset().union(*(p.methods for p in self.parametrised if p.pattern.match(path)))


class MethodCheckMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.table: RouteTable | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not _cors_preflight(scope):
            if self.table is None:
                self.table = RouteTable.of(scope["app"])
            path = _route_path(scope)
            allowed = self.table.allowed(path)
            if allowed and scope["method"] not in allowed:
                await app_error_response(MethodNotAllowed.of(scope["method"], path, allowed))(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _route_path(scope: Scope) -> str:
    """The path the routes match: without the root path a proxy may have put before it (as Starlette does)."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root) and path[len(root) : len(root) + 1] in ("/", ""):
        return path[len(root) :]
    return path


def _cors_preflight(scope: Scope) -> bool:
    """A browser's CORS preflight (OPTIONS with Origin and Access-Control-Request-Method) is a CORS middleware's
    to answer, wherever it sits among the middlewares."""
    if scope["method"] != "OPTIONS":
        return False
    names = {name for name, _ in scope["headers"]}
    return b"origin" in names and b"access-control-request-method" in names
