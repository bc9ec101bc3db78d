"""Cost budgets checked before a run starts: the user's daily cap (from the tier), the agent's and the API key's.
Called by `RunService.create` in the creating transaction. (Filled in by the usage work: see issue 12.)"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from switchboard.auth.principal import Principal
from switchboard.settings import Settings


async def check_budget(connection: AsyncConnection, settings: Settings, user: Principal, agent: str) -> None:
    """Raise `BudgetExceeded` (429 `budget_exceeded`, saying when the cap resets) when a cap is reached."""
