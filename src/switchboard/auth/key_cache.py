"""API keys authenticated moments ago, kept for a few seconds, so that a client sending request after request
with one key costs one database read per key every `ttl` seconds, not one per request.

Revocation stays prompt: in the process that revoked a key (or changed a user), at once — the cache is cleared
when that change commits (`clear_on_commit`); in every other process, within `ttl` seconds. A read that was
under way while the cache was cleared is not kept (it may have seen the key before the change).
"""

from __future__ import annotations

import time
from collections import OrderedDict

from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.auth.keys import hash_key
from switchboard.auth.principal import Principal
from switchboard.kit.db import on_commit


class KeyCache:
    def __init__(self, ttl: float, max_entries: int = 10_000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self.generation = 0  # bumped by `clear`: a read begun before it is not stored
        self._entries: OrderedDict[str, tuple[float, Principal]] = OrderedDict()

    def get(self, key: str) -> Principal | None:
        """The key's principal if it was authenticated less than `ttl` seconds ago (kept by the key's digest, as
        in the database: the cache holds no key)."""
        digest = hash_key(key)
        entry = self._entries.get(digest)
        if entry is None:
            return None
        expires, principal = entry
        if time.monotonic() >= expires:
            del self._entries[digest]
            return None
        return principal

    def put(self, key: str, principal: Principal, generation: int) -> None:
        """Keep what a read begun at `generation` found, unless the cache was cleared meanwhile."""
        if self.ttl <= 0 or generation != self.generation:
            return
        digest = hash_key(key)
        self._entries[digest] = (time.monotonic() + self.ttl, principal)
        self._entries.move_to_end(digest)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        self.generation += 1
        self._entries.clear()

    def clear_on_commit(self, session: AsyncSession) -> None:
        """Forget every key once `session`'s unit of work commits (a key revoked, a user changed)."""
        on_commit(session, self.clear)
