"""The support agent's tools: thin wrappers over OrderService. The customer is always `ctx.deps.user`;
no tool accepts a user id, so the model cannot act for anyone else."""

from __future__ import annotations

from typing import Any

from pydantic_ai import RunContext

from switchboard.agents.spec import AgentDeps
from switchboard.demo.service import OrderService


async def list_orders(ctx: RunContext[AgentDeps]) -> dict[str, Any]:
    """List the current customer's orders with their status, product and date."""
    orders = await OrderService(ctx.deps.session).list_orders(ctx.deps.user)
    return {"orders": [order.model_dump(mode="json") for order in orders]}


async def get_order(ctx: RunContext[AgentDeps], order_id: int) -> dict[str, Any]:
    """Look up one of the current customer's orders by its number.

    Args:
        order_id: The order number, e.g. 1 for order #1.
    """
    order = await OrderService(ctx.deps.session).get_order(ctx.deps.user, order_id)
    if order is None:
        return {"found": False, "order_id": order_id, "message": f"Order #{order_id} was not found in this account."}
    return {"found": True, "order": order.model_dump(mode="json")}


async def cancel_order(ctx: RunContext[AgentDeps], order_id: int) -> dict[str, Any]:
    """Cancel one of the current customer's orders. Only pending and processing orders can be cancelled.

    Args:
        order_id: The order number to cancel.
    """
    result = await OrderService(ctx.deps.session).cancel_order(ctx.deps.user, order_id)
    return result.model_dump(mode="json")


async def refund_order(ctx: RunContext[AgentDeps], order_id: int) -> dict[str, Any]:
    """Refund one of the current customer's shipped or delivered orders. A person must approve each refund
    before it is made (the run pauses until then).

    Args:
        order_id: The order number to refund.
    """
    result = await OrderService(ctx.deps.session).refund_order(ctx.deps.user, order_id)
    return result.model_dump(mode="json")
