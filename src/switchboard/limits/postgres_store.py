"""The rate limiter's PostgreSQL store: the UNLOGGED table `rate_limit_buckets(key, tat)`, one statement per check.

A check is one UPDATE whose FROM locks the bucket's row (`FOR NO KEY UPDATE`) and so reads its latest `tat`, even
when another check committed after this statement began; `RETURNING` then has both the `tat` it found and the one
it left, so the decision and the time to wait come out of the same statement that made them. (Computing them
in an outer SELECT would read the statement's snapshot: a stale `tat`, and a wait too short.) "Now" is read
from the locked row's CTE, so once the lock is had: a check that queued on it is timed when it is decided.
Concurrent checks of one key queue on its row lock: of 50 at once against a limit of 10, exactly 10 are admitted.

A key's row is made once, the first time it is checked (an UPDATE that finds no row, an INSERT, the UPDATE
again), and rows idle for a while are pruned now and then when a new one is made. Runs in autocommit: the lock
lasts one statement, and a check costs one round trip. UNLOGGED: fast, and a crash only resets the limits.
"""

from __future__ import annotations

import time

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from switchboard.limits.limiter import Moved, RateLimiter

_HIT = text(
    """
WITH o AS (SELECT key, tat FROM rate_limit_buckets WHERE key = :key FOR NO KEY UPDATE),
n AS (SELECT clock_timestamp() AS t FROM o)
UPDATE rate_limit_buckets AS b
SET tat = CASE WHEN greatest(o.tat, n.t) + make_interval(secs => :inc) - n.t <= make_interval(secs => :tau)
               THEN greatest(o.tat, n.t) + make_interval(secs => :inc) ELSE o.tat END
FROM o, n
WHERE b.key = o.key
RETURNING extract(epoch FROM o.tat - n.t)::float8, extract(epoch FROM b.tat - n.t)::float8, b.tat <> o.tat,
  (SELECT extract(epoch FROM p.tat - n.t)::float8 FROM rate_limit_buckets AS p WHERE p.key = :peek)
"""
)
_CHARGE = text(
    """
WITH n AS (SELECT clock_timestamp() AS t)
INSERT INTO rate_limit_buckets AS b (key, tat) SELECT :key, n.t + make_interval(secs => :inc) FROM n
ON CONFLICT (key) DO UPDATE SET tat = greatest(b.tat, (SELECT t FROM n)) + make_interval(secs => :inc)
RETURNING extract(epoch FROM b.tat - (SELECT t FROM n))::float8
"""
)
_READ = text("SELECT extract(epoch FROM tat - clock_timestamp())::float8 FROM rate_limit_buckets WHERE key = :key")
# A bucket never seen is one at rest: its `tat` long past (the epoch, for arithmetic without infinities).
_MAKE = text("INSERT INTO rate_limit_buckets (key, tat) VALUES (:key, 'epoch') ON CONFLICT DO NOTHING")
_UNSEEN = -1e12  # seconds: a `tat` long past
# A row whose `tat` is past is a bucket at rest, the same as no row; rows idle this long are dropped.
_PRUNE = text("DELETE FROM rate_limit_buckets WHERE tat < clock_timestamp() - interval '10 minutes'")
PRUNE_EVERY_SECONDS = 600.0


class PostgresLimiter(RateLimiter):
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._pruned_at = time.monotonic()

    async def _hit(self, key: str, increment: float, tolerance: float, peek_key: str | None = None) -> Moved:
        # The peeked bucket is read as of the statement's start: a look, not a decision.
        params = {"key": key, "inc": increment, "tau": tolerance, "peek": peek_key}
        async with self.engine.connect() as connection:
            row = (await connection.execute(_HIT, params)).first()
            if row is None:  # the key's first check: make its row, then check as usual
                await connection.execute(_MAKE, {"key": key})
                row = (await connection.execute(_HIT, params)).first()
                await self._prune_now_and_then(connection)
        assert row is not None
        peeked = None if peek_key is None else _UNSEEN if row[3] is None else float(row[3])
        return Moved(before=row[0], after=row[1], moved=row[2], peeked=peeked)

    async def _read(self, key: str) -> float:
        async with self.engine.connect() as connection:
            before = await connection.scalar(_READ, {"key": key})
        return _UNSEEN if before is None else float(before)

    async def _charge(self, key: str, increment: float) -> Moved:
        async with self.engine.connect() as connection:
            after = await connection.scalar(_CHARGE, {"key": key, "inc": increment})
        assert after is not None
        return Moved(before=float(after) - increment, after=float(after), moved=True)

    async def _prune_now_and_then(self, connection: AsyncConnection) -> None:
        if time.monotonic() - self._pruned_at < PRUNE_EVERY_SECONDS:
            return
        self._pruned_at = time.monotonic()
        await connection.execute(_PRUNE)
