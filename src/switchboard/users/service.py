"""Users and their API keys: creating, listing, issuing and revoking. SQL lives in the repository; the caller
commits. (Authenticating a key is `switchboard.auth`.)"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.auth.keys import generate_key, hash_key, visible_prefix
from switchboard.auth.scopes import Scope
from switchboard.kit.clock import utc_now
from switchboard.kit.errors import Conflict, NotFound, ValidationFailed
from switchboard.limits.schemas import LimitOverrides
from switchboard.models import ApiKey, User
from switchboard.users.repository import ApiKeyRepository, UserRepository

ROLES = ("member", "admin")


@dataclass(frozen=True)
class IssuedKey:
    key: str  # shown once, never stored
    api_key: ApiKey


class UserService:
    def __init__(self, session: AsyncSession) -> None:
        self.users = UserRepository(session)
        self.keys = ApiKeyRepository(session)

    async def create_user(self, email: str, name: str, *, admin: bool = False, tier: str | None = None) -> User:
        """`tier`: the new user's (SWITCHBOARD_DEFAULT_TIER, from the callers that have settings); None: the
        column's default."""
        email = email.strip().lower()
        if "@" not in email or len(email) > 320:
            raise ValidationFailed(f"{email!r} is not an email address")
        if not name.strip():
            raise ValidationFailed("name must not be empty")
        user = await self.users.add_unless_email_taken(email, name.strip(), "admin" if admin else "member", tier)
        if user is None:
            raise Conflict(f"a user with email {email} already exists")
        return user

    async def ensure_user(self, email: str, name: str, *, admin: bool = False) -> User:
        existing = await self.users.by_email(email)
        return existing if existing is not None else await self.create_user(email, name, admin=admin)

    async def get_by_email(self, email: str) -> User:
        user = await self.users.by_email(email)
        if user is None:
            raise NotFound(f"no user with email {email.strip().lower()}")
        return user

    async def get(self, user_id: int) -> User:
        user = await self.users.by_id(user_id)
        if user is None:
            raise NotFound(f"no user with id {user_id}")
        return user

    async def set_limits(
        self, user_id: int, tiers: Collection[str], tier: str | None, overrides: LimitOverrides | None, clear: bool
    ) -> User:
        """An admin's change of a user's tier (one of `tiers`) and overrides: in `overrides`, a number sets one and
        a null removes it, the others are left; `clear` removes them all first (`"limits": null`)."""
        user = await self.get(user_id)
        if tier is not None:
            if tier not in tiers:
                valid = ", ".join(sorted(tiers)) or "none (SWITCHBOARD_TIERS is empty)"
                raise ValidationFailed(
                    f"Unknown tier {tier!r}. The configured tiers are: {valid}.",
                    details=[{"field": "tier", "message": f"not one of: {valid}"}],
                )
            user.tier = tier
        current: dict[str, Any] = {} if clear else dict(user.limits or {})
        if overrides is not None:
            given = overrides.model_dump(mode="json", include=overrides.model_fields_set)
            current = {name: value for name, value in (current | given).items() if value is not None}
        user.limits = current  # a new dict: the JSONB column is written
        await self.users.session.flush()
        return user

    async def set_role(self, user_id: int, role: str, *, by: int) -> User:
        """An admin's change of a user's role (`member` or `admin`); `by` (the admin) cannot change their own, so
        the last admin cannot lock every admin out by mistake."""
        if role not in ROLES:
            raise ValidationFailed(
                f"role: {role!r} is not one of {', '.join(ROLES)}", details=[{"field": "role", "message": "unknown"}]
            )
        user = await self.get(user_id)
        if user.id == by and role != user.role:
            raise Conflict("You cannot change your own role: ask another admin.")
        user.role = role
        await self.users.session.flush()
        return user

    async def users_by_id(self, user_ids: Collection[int]) -> dict[int, User]:
        return await self.users.by_ids(user_ids)

    async def list_users(self, limit: int, cursor: str | None) -> tuple[list[User], str | None]:
        return await self.users.page(limit, cursor)

    async def list_keys(self, user_id: int | None, limit: int, cursor: str | None) -> tuple[list[ApiKey], str | None]:
        """A user's keys, or everyone's (`user_id` None), revoked ones included."""
        return await self.keys.page(user_id, limit, cursor)

    async def issue_key(
        self,
        user: User,
        name: str = "default",
        *,
        scopes: list[Scope] | None = None,
        daily_cost_usd: Decimal | None = None,
    ) -> IssuedKey:
        """`scopes`: what the key may do (None: everything its user may; see `auth.scopes`)."""
        key = generate_key()
        stored = None if scopes is None else sorted({scope.value for scope in scopes})
        api_key = await self.keys.add(
            ApiKey(
                user_id=user.id,
                name=name,
                prefix=visible_prefix(key),
                key_hash=hash_key(key),
                scopes=stored,
                daily_cost_usd=daily_cost_usd,
            )
        )
        return IssuedKey(key=key, api_key=api_key)

    async def get_key(self, key_id: int) -> ApiKey:
        api_key = await self.keys.by_id(key_id)
        if api_key is None:
            raise NotFound(f"no API key with id {key_id}")
        return api_key

    async def revoke_key(self, prefix: str, now: datetime | None = None) -> ApiKey:
        api_key = await self.keys.by_prefix(prefix)
        if api_key is None:
            raise NotFound(f"no API key with prefix {prefix}")
        return _revoked(api_key, now)

    async def revoke_key_by_id(self, key_id: int, now: datetime | None = None) -> ApiKey:
        """Any user's key (an admin's action): a user's last key too, since that may be the point."""
        return _revoked(await self.get_key(key_id), now)

    async def revoke_own_key(
        self, user_id: int, key_id: int, *, allow_lockout: bool = False, now: datetime | None = None
    ) -> ApiKey:
        """Revoke one of the user's keys; another user's is "not found". The user's last active key is kept
        unless `allow_lockout`: without a key, only an admin or the CLI can issue them another."""
        # One at a time per user: two requests revoking the last two keys at once cannot both see the other
        # key still active.
        await self.users.lock(user_id)
        keys = await self.keys.for_user(user_id)
        api_key = next((key for key in keys if key.id == key_id), None)
        if api_key is None:
            raise NotFound(f"no API key with id {key_id} among yours")
        others_active = any(key.revoked_at is None and key.id != key_id for key in keys)
        if api_key.revoked_at is None and not others_active and not allow_lockout:
            raise Conflict(
                f"key {key_id} ({api_key.prefix}…) is your last active key: revoking it would lock you out, and "
                "only an admin or `switchboard keys create` could issue you another. Create another key first "
                "(POST /v1/keys), or send ?allow_lockout=true"
            )
        return _revoked(api_key, now)


def _revoked(api_key: ApiKey, now: datetime | None) -> ApiKey:
    """Revoke the key if it is not already (revoking twice changes nothing, not even the time)."""
    if api_key.revoked_at is None:
        api_key.revoked_at = now or utc_now()
    return api_key
