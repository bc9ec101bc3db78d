"""The rate limiter's Redis store: the same GCRA as the PostgreSQL store, as one Lua script per check (Redis runs
a script atomically, so concurrent checks of a key serialise as they do on PostgreSQL's row lock).

A bucket is a string key holding `tat` in microseconds of Redis's own clock (`TIME`, the same for every process);
it expires once it is at rest again, so idle keys cost nothing. Keys are prefixed (SWITCHBOARD_REDIS_KEY_PREFIX)
so that several servers, or tests, can share a Redis.
"""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from switchboard.limits.limiter import LimiterUnavailable, Moved, RateLimiter

_MICRO = 1_000_000

# KEYS: the bucket, and optionally a second one to read. ARGV: op ("hit", "peek", "charge"), increment and tolerance
# in microseconds. Returns tat - now before and after (microseconds), 1 when the bucket moved, and the second
# bucket's tat - now.
_SCRIPT = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local op, inc, tau = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
local new = tat
if op == 'charge' or (op == 'hit' and math.max(tat, now) + inc - now <= tau) then
  new = math.max(tat, now) + inc
  redis.call('SET', KEYS[1], string.format('%d', new), 'PX', math.floor((new - now) / 1000) + 1000)
end
local moved = 0
if new ~= tat then moved = 1 end
local result = {tat - now, new - now, moved}
if KEYS[2] then result[4] = tonumber(redis.call('GET', KEYS[2]) or '0') - now end
return result
"""


class RedisLimiter(RateLimiter):
    def __init__(self, url: str, prefix: str) -> None:
        # Short timeouts: a Redis that does not answer makes run-creating requests 503 at once (and runs go on
        # without their TPM check), not wait redis-py's default 5 s each.
        self.client: Redis = Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self.prefix = prefix
        self.script = self.client.register_script(_SCRIPT)

    async def _run(self, op: str, key: str, increment: float, tolerance: float, peek_key: str | None = None) -> Moved:
        args: list[Any] = [op, round(increment * _MICRO), round(tolerance * _MICRO)]
        keys = [self.prefix + key] + ([] if peek_key is None else [self.prefix + peek_key])
        try:
            result = await self.script(keys=keys, args=args)
        except RedisError as exc:
            raise LimiterUnavailable from exc
        peeked = int(result[3]) / _MICRO if peek_key is not None else None
        before, after = int(result[0]) / _MICRO, int(result[1]) / _MICRO
        return Moved(before=before, after=after, moved=bool(result[2]), peeked=peeked)

    async def _hit(self, key: str, increment: float, tolerance: float, peek_key: str | None = None) -> Moved:
        return await self._run("hit", key, increment, tolerance, peek_key)

    async def _read(self, key: str) -> float:
        return (await self._run("peek", key, 0, 0)).before

    async def _charge(self, key: str, increment: float) -> Moved:
        return await self._run("charge", key, increment, 0)

    async def aclose(self) -> None:
        await self.client.aclose()
