from __future__ import annotations

from dataclasses import dataclass

from switchboard.models import User


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

    @property
    def is_admin(self) -> bool:
        return self.role == "admin" and self.acted_by_user_id is None


def principal_of(user: User, *, acted_by_user_id: int | None = None, api_key_id: int | None = None) -> Principal:
    return Principal(
        user_id=user.id,
        email=user.email,
        name=user.name,
        role=user.role,
        acted_by_user_id=acted_by_user_id,
        api_key_id=api_key_id,
    )
