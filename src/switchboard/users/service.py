"""Users and their API keys: creating, issuing and revoking. SQL lives in the repository; the caller commits.
(Authenticating a key is `switchboard.auth`.)"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.auth.keys import generate_key, hash_key, visible_prefix
from switchboard.kit.clock import utc_now
from switchboard.kit.errors import Conflict, NotFound, ValidationFailed
from switchboard.models import ApiKey, User
from switchboard.users.repository import ApiKeyRepository, UserRepository


@dataclass(frozen=True)
class IssuedKey:
    key: str  # shown once, never stored
    api_key: ApiKey


class UserService:
    def __init__(self, session: AsyncSession) -> None:
        self.users = UserRepository(session)
        self.keys = ApiKeyRepository(session)

    async def create_user(self, email: str, name: str, *, admin: bool = False) -> User:
        email = email.strip().lower()
        if "@" not in email or len(email) > 320:
            raise ValidationFailed(f"{email!r} is not an email address")
        if not name.strip():
            raise ValidationFailed("name must not be empty")
        if await self.users.by_email(email) is not None:
            raise Conflict(f"a user with email {email} already exists")
        return await self.users.add(User(email=email, name=name.strip(), role="admin" if admin else "member"))

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

    async def issue_key(self, user: User, name: str = "default") -> IssuedKey:
        key = generate_key()
        api_key = await self.keys.add(
            ApiKey(user_id=user.id, name=name, prefix=visible_prefix(key), key_hash=hash_key(key))
        )
        return IssuedKey(key=key, api_key=api_key)

    async def revoke_key(self, prefix: str, now: datetime | None = None) -> ApiKey:
        api_key = await self.keys.by_prefix(prefix)
        if api_key is None:
            raise NotFound(f"no API key with prefix {prefix}")
        if api_key.revoked_at is None:
            api_key.revoked_at = now or utc_now()
        return api_key
