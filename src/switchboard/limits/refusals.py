"""How a rate limit refuses: 429 `rate_limited`, naming the limit, with when to come back."""

from __future__ import annotations

import math

from switchboard.kit.errors import RateLimited
from switchboard.limits.limiter import Decision


def wait_headers(retry_after: float) -> dict[str, str]:
    """`Retry-After` in whole seconds, rounded up (RFC 9110), and `retry-after-ms` (what the OpenAI SDKs read)."""
    return {"Retry-After": str(max(1, math.ceil(retry_after))), "retry-after-ms": str(math.ceil(retry_after * 1000))}


def refusal(decision: Decision, limit: str) -> RateLimited:
    """`limit`: the limit in words ("60 run-creating requests per minute (tier free)")."""
    wait = decision.retry_after
    return RateLimited(
        f"Rate limit reached: {limit}. Retry in {wait:.1f} s (the Retry-After header).",
        details={"limit": limit, "retry_after_ms": math.ceil(wait * 1000)},
        headers=wait_headers(wait),
    )
