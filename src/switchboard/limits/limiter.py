"""The rate limiter: one interface, two stores (PostgreSQL by default, Redis when SWITCHBOARD_REDIS_URL is set).

The algorithm is GCRA (the generic cell rate algorithm), the same in both stores: a bucket is one timestamp, its
theoretical arrival time `tat`. A limit of L per period P spaces units T = P/L apart and tolerates a burst of
τ = P (so L at once from a rested bucket, then one every T). A unit is admitted when `max(tat, now) + T·cost - now
≤ τ`, and then `tat` moves to `max(tat, now) + T·cost`. Unlike fixed windows there is no double burst at a window's
edge, and the state is a single value per key, changed by a single statement (or Lua script) that serialises
concurrent callers on the key.

Each store only moves `tat` and reports it relative to its own clock ("now" is the database's or Redis's, the
same for every process); what a decision means (remaining, reset, retry-after) is computed here, once.
"""

from __future__ import annotations

import math
import weakref
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING

from switchboard.kit.errors import ServiceUnavailable

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from switchboard.settings import Settings


class LimiterUnavailable(ServiceUnavailable):
    """The limiter's store (Redis) cannot be reached: a request is refused (503), as when the database is down; a
    run's model request goes on without its TPM check (see `run_gate`)."""

    def __init__(self) -> None:
        super().__init__(
            "The rate limiter's store is unavailable; nothing was done. Retry in a moment.",
            headers={"Retry-After": "2"},
        )


_EPSILON = 1e-6  # seconds: float noise in `tat - now`, far below the microsecond clocks' own resolution


@dataclass(frozen=True)
class Rate:
    """`limit` units per `period` seconds."""

    limit: int
    period: float = 60.0

    @property
    def interval(self) -> float:
        """T: the seconds one unit takes to come back."""
        return self.period / self.limit


@dataclass(frozen=True)
class Decision:
    """What a check found. Times in seconds from now."""

    allowed: bool
    limit: int
    remaining: int  # units that could be taken at once now (after this one, if it was taken)
    reset: float  # until the bucket is full again
    retry_after: float  # until this request would be admitted (0 when it was)


@dataclass(frozen=True)
class Moved:
    """A store's answer: the bucket's `tat` before and after, as seconds from the store's now (a bucket never seen
    is far in the past), and whether the check moved it."""

    before: float
    after: float
    moved: bool
    peeked: float | None = None  # another bucket's `tat - now`, when asked for


class RateLimiter(ABC):
    """`hit` takes units if they fit; `peek` says whether they would, taking nothing; `charge` takes them anyway,
    after the fact (tokens are known once the model has answered): a debt that later checks wait out."""

    async def hit(self, key: str, rate: Rate, cost: int = 1) -> Decision:
        return _hit_decision(rate, cost, await self._hit(key, rate.interval * cost, rate.period))

    async def hit_and_peek(self, key: str, rate: Rate, peek_key: str, peek_rate: Rate) -> tuple[Decision, Decision]:
        """`hit(key, rate)` and `peek(peek_key, peek_rate)` in one round trip (a request's RPM and TPM)."""
        moved = await self._hit(key, rate.interval, rate.period, peek_key)
        assert moved.peeked is not None
        return _hit_decision(rate, 1, moved), _peek_decision(peek_rate, moved.peeked, 1)

    async def peek(self, key: str, rate: Rate, cost: int = 1) -> Decision:
        return _peek_decision(rate, await self._read(key), cost)

    async def charge(self, key: str, rate: Rate, amount: int) -> Decision:
        """Add `amount` units whether or not they fit. The decision says whether one more unit would fit now."""
        moved = await self._charge(key, rate.interval * amount)
        wait = _wait(rate, moved.after, 1)
        return _decision(rate, moved.after, allowed=wait <= 0, retry_after=max(wait, 0.0))

    @abstractmethod
    async def _hit(self, key: str, increment: float, tolerance: float, peek_key: str | None = None) -> Moved:
        """Move `tat` by `increment` seconds if the result stays within `tolerance` of now; one atomic step.
        `peek_key`: also read that bucket's `tat - now` (`Moved.peeked`), in the same round trip."""

    @abstractmethod
    async def _read(self, key: str) -> float:
        """`tat - now`, taking nothing."""

    @abstractmethod
    async def _charge(self, key: str, increment: float) -> Moved:
        """Move `tat` to `max(tat, now) + increment` unconditionally; one atomic step."""

    async def aclose(self) -> None:  # noqa: B027 - most stores hold nothing of their own
        """Release the store's connections (Redis); the PostgreSQL store shares the database's pool."""


def _hit_decision(rate: Rate, cost: int, moved: Moved) -> Decision:
    if moved.moved:
        return _decision(rate, moved.after, allowed=True, retry_after=0.0)
    return _decision(rate, moved.after, allowed=False, retry_after=_wait(rate, moved.before, cost))


def _peek_decision(rate: Rate, before: float, cost: int) -> Decision:
    wait = _wait(rate, before, cost)
    return _decision(rate, before, allowed=wait <= 0, retry_after=max(wait, 0.0))


def _wait(rate: Rate, before: float, cost: int) -> float:
    """Seconds until `cost` units would fit, from a `tat` of `before` seconds from now (≤ 0: they fit now)."""
    return max(before, 0.0) + rate.interval * cost - rate.period


def _decision(rate: Rate, tat: float, *, allowed: bool, retry_after: float) -> Decision:
    used = max(tat, 0.0)
    remaining = math.floor((rate.period - used) / rate.interval + _EPSILON)
    return Decision(
        allowed=allowed,
        limit=rate.limit,
        remaining=max(0, min(rate.limit, remaining)),
        reset=used,
        retry_after=retry_after,
    )


# One limiter per database engine: the HTTP app's and a worker process's. Keyed by engine because a Redis client
# belongs to the event loop it was made in, and each engine is made and used in one loop (tests run several
# servers in one process, each in its own thread and loop).
_LIMITERS: weakref.WeakKeyDictionary[AsyncEngine, RateLimiter] = weakref.WeakKeyDictionary()


def limiter_for(engine: AsyncEngine, settings: Settings) -> RateLimiter:
    """The process's limiter for this database: Redis when `redis_url` is set, else PostgreSQL."""
    limiter = _LIMITERS.get(engine)
    if limiter is None:
        if settings.redis_url:
            from switchboard.limits.redis_store import RedisLimiter

            limiter = RedisLimiter(settings.redis_url, settings.redis_key_prefix)
        else:
            from switchboard.limits.postgres_store import PostgresLimiter

            limiter = PostgresLimiter(engine)
        _LIMITERS[engine] = limiter
    return limiter


async def close_limiter(engine: AsyncEngine) -> None:
    limiter = _LIMITERS.pop(engine, None)
    if limiter is not None:
        await limiter.aclose()
