from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.kit.pagination import keyset_page
from switchboard.models import ApiKey, User


class UserRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_email(self, email: str) -> User | None:
        return await self.session.scalar(select(User).where(User.email == email.lower()))

    async def by_id(self, user_id: int) -> User | None:
        return await self.session.get(User, user_id)

    async def add_unless_email_taken(self, email: str, name: str, role: str, tier: str | None = None) -> User | None:
        """The new user, or None when the email is taken, also by a request committing at the same moment.
        `tier`: None for the column's default."""
        values = {"email": email, "name": name, "role": role} | ({} if tier is None else {"tier": tier})
        user_id = await self.session.scalar(
            pg_insert(User).values(**values).on_conflict_do_nothing(index_elements=[User.email]).returning(User.id)
        )
        return None if user_id is None else await self.session.get(User, user_id)

    async def by_ids(self, user_ids: Collection[int]) -> dict[int, User]:
        """The users with these ids, by id, in one query (unknown ids are left out)."""
        if not user_ids:
            return {}
        return {user.id: user for user in await self.session.scalars(select(User).where(User.id.in_(user_ids)))}

    async def lock(self, user_id: int) -> None:
        """Serialise changes to the user's keys until the transaction ends. Taken before this transaction's
        pending writes are flushed: the request's own key had its last_used_at set, and two requests revoking
        each other's key would otherwise each hold one key row while waiting for the other's. (NO KEY UPDATE:
        inserting rows that refer to the user is not blocked.)"""
        with self.session.no_autoflush:
            await self.session.execute(select(User.id).where(User.id == user_id).with_for_update(key_share=True))

    async def page(self, limit: int, cursor: str | None) -> tuple[list[User], str | None]:
        """Every user, oldest first."""
        return await keyset_page(self.session, select(User), [User.id], limit=limit, cursor=cursor)


class ApiKeyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_prefix(self, prefix: str) -> ApiKey | None:
        return await self.session.scalar(select(ApiKey).where(ApiKey.prefix == prefix))

    async def by_id(self, key_id: int) -> ApiKey | None:
        return await self.session.get(ApiKey, key_id)

    async def for_user(self, user_id: int) -> list[ApiKey]:
        """The user's keys as committed now (objects already loaded, such as the request's key, are refreshed)."""
        query = select(ApiKey).where(ApiKey.user_id == user_id).order_by(ApiKey.id)
        return list(await self.session.scalars(query.execution_options(populate_existing=True)))

    async def page(self, user_id: int | None, limit: int, cursor: str | None) -> tuple[list[ApiKey], str | None]:
        """The user's keys (everyone's when `user_id` is None), oldest first, revoked ones included."""
        query = select(ApiKey) if user_id is None else select(ApiKey).where(ApiKey.user_id == user_id)
        return await keyset_page(self.session, query, [ApiKey.id], limit=limit, cursor=cursor)

    async def add(self, key: ApiKey) -> ApiKey:
        self.session.add(key)
        await self.session.flush()
        return key
