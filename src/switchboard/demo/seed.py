"""Seed 000's example data, idempotently, and an API key per demo user.

Keys are stored hashed, so they cannot be shown again; for convenience the demo remembers the keys it issued
in `<data dir>/demo-keys.json` (mode 0600) and prints them again while they still work.

A reset (`switchboard demo --reset`) empties the shop's tables and the demo users' conversations, then seeds
again: the shop is as it was first seeded, the keys stay."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import delete, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.auth.service import authenticate
from switchboard.demo.automation import OWNER, seed_automation
from switchboard.demo.knowledge_corpus import seed_knowledge_corpus
from switchboard.demo.models import Order, OrderItem, Product
from switchboard.kit.errors import Unauthenticated
from switchboard.models import Thread, User
from switchboard.plugins.spec import SeedContext
from switchboard.users.service import UserService

PRODUCTS = [
    ("KEYBOARD-MECH", "Mechanical Keyboard", 12999),
    ("WIDGET-A", "Widget A", 1999),
    ("WIDGET-B", "Widget B", 2499),
]
USERS = [
    ("test.user@example.com", "Test User", False),
    ("alice@example.com", "Alice", False),
    ("bob@example.com", "Bob", False),
    ("admin@example.com", "Demo Admin", True),
]
# (order id, owner email, status, product sku, placed at)
ORDERS = [
    (1, "test.user@example.com", "pending", "KEYBOARD-MECH", datetime(2026, 3, 1, 4, 2, tzinfo=UTC)),
    (2, "alice@example.com", "processing", "WIDGET-A", datetime(2026, 3, 2, 9, 30, tzinfo=UTC)),
    (3, "bob@example.com", "shipped", "WIDGET-B", datetime(2026, 3, 3, 15, 45, tzinfo=UTC)),
]


async def seed_demo(context: SeedContext) -> list[str]:
    session = context.session
    if context.reset:
        await _reset(session)
    users = UserService(session)
    user_ids: dict[str, int] = {}
    for email, name, admin in USERS:
        user_ids[email] = (await users.ensure_user(email, name, admin=admin)).id

    products: dict[str, Product] = {}
    for sku, name, price in PRODUCTS:
        product = await session.scalar(select(Product).where(Product.sku == sku))
        if product is None:
            product = Product(sku=sku, name=name, price_cents=price)
            session.add(product)
            await session.flush()
        products[sku] = product

    for order_id, email, status, sku, placed_at in ORDERS:
        if await session.get(Order, order_id) is not None:
            continue
        session.add(Order(id=order_id, user_id=user_ids[email], status=status, placed_at=placed_at))
        await session.flush()
        product = products[sku]
        session.add(
            OrderItem(order_id=order_id, product_id=product.id, quantity=1, unit_price_cents=product.price_cents)
        )
    await session.flush()
    # Explicit ids leave the identity sequence behind; move it past them.
    await session.execute(text("SELECT setval(pg_get_serial_sequence('orders', 'id'), (SELECT max(id) FROM orders))"))

    keys = await _demo_keys(session, context.settings.data_dir, user_ids)
    await seed_automation(session, context.settings, keys[OWNER], reset=context.reset)
    await seed_knowledge_corpus(session, context.settings, "admin@example.com", reset=context.reset)
    return [
        f"{email:<24} user_id={user_ids[email]:<4} {'admin ' if admin else 'member'} {keys[email]}"
        for email, _, admin in USERS
    ]


async def _reset(session: AsyncSession) -> None:
    """Back to what the seed below creates: its shop rows (ids restart, so order 1 is order 1 again), the demo
    users' names and roles, and no conversations of theirs (a thread's history would steer the next turns)."""
    await session.execute(text("TRUNCATE order_items, orders, products RESTART IDENTITY"))
    for email, name, admin in USERS:
        user = await session.scalar(select(User).where(User.email == email))
        if user is not None:
            user.name, user.role = name, "admin" if admin else "member"
            # Their runs, messages and events go with the threads (ON DELETE CASCADE).
            await session.execute(delete(Thread).where(Thread.user_id == user.id))
    await session.flush()


async def _demo_keys(session: AsyncSession, data_dir: Path, user_ids: dict[str, int]) -> dict[str, str]:
    path = data_dir / "demo-keys.json"
    remembered = _read_keys(path)
    users = UserService(session)
    keys: dict[str, str] = {}
    for email, user_id in user_ids.items():
        key = remembered.get(email)
        if key is not None:
            try:
                if (await authenticate(session, key)).user_id == user_id:
                    keys[email] = key
                    continue
            except Unauthenticated:
                pass
        keys[email] = (await users.issue_key(await users.get(user_id), "demo")).key
    _write_keys(path, keys)
    return keys


def _read_keys(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    loaded = json.loads(path.read_text())
    return {str(k): str(v) for k, v in loaded.items()} if isinstance(loaded, dict) else {}


def _write_keys(path: Path, keys: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        json.dump(keys, handle, indent=2)
