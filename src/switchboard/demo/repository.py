from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.demo.models import Order, OrderItem, Product


class OrderRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def for_user(self, user_id: int) -> list[Order]:
        return list(await self.session.scalars(select(Order).where(Order.user_id == user_id).order_by(Order.id)))

    async def owned(self, user_id: int, order_id: int, *, for_update: bool = False) -> Order | None:
        # Ownership is part of the lookup itself: another user's order is indistinguishable from none.
        query = select(Order).where(Order.id == order_id, Order.user_id == user_id)
        if for_update:
            query = query.with_for_update()
        return await self.session.scalar(query)

    async def items(self, order_ids: list[int]) -> list[tuple[OrderItem, Product]]:
        if not order_ids:
            return []
        rows = await self.session.execute(
            select(OrderItem, Product)
            .join(Product, Product.id == OrderItem.product_id)
            .where(OrderItem.order_id.in_(order_ids))
            .order_by(OrderItem.id)
        )
        return [(item, product) for item, product in rows]
