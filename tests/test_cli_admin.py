"""`switchboard --version`, `users list`, `keys list` and `demo --reset`, run for real as subprocesses."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard import __version__
from switchboard.users.service import UserService
from tests.fixtures.database import run_db
from tests.fixtures.server import LiveServer
from tests.test_cli import SEED_ORDERS, _demo_keys, _ok, switchboard

TEST_USER = "test.user@example.com"


def table(output: str) -> list[list[str]]:
    """The rows of a listing, header first, split on runs of two or more spaces."""
    return [re.split(r"\s{2,}", line.strip()) for line in output.splitlines() if line.strip()]


def test_version(db_url: str, tmp_path: Path) -> None:
    result = switchboard(db_url, tmp_path, "--version")
    assert _ok(result) == f"switchboard {__version__}\n"


def test_users_list_and_keys_list_show_keys_by_prefix_only(db_url: str, tmp_path: Path) -> None:
    async def setup(session: AsyncSession) -> dict[str, Any]:
        users = UserService(session)
        ada = await users.create_user("ada@example.com", "Ada Lovelace")
        root = await users.create_user("root@example.com", "Root", admin=True)
        laptop = await users.issue_key(ada, "laptop")
        old = await users.issue_key(ada, "old phone")
        await users.revoke_key(old.api_key.prefix)
        admin_key = await users.issue_key(root)
        return {"ada": ada.id, "root": root.id, "keys": [laptop.key, old.key, admin_key.key]}

    made = run_db(db_url, setup)
    laptop, old, admin_key = made["keys"]
    with ThreadPoolExecutor(4) as pool:
        users, adas, every, nobody = pool.map(
            lambda args: switchboard(db_url, tmp_path, *args),
            [("users", "list"), ("keys", "list", "--email", "ADA@example.com"), ("keys", "list"),
             ("keys", "list", "--email", "nobody@example.com")],
        )  # fmt: skip

    rows = table(_ok(users))
    assert rows[0] == ["ID", "EMAIL", "ROLE", "NAME", "CREATED"]
    assert [row[:4] for row in rows[1:]] == [
        [str(made["ada"]), "ada@example.com", "member", "Ada Lovelace"],
        [str(made["root"]), "root@example.com", "admin", "Root"],
    ]

    rows = table(_ok(adas))
    assert rows[0] == ["ID", "PREFIX", "NAME", "USER", "CREATED", "LAST USED", "REVOKED"]
    assert [(row[1], row[2], row[3], row[5]) for row in rows[1:]] == [
        (laptop[:12], "laptop", "ada@example.com", "-"),
        (old[:12], "old phone", "ada@example.com", "-"),
    ]
    assert rows[1][6] == "-"
    assert rows[2][6] != "-"  # revoked, with its time
    assert [row[3] for row in table(_ok(every))[1:]] == ["ada@example.com", "ada@example.com", "root@example.com"]
    for output in (adas.stdout, every.stdout, adas.stderr, every.stderr):
        for key in (laptop, old, admin_key):
            assert key[12:] not in output  # the keys themselves are never shown

    assert nobody.returncode == 1
    assert nobody.stdout == ""
    assert nobody.stderr.strip() == "error: no user with email nobody@example.com"


def shop(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the demo shop's tables, in id order (but when each order was last updated)."""
    queries = {
        "products": "SELECT * FROM products ORDER BY id",
        "orders": "SELECT id, user_id, status, placed_at FROM orders ORDER BY id",
        "order_items": "SELECT * FROM order_items ORDER BY id",
    }

    async def work(session: AsyncSession) -> dict[str, list[tuple[Any, ...]]]:
        return {name: [tuple(row) for row in await session.execute(text(sql))] for name, sql in queries.items()}

    return run_db(url, work)


def test_demo_reset_puts_the_shop_back_as_seeded(db_url: str, tmp_path: Path, server: LiveServer) -> None:
    keys = _demo_keys(_ok(switchboard(db_url, tmp_path, "demo")))
    seeded = shop(db_url)
    test_user_key = keys[TEST_USER][2]

    # Change it: over the API (the support agent cancels order 1), and in the database.
    with server.client(test_user_key) as client:
        reply = client.post("/v1/chat", json={"agent": "support", "message": "Cancel order 1"})
        assert reply.status_code == 200, reply.text
        assert client.get("/demo/orders").json()[0]["status"] == "cancelled"

    async def meddle(session: AsyncSession) -> None:
        await session.execute(text("UPDATE products SET price_cents = 1, name = 'Bargain' WHERE sku = 'WIDGET-B'"))
        await session.execute(text("UPDATE orders SET status = 'delivered' WHERE id = 3"))
        await session.execute(text("DELETE FROM order_items WHERE order_id = 2"))
        await session.execute(text("INSERT INTO orders (user_id, status) VALUES (2, 'pending')"))
        await session.execute(text("UPDATE users SET name = 'Mallory', role = 'admin' WHERE email = 'bob@example.com'"))
        other = await UserService(session).create_user("other@example.com", "Other")
        await session.execute(
            text("INSERT INTO threads (id, user_id, agent) VALUES (gen_random_uuid(), :id, 'support')"),
            {"id": other.id},
        )

    run_db(db_url, meddle)
    assert shop(db_url) != seeded

    reset = switchboard(db_url, tmp_path, "demo", "--reset")
    assert _demo_keys(_ok(reset)) == keys  # the same users and keys, still working
    assert "back to its seeded state" in reset.stderr
    assert shop(db_url) == seeded

    for email, orders in SEED_ORDERS.items():
        with server.client(keys[email][2]) as client:
            response = client.get("/demo/orders")
            assert response.status_code == 200, response.text
            assert [(o["id"], o["status"], o["product"]) for o in response.json()] == orders, email
            assert client.get("/v1/threads").json()["items"] == []  # the demo users' conversations start over
    with server.client(keys["bob@example.com"][2]) as client:
        me = client.get("/v1/me").json()
    assert (me["name"], me["role"]) == ("Bob", "member")

    async def others_threads(session: AsyncSession) -> int:
        query = (
            "SELECT count(*) FROM threads JOIN users ON users.id = threads.user_id WHERE email = 'other@example.com'"
        )
        return int(await session.scalar(text(query)) or 0)

    assert run_db(db_url, others_threads) == 1  # only the demo users' data is reset


def test_keys_create_with_scopes_stores_them_and_refuses_unknown_ones(db_url: str, tmp_path: Path) -> None:
    async def setup(session: AsyncSession) -> None:
        await UserService(session).create_user("ada@example.com", "Ada Lovelace")

    run_db(db_url, setup)
    created = switchboard(db_url, tmp_path, "keys", "create", "--email", "ada@example.com", "--scope", "tools:call")
    key = _ok(created).strip()
    assert key.startswith("sb_")

    async def scopes(session: AsyncSession) -> list[Any]:
        rows = await session.execute(text("SELECT scopes FROM api_keys WHERE prefix = :p"), {"p": key[:12]})
        return list(rows.scalars())

    assert run_db(db_url, scopes) == [["tools:call"]]
    refused = switchboard(db_url, tmp_path, "keys", "create", "--email", "ada@example.com", "--scope", "root")
    assert refused.returncode != 0
    assert "--scope" in refused.stderr
