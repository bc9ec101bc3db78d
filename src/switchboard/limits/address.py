"""Limits per client address, for the two doors anyone may knock on without a key that works: requests with a
bad API key (`auth.dependencies`) and the inbound trigger hooks (`triggers.endpoints`).

The count is shared by every process (the limiter). Once an address is over, this process also remembers it until
the limiter says a request would pass again, and refuses it from memory: a flood costs no database work at all,
neither the key lookup nor the limiter's own statement. The address is the connection's peer as the HTTP server
reports it (behind a reverse proxy, uvicorn takes it from X-Forwarded-For when the proxy is trusted: see
FORWARDED_ALLOW_IPS).
"""

from __future__ import annotations

import time

from starlette.requests import HTTPConnection

from switchboard.kit.errors import RateLimited
from switchboard.limits.limiter import Rate, RateLimiter
from switchboard.limits.refusals import wait_headers
from switchboard.observability.metrics import RATE_LIMITED

MAX_REMEMBERED = 10_000  # addresses refused from memory, at most (the oldest are forgotten first)


def client_address(connection: HTTPConnection) -> str:
    return connection.client.host if connection.client is not None else "unknown"


class AddressLimit:
    """`name`: the metric's label and the limiter key's part; `what`: the limit, as a refusal names it."""

    def __init__(self, limiter: RateLimiter, per_minute: int, name: str, what: str) -> None:
        self.limiter = limiter
        self.rate = Rate(per_minute)
        self.name = name
        self.what = what
        self._refused_until: dict[str, float] = {}  # address → time.monotonic() when it may try again

    def refuse_if_known(self, address: str) -> None:
        """Refuse an address known to be over the limit, from memory (no I/O)."""
        until = self._refused_until.get(address)
        if until is None:
            return
        wait = until - time.monotonic()
        if wait <= 0:
            del self._refused_until[address]
            return
        RATE_LIMITED.labels(self.name).inc()
        raise self._refusal(wait)

    async def count(self, address: str) -> None:
        """Count one more from the address; past the limit, remember it and refuse."""
        decision = await self.limiter.hit(f"address:{self.name}:{address}", self.rate)
        if decision.allowed:
            return
        self._remember(address, decision.retry_after)
        RATE_LIMITED.labels(self.name).inc()
        raise self._refusal(decision.retry_after)

    async def admit(self, address: str) -> None:
        self.refuse_if_known(address)
        await self.count(address)

    def _remember(self, address: str, wait: float) -> None:
        if len(self._refused_until) >= MAX_REMEMBERED:
            now = time.monotonic()
            self._refused_until = {a: u for a, u in self._refused_until.items() if u > now}
            while len(self._refused_until) >= MAX_REMEMBERED:
                del self._refused_until[next(iter(self._refused_until))]
        self._refused_until[address] = time.monotonic() + wait

    def _refusal(self, wait: float) -> RateLimited:
        return RateLimited(
            f"Too many requests from your address: {self.rate.limit} {self.what} per minute. Retry in {wait:.1f} s "
            "(the Retry-After header).",
            headers=wait_headers(wait),
        )
