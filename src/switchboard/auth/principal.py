from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from switchboard.auth.scopes import Scope
from switchboard.models import ApiKey, User


@dataclass(frozen=True)
class Principal:
    """Who a request or a run acts for. Built only from credentials, never from a request body or a model."""

    user_id: int
    email: str
    name: str
    role: str
    # When an admin acts for another user, the admin's id; the principal is then that user.
    acted_by_user_id: int | None = None
    # The API key a request came with (None for a run, which acts for its user without one).
    api_key_id: int | None = None
    # The user's tier and per-user overrides of its numbers (`limits.tiers`).
    tier: str = "free"
    limits: Mapping[str, Any] = field(default_factory=dict)
    # The key's scopes (`auth.scopes`); None: the key may do everything its user may (and a run's principal).
    scopes: frozenset[Scope] | None = None
    # The key's own daily cost cap in USD (`usage.budgets`); None: none, or no key.
    key_daily_cost_usd: Decimal | None = None

    def may(self, scope: Scope) -> bool:
        """The key allows this (a principal without a key, a run's, is its user's)."""
        return self.scopes is None or scope in self.scopes

    @property
    def is_admin(self) -> bool:
        return self.role == "admin" and self.acted_by_user_id is None and self.may(Scope.ADMIN)


def principal_of(
    user: User,
    *,
    acted_by_user_id: int | None = None,
    api_key_id: int | None = None,
    api_key: ApiKey | None = None,
    key_scopes: list[str] | None = None,
    key_daily_cost_usd: Decimal | None = None,
) -> Principal:
    """`api_key`: the key the request came with (its id, scopes and cap). `key_scopes`, `key_daily_cost_usd`: a
    run's, those of the key that created it (a run never has more rights, nor more budget, than that request)."""
    if api_key is not None:
        key_scopes, key_daily_cost_usd = api_key.scopes, api_key.daily_cost_usd
    scopes = None if key_scopes is None else frozenset(Scope(s) for s in key_scopes)
    return Principal(
        user_id=user.id,
        email=user.email,
        name=user.name,
        role=user.role,
        acted_by_user_id=acted_by_user_id,
        api_key_id=api_key.id if api_key is not None else api_key_id,
        tier=user.tier,
        limits=dict(user.limits or {}),
        scopes=scopes,
        key_daily_cost_usd=key_daily_cost_usd,
    )
