"""The admin pages (admins only; to anyone else they do not exist: 404): users (tier and role), API keys (list,
revoke) and request logs (admin_logs.py). Each change goes through the service the admin API uses
(`PATCH /v1/admin/users/{id}`, `DELETE /v1/admin/keys/{id}`), and forgets cached keys when it commits."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Query, Request, Response
from fastapi.responses import RedirectResponse

from switchboard.console import admin_logs
from switchboard.console.dependencies import ConsoleAdminDep
from switchboard.console.rendering import templates
from switchboard.console.routing import ConsoleRoute, is_htmx
from switchboard.kit.pagination import CursorParam
from switchboard.state import app_state
from switchboard.users.service import ROLES, UserService

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)
router.include_router(admin_logs.router)

PAGE_SIZE = 50
MAX_ID = 2**63 - 1
UserId = Annotated[int, Path(ge=1, le=MAX_ID)]
KeyId = Annotated[int, Path(ge=1, le=MAX_ID)]


@router.get("/admin")
async def admin_home(admin: ConsoleAdminDep) -> Response:
    return RedirectResponse("/console/admin/users", status_code=303)


@router.get("/admin/users")
async def users_page(request: Request, admin: ConsoleAdminDep, cursor: CursorParam = None) -> Response:
    state = app_state(request)
    async with state.db.unit_of_work() as session:
        users, next_cursor = await UserService(session).list_users(PAGE_SIZE, cursor)
    context: dict[str, Any] = {
        "users": users,
        "next_cursor": next_cursor,
        "cursor": cursor,
        "tiers": sorted(state.settings.tiers),
        "roles": ROLES,
        "section": "users",
    }
    return templates.TemplateResponse(request, "admin_users.html", context)


@router.post("/admin/users/{user_id}")
async def update_user(
    request: Request,
    admin: ConsoleAdminDep,
    user_id: UserId,
    tier: Annotated[str, Form(max_length=32)],
    role: Annotated[str, Form(max_length=16)],
) -> Response:
    """The tier as PATCH /v1/admin/users/{id} sets it (one of SWITCHBOARD_TIERS), and the role."""
    state = app_state(request)
    async with state.db.unit_of_work() as session:
        service = UserService(session)
        user = await service.get(user_id)
        if tier != user.tier:  # an unconfigured tier the user already has is kept, not refused
            user = await service.set_limits(user_id, state.settings.tiers, tier, None, False)
        if role != user.role:
            user = await service.set_role(user_id, role, by=admin.user_id)
        state.keys.clear_on_commit(session)  # the user's keys carry their tier and role: read them afresh
        message = f"Saved {user.email}: tier {user.tier}, {user.role}."
    if not is_htmx(request):
        return RedirectResponse("/console/admin/users", status_code=303)
    context = {"u": user, "tiers": sorted(state.settings.tiers), "roles": ROLES, "message": message}
    return templates.TemplateResponse(request, "admin_user_form.html", context)


@router.get("/admin/keys")
async def keys_page(
    request: Request,
    admin: ConsoleAdminDep,
    user_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    cursor: CursorParam = None,
) -> Response:
    """Every key (or one user's), oldest first, revoked ones included: prefixes only, never a key."""
    async with app_state(request).db.unit_of_work() as session:
        service = UserService(session)
        owner = await service.get(user_id) if user_id is not None else None
        keys, next_cursor = await service.list_keys(user_id, PAGE_SIZE, cursor)
        owners = await service.users_by_id({key.user_id for key in keys})
    context: dict[str, Any] = {
        "keys": keys,
        "owners": owners,
        "owner": owner,
        "user_id": user_id,
        "next_cursor": next_cursor,
        "cursor": cursor,
        "section": "keys",
    }
    return templates.TemplateResponse(request, "admin_keys.html", context)


@router.post("/admin/keys/{key_id}/revoke")
async def revoke_key(request: Request, admin: ConsoleAdminDep, key_id: KeyId) -> Response:
    """As DELETE /v1/admin/keys/{id}: any user's key, their last one too; revoking twice changes nothing."""
    state = app_state(request)
    async with state.db.unit_of_work() as session:
        revoked = await UserService(session).revoke_key_by_id(key_id)
        state.keys.clear_on_commit(session)
        user_id = revoked.user_id
    return RedirectResponse(f"/console/admin/keys?user_id={user_id}", status_code=303)
