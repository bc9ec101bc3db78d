"""Authentication: an API key in, the principal it stands for out. Keys are stored hashed; the caller commits."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.auth.key_cache import KeyCache
from switchboard.auth.keys import hash_key
from switchboard.auth.principal import Principal, principal_of
from switchboard.kit.clock import utc_now
from switchboard.kit.errors import Unauthenticated
from switchboard.models import ApiKey, User

# last_used_at is a hint, not an audit trail: write it at most once a minute per key (and, with the key cache,
# only when the key is read from the database: a minute and a few seconds at worst).
LAST_USED_RESOLUTION = timedelta(seconds=60)


async def authenticate(
    session: AsyncSession, key: str, now: datetime | None = None, cache: KeyCache | None = None
) -> Principal:
    """The key's principal, read from the database; remembered in `cache` (see `key_cache`), where the caller
    looks first."""
    digest = hash_key(key)
    generation = cache.generation if cache is not None else 0
    query = select(ApiKey, User).join(User, User.id == ApiKey.user_id).where(ApiKey.key_hash == digest)
    row = (await session.execute(query)).first()
    if row is None:
        raise Unauthenticated("Invalid API key. Create one with `switchboard keys create --email E`.")
    api_key, user = row
    if api_key.revoked_at is not None:
        raise Unauthenticated(f"API key {api_key.prefix}… was revoked. Use another key.")
    now = now or utc_now()
    if api_key.last_used_at is None or now - api_key.last_used_at >= LAST_USED_RESOLUTION:
        api_key.last_used_at = now
    principal = principal_of(user, api_key=api_key)
    if cache is not None:
        cache.put(key, principal, generation)
    return principal
