"""Seed 000's order rules. Every method takes the principal; orders outside it are "not found"."""

from __future__ import annotations

from enum import StrEnum

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
        moved, status = await self._move(user, order_id, OrderStatus.CANCELLED, CANCELLABLE)
        outcome, message = {
            _Moved.NOT_FOUND: (CancelOutcome.NOT_FOUND, _not_found(order_id)),
            _Moved.ALREADY: (CancelOutcome.ALREADY_CANCELLED, f"Order #{order_id} is already cancelled."),
            _Moved.NOT_ALLOWED: (
                CancelOutcome.NOT_CANCELLABLE,
                f"Order #{order_id} has already been {status} and cannot be cancelled.",
            ),
            _Moved.DONE: (CancelOutcome.CANCELLED, f"Order #{order_id} has been cancelled."),
        }[moved]
        return CancelResult(order_id=order_id, outcome=outcome, status=status, message=message)

    async def refund_order(self, user: Principal, order_id: int) -> RefundResult:
        """Refund a shipped or delivered order (pending and processing ones are cancelled instead)."""
        moved, status = await self._move(user, order_id, OrderStatus.REFUNDED, REFUNDABLE)
        outcome, message = {
            _Moved.NOT_FOUND: (RefundOutcome.NOT_FOUND, _not_found(order_id)),
            _Moved.ALREADY: (RefundOutcome.ALREADY_REFUNDED, f"Order #{order_id} was already refunded."),
            _Moved.NOT_ALLOWED: (
                RefundOutcome.NOT_REFUNDABLE,
                f"Order #{order_id} is {status}: only shipped or delivered orders can be refunded "
                "(a pending or processing order can be cancelled instead).",
            ),
            _Moved.DONE: (RefundOutcome.REFUNDED, f"Order #{order_id} has been refunded."),
        }[moved]
        return RefundResult(order_id=order_id, outcome=outcome, status=status, message=message)

    async def _move(
        self, user: Principal, order_id: int, to: OrderStatus, allowed: frozenset[OrderStatus]
    ) -> tuple[_Moved, OrderStatus | None]:
        """Move the user's order to `to` if its status allows it; returns what happened and its status after."""
        order = await self.orders.owned(user.user_id, order_id, for_update=True)
        if order is None:
            return _Moved.NOT_FOUND, None
        if order.status == to:
            return _Moved.ALREADY, order.status
        if order.status not in allowed:
            return _Moved.NOT_ALLOWED, order.status
        order.status = to
        await self.orders.session.flush()
        return _Moved.DONE, order.status


class _Moved(StrEnum):
    NOT_FOUND = "not_found"
    ALREADY = "already"
    NOT_ALLOWED = "not_allowed"
    DONE = "done"


def _not_found(order_id: int) -> str:
    return f"Order #{order_id} was not found in this customer's account."
