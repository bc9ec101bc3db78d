"""Who you are and your own API keys (`/v1/me`, `/v1/keys`), and the admins' users and keys (`/v1/admin/…`).
A key's secret is in a response once, when it is created; lists and revocations show its prefix only."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response

from switchboard.auth.dependencies import AdminDep, PrincipalDep, SessionDep
from switchboard.auth.principal import Principal, principal_of
from switchboard.kit.errors import API_ERRORS, ErrorResponse, PermissionDenied, raises
from switchboard.kit.pagination import CursorParam, LimitParam
from switchboard.limits.schemas import effective
from switchboard.limits.tiers import tier_of
from switchboard.models import ApiKey, User
from switchboard.settings import Settings
from switchboard.state import app_state
from switchboard.users.schemas import (
    KeyCreate,
    KeyOut,
    KeyPage,
    MeOut,
    NewKeyOut,
    NewUserOut,
    UserCreate,
    UserOut,
    UserPage,
    UserPatch,
)
from switchboard.users.service import IssuedKey, UserService

router = APIRouter(tags=["users and keys"], responses=API_ERRORS)
admin_router = APIRouter(prefix="/v1/admin", tags=["admin"], responses={**API_ERRORS, 403: {"model": ErrorResponse}})

MAX_ID = 2**63 - 1  # ids are BIGINT: a larger one is a 422, not a database error
KeyId = Annotated[int, Path(ge=1, le=MAX_ID, description="The key's id (see GET /v1/keys).")]
UserId = Annotated[int, Path(ge=1, le=MAX_ID, description="The user's id.")]
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorResponse}}
SECRET_HEADERS = {"Cache-Control": "no-store"}  # a response carrying a new key is not to be cached anywhere


def _key_out(api_key: ApiKey, caller: Principal) -> KeyOut:
    return KeyOut.model_validate(api_key).model_copy(update={"current": api_key.id == caller.api_key_id})


def _user_out(user: User, settings: Settings) -> UserOut:
    out = UserOut.model_validate(user)
    out.effective_limits = effective(tier_of(settings.tiers, principal_of(user)))
    return out


def _new_key_out(issued: IssuedKey) -> NewKeyOut:
    return NewKeyOut(**KeyOut.model_validate(issued.api_key).model_dump(exclude={"revoked"}), key=issued.key)


@router.get("/v1/me", summary="You: your user and the API key this request was made with")
async def me(caller: PrincipalDep, request: Request, session: SessionDep) -> MeOut:
    """With your tier, your own overrides and your effective limits (GET /v1/limits says where you stand)."""
    service = UserService(session)
    user = _user_out(await service.get(caller.user_id), app_state(request).settings)
    assert caller.api_key_id is not None  # a request's principal always comes from a key
    api_key = _key_out(await service.get_key(caller.api_key_id), caller)
    return MeOut(**user.model_dump(exclude={"is_admin"}), api_key=api_key)


@router.post(
    "/v1/keys",
    status_code=201,
    summary="Create an API key for yourself; the response shows it once",
    responses={201: {"model": NewKeyOut, "description": "The new key, in `key`: store it now."}},
)
@raises(PermissionDenied)
async def create_key(body: KeyCreate, response: Response, caller: PrincipalDep, session: SessionDep) -> NewKeyOut:
    if caller.key_daily_cost_usd is not None:
        # Each key has a budget of its own: a capped key making keys would multiply its cap.
        raise PermissionDenied(
            "This API key has a daily cost cap, so it may not create keys (each would have a budget of its own). "
            "Create keys with a key without a cap."
        )
    scopes = body.scopes
    if caller.scopes is not None:  # a narrowed key makes keys at most as wide as itself
        if scopes is None:
            scopes = sorted(caller.scopes)
        elif wider := sorted(set(scopes) - caller.scopes):
            raise PermissionDenied(
                f"This key may not create a key with scopes it lacks: {', '.join(wider)}. Use a key that has them."
            )
    service = UserService(session)
    user = await service.get(caller.user_id)
    cap = None if body.daily_cost_usd is None else round(Decimal(str(body.daily_cost_usd)), 6)
    issued = await service.issue_key(user, body.name, scopes=scopes, daily_cost_usd=cap)
    response.headers.update(SECRET_HEADERS)
    return _new_key_out(issued)


@router.get("/v1/keys", summary="Your API keys, oldest first, revoked ones included")
async def list_keys(
    caller: PrincipalDep, session: SessionDep, limit: LimitParam = 50, cursor: CursorParam = None
) -> KeyPage:
    keys, next_cursor = await UserService(session).list_keys(caller.user_id, limit, cursor)
    return KeyPage(items=[_key_out(key, caller) for key in keys], next_cursor=next_cursor)


@router.delete(
    "/v1/keys/{key_id}",
    summary="Revoke one of your API keys",
    responses={
        **NOT_FOUND,
        409: {"model": ErrorResponse, "description": "It is your last active key and `allow_lockout` is not set."},
    },
)
async def revoke_key(
    key_id: KeyId,
    request: Request,
    caller: PrincipalDep,
    session: SessionDep,
    allow_lockout: Annotated[
        bool, Query(description="Revoke it even if it is your last active key (you then have none).")
    ] = False,
) -> KeyOut:
    """Requests with the key get 401 from then on, this one excepted: revoking the key you are using is allowed.
    Revoking a revoked key changes nothing. Another user's key is not found."""
    revoked = await UserService(session).revoke_own_key(caller.user_id, key_id, allow_lockout=allow_lockout)
    app_state(request).keys.clear_on_commit(session)
    return _key_out(revoked, caller)


