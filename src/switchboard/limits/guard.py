"""The guard of every route that creates a run: the key must have the `runs:write` scope, and the user's requests
per minute (RPM) and tokens per minute (TPM) must allow it. Declared on those routes as `RunCreatorDep` in place
of `PrincipalDep`.

RPM takes one unit per request; TPM is only looked at (tokens are charged by the runs' model requests,
`limits.run_gate`), so a user deep in token debt is refused at once instead of queueing runs that would wait.
A user whose tier sets neither costs no query at all. The decision is left for `RateLimitHeaders`, which puts
`X-RateLimit-*` on the response, whatever it is (2xx, an error, a stream).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from switchboard.auth.dependencies import RunsWriterDep
from switchboard.auth.principal import Principal
from switchboard.kit.errors import RateLimited, raises
from switchboard.limits.limiter import Decision, LimiterUnavailable, Rate
from switchboard.limits.refusals import refusal
from switchboard.limits.tiers import tier_of
from switchboard.observability.metrics import RATE_LIMITED
from switchboard.state import app_state

_SLOT = "switchboard.rate_limit"  # the scope key where the middleware leaves a slot for the decision


def rpm_key(user_id: int) -> str:
    return f"user:{user_id}:rpm"


def tpm_key(user_id: int) -> str:
    return f"user:{user_id}:tpm"


@dataclass
class _Slot:
    decision: Decision | None = None
    tokens: Decision | None = None


def limit_headers(slot: _Slot) -> list[tuple[bytes, bytes]]:
    headers: list[tuple[str, object]] = []
    if slot.decision is not None:
        d = slot.decision
        headers += [("x-ratelimit-limit", d.limit), ("x-ratelimit-remaining", d.remaining)]
        headers.append(("x-ratelimit-reset", math.ceil(d.reset)))
    if slot.tokens is not None:
        t = slot.tokens
        headers += [("x-ratelimit-limit-tokens", t.limit), ("x-ratelimit-remaining-tokens", t.remaining)]
        headers.append(("x-ratelimit-reset-tokens", math.ceil(t.reset)))
    return [(name.encode(), str(value).encode()) for name, value in headers]


@raises(RateLimited, LimiterUnavailable)
async def admit_run_creator(request: Request, principal: RunsWriterDep) -> Principal:
    state = app_state(request)
    tier = tier_of(state.settings.tiers, principal)
    if tier.rpm is None and tier.tpm is None:
        return principal
    limiter = state.limits.limiter
    slot = request.scope.get(_SLOT)
    if not isinstance(slot, _Slot):  # served without the middleware (a test app): nowhere to put headers
        slot = _Slot()
    rpm = None if tier.rpm is None else (rpm_key(principal.user_id), Rate(tier.rpm))
    tpm = None if tier.tpm is None else (tpm_key(principal.user_id), Rate(tier.tpm))
    if rpm is not None and tpm is not None:  # one round trip for both
        slot.decision, slot.tokens = await limiter.hit_and_peek(*rpm, *tpm)
    elif rpm is not None:
        slot.decision = await limiter.hit(*rpm)
    elif tpm is not None:
        slot.tokens = await limiter.peek(*tpm)
    if slot.decision is not None and not slot.decision.allowed:
        RATE_LIMITED.labels("rpm").inc()
        raise refusal(slot.decision, f"{tier.rpm} run-creating requests per minute (tier {tier.name})")
    if slot.tokens is not None and not slot.tokens.allowed:
        RATE_LIMITED.labels("tpm").inc()
        raise refusal(slot.tokens, f"{tier.tpm} model tokens per minute (tier {tier.name})")
    return principal


RunCreatorDep = Annotated[Principal, Depends(admit_run_creator)]
"""The caller, allowed to create a run now: the `runs:write` scope, and within their RPM and TPM."""


class RateLimitHeaders:
    """Puts the guard's decision on the response as `X-RateLimit-Limit/-Remaining/-Reset` (RPM; `…-Tokens` for
    TPM): on every response of a guarded route, errors and streams included, since it acts on the response's
    start, whatever produced it. Pure ASGI: a stream passes through untouched."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        slot = scope[_SLOT] = _Slot()

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start" and (slot.decision is not None or slot.tokens is not None):
                message["headers"] = [*message.get("headers", []), *limit_headers(slot)]
            await send(message)

        await self.app(scope, receive, send_with_headers)
