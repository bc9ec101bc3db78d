"""Seed 000's order rules. Every method takes the principal; orders outside it are "not found"."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.auth.principal import Principal
from switchboard.demo.models import CANCELLABLE, REFUNDABLE, Order, OrderStatus
from switchboard.demo.repository import OrderRepository
from switchboard.demo.schemas import (
    CancelOutcome,
    CancelResult,
    OrderLine,
    OrderView,
    RefundOutcome,
    RefundResult,
)


class OrderService:
    def __init__(self, session: AsyncSession) -> None:
        self.orders = OrderRepository(session)

    async def _views(self, orders: list[Order]) -> list[OrderView]:
        lines: dict[int, list[OrderLine]] = {order.id: [] for order in orders}
        for item, product in await self.orders.items(list(lines)):
            lines[item.order_id].append(
                OrderLine(product=product.name, quantity=item.quantity, unit_price_cents=item.unit_price_cents)
            )
        return [
            OrderView(
                id=order.id,
                status=order.status,
                product=lines[order.id][0].product if lines[order.id] else None,
                items=lines[order.id],
                total_cents=sum(line.quantity * line.unit_price_cents for line in lines[order.id]),
                placed_at=order.placed_at,
            )
            for order in orders
        ]

    async def list_orders(self, user: Principal) -> list[OrderView]:
        return await self._views(await self.orders.for_user(user.user_id))

    async def get_order(self, user: Principal, order_id: int) -> OrderView | None:
        order = await self.orders.owned(user.user_id, order_id)
        return (await self._views([order]))[0] if order is not None else None

    async def cancel_order(self, user: Principal, order_id: int) -> CancelResult:
        order = await self.orders.owned(user.user_id, order_id, for_update=True)
        if order is None:
            return CancelResult(
                order_id=order_id,
                outcome=CancelOutcome.NOT_FOUND,
                status=None,
                message=f"Order #{order_id} was not found in this customer's account.",
            )
        if order.status == OrderStatus.CANCELLED:
            return CancelResult(
                order_id=order_id,
                outcome=CancelOutcome.ALREADY_CANCELLED,
                status=order.status,
                message=f"Order #{order_id} is already cancelled.",
            )
        if order.status not in CANCELLABLE:
            return CancelResult(
                order_id=order_id,
                outcome=CancelOutcome.NOT_CANCELLABLE,
                status=order.status,
                message=f"Order #{order_id} has already been {order.status} and cannot be cancelled.",
            )
        order.status = OrderStatus.CANCELLED
        await self.orders.session.flush()
        return CancelResult(
            order_id=order_id,
            outcome=CancelOutcome.CANCELLED,
            status=order.status,
            message=f"Order #{order_id} has been cancelled.",
        )

    async def refund_order(self, user: Principal, order_id: int) -> RefundResult:
        """Refund a shipped or delivered order (pending and processing ones are cancelled instead)."""
        order = await self.orders.owned(user.user_id, order_id, for_update=True)
        if order is None:
            return RefundResult(
                order_id=order_id,
                outcome=RefundOutcome.NOT_FOUND,
                status=None,
                message=f"Order #{order_id} was not found in this customer's account.",
            )
        if order.status == OrderStatus.REFUNDED:
            return RefundResult(
                order_id=order_id,
                outcome=RefundOutcome.ALREADY_REFUNDED,
                status=order.status,
                message=f"Order #{order_id} was already refunded.",
            )
        if order.status not in REFUNDABLE:
            return RefundResult(
                order_id=order_id,
                outcome=RefundOutcome.NOT_REFUNDABLE,
                status=order.status,
                message=f"Order #{order_id} is {order.status}: only shipped or delivered orders can be refunded "
                "(a pending or processing order can be cancelled instead).",
            )
        order.status = OrderStatus.REFUNDED
        await self.orders.session.flush()
        return RefundResult(
            order_id=order_id,
            outcome=RefundOutcome.REFUNDED,
            status=order.status,
            message=f"Order #{order_id} has been refunded.",
        )