@admin_router.get("/users", summary="Every user, oldest first (admins only)")
async def list_users(
    admin: AdminDep, request: Request, session: SessionDep, limit: LimitParam = 50, cursor: CursorParam = None
) -> UserPage:
    users, next_cursor = await UserService(session).list_users(limit, cursor)
    settings = app_state(request).settings
    return UserPage(items=[_user_out(user, settings) for user in users], next_cursor=next_cursor)


@admin_router.get("/users/{user_id}", summary="One user, with their tier and limits (admins only)", responses=NOT_FOUND)
async def get_user(user_id: UserId, admin: AdminDep, request: Request, session: SessionDep) -> UserOut:
    return _user_out(await UserService(session).get(user_id), app_state(request).settings)


@admin_router.patch(
    "/users/{user_id}",
    summary="Set a user's tier, their own limits or their role (admins only)",
    responses={**NOT_FOUND, 409: {"model": ErrorResponse, "description": "An admin changing their own role."}},
)
async def update_user(
    user_id: UserId, body: UserPatch, admin: AdminDep, request: Request, session: SessionDep
) -> UserOut:
    """`tier`: one of the configured tiers (SWITCHBOARD_TIERS), else 422 naming them. `limits`: overrides of the
    tier's numbers for this user alone (`rpm`, `tpm`, `daily_cost_usd`, `max_concurrent_runs`); a number sets
    one, null removes it, an omitted one is left as it is; `"limits": null` removes them all. Takes effect on the
    user's next request (within a few seconds on other server processes, whose key cache must expire). `role`:
    `member` or `admin` (409 for your own: another admin must change it)."""
    state = app_state(request)
    clear = "limits" in body.model_fields_set and body.limits is None
    service = UserService(session)
    if body.role is not None:
        await service.set_role(user_id, body.role, by=admin.user_id)
    user = await service.set_limits(user_id, state.settings.tiers, body.tier, body.limits, clear)
    state.keys.clear_on_commit(session)  # the user's keys carry their tier and limits: read them afresh
    return _user_out(user, state.settings)


@admin_router.post(
    "/users",
    status_code=201,
    summary="Create a user and their first API key, shown once (admins only)",
    responses={201: {"model": NewUserOut}, 409: {"model": ErrorResponse, "description": "The email is taken."}},
)
async def create_user(
    body: UserCreate, request: Request, response: Response, admin: AdminDep, session: SessionDep
) -> NewUserOut:
    """The user's tier is SWITCHBOARD_DEFAULT_TIER (change it with PATCH /v1/admin/users/{id})."""
    service = UserService(session)
    settings = app_state(request).settings
    user = await service.create_user(body.email, body.name, admin=body.admin, tier=settings.default_tier)
    issued = await service.issue_key(user, body.key_name)
    response.headers.update(SECRET_HEADERS)
    return NewUserOut(user=_user_out(user, settings), key=_new_key_out(issued))


@admin_router.get("/users/{user_id}/keys", summary="A user's API keys (admins only)", responses=NOT_FOUND)
async def list_user_keys(
    user_id: UserId, admin: AdminDep, session: SessionDep, limit: LimitParam = 50, cursor: CursorParam = None
) -> KeyPage:
    service = UserService(session)
    await service.get(user_id)  # an unknown user is a 404, not an empty list
    keys, next_cursor = await service.list_keys(user_id, limit, cursor)
    return KeyPage(items=[_key_out(key, admin) for key in keys], next_cursor=next_cursor)


@admin_router.delete("/keys/{key_id}", summary="Revoke any user's API key (admins only)", responses=NOT_FOUND)
async def revoke_any_key(key_id: KeyId, request: Request, admin: AdminDep, session: SessionDep) -> KeyOut:
    """Also a user's last key (that may be the point). Revoking a revoked key changes nothing."""
    revoked = await UserService(session).revoke_key_by_id(key_id)
    app_state(request).keys.clear_on_commit(session)
    return _key_out(revoked, admin)
