"""The `switchboard` console script, run for real as a subprocess against the test database."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from typer.testing import CliRunner

from switchboard import cli
from switchboard.demo.models import Order, OrderItem, Product
from switchboard.migrations import runner as migrations
from switchboard.models import ApiKey, User
from switchboard.plugins.loader import load_plugins
from switchboard.settings import Settings
from switchboard.users.service import UserService
from tests.fixtures.database import execute_autocommit, run_db
from tests.fixtures.http import refused_within
from tests.fixtures.server import LiveServer

_SCRIPT = shutil.which("switchboard", path=str(Path(sys.executable).parent))
COMMAND = [_SCRIPT] if _SCRIPT else [sys.executable, "-c", "from switchboard.cli import main; main()"]

DEMO_LINE = re.compile(r"^(?P<email>\S+@\S+)\s+user_id=(?P<user_id>\d+)\s+(?P<role>member|admin)\s+(?P<key>sb_\S+)$")


def switchboard(db_url: str, data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the CLI with only this database and data dir configured (no other SWITCHBOARD_* leaks in)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")}
    env.update(SWITCHBOARD_DATABASE_URL=db_url, SWITCHBOARD_DATA_DIR=str(data_dir))
    # cwd: a directory without a .env file, so only the environment above configures it.
    return subprocess.run(
        [*COMMAND, *args], env=env, cwd=data_dir, capture_output=True, text=True, timeout=120, check=False
    )


def _ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, f"exit {result.returncode}\nstdout: {result.stdout}\nstderr: {result.stderr}"
    return result.stdout


def _user(db_url: str, email: str) -> User | None:
    async def get(session: AsyncSession) -> User | None:
        return await session.scalar(select(User).where(User.email == email))

    return run_db(db_url, get)


def _count(db_url: str, model: type[User | ApiKey | Order | OrderItem | Product]) -> int:
    async def count(session: AsyncSession) -> int:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)

    return run_db(db_url, count)


def test_users_create_prints_the_id_and_refuses_a_duplicate_email(db_url: str, tmp_path: Path) -> None:
    with ThreadPoolExecutor(2) as pool:
        member = pool.submit(
            switchboard, db_url, tmp_path, "users", "create", "--email", "Ada@Example.com", "--name", "Ada"
        )
        admin = pool.submit(
            switchboard, db_url, tmp_path, "users", "create", "--email", "root@example.com", "--name", "Root", "--admin"
        )
    member_id, admin_id = _ok(member.result()), _ok(admin.result())
    assert re.fullmatch(r"\d+\n", member_id)
    assert re.fullmatch(r"\d+\n", admin_id)

    ada, root = _user(db_url, "ada@example.com"), _user(db_url, "root@example.com")
    assert ada is not None
    assert (ada.id, ada.name, ada.role) == (int(member_id), "Ada", "member")
    assert root is not None
    assert (root.id, root.name, root.role) == (int(admin_id), "Root", "admin")

    duplicate = switchboard(db_url, tmp_path, "users", "create", "--email", "ada@example.com", "--name", "Other")
    assert duplicate.returncode == 1
    assert duplicate.stdout == ""
    assert "error: a user with email ada@example.com already exists" in duplicate.stderr
    assert "Traceback" not in duplicate.stderr
    assert _count(db_url, User) == 2


def test_keys_create_prints_only_a_working_key_and_revoke_disables_it(
    db_url: str, tmp_path: Path, make_server: Callable[..., LiveServer]
) -> None:
    server = make_server(auth_cache_seconds=0.5)  # the CLI is another process: the server notices within this time

    async def add_user(session: AsyncSession) -> None:
        await UserService(session).create_user("keys@example.com", "Key Holder")

    run_db(db_url, add_user)

    # The two failures are independent of the key being created: run all three side by side, to keep it quick.
    with ThreadPoolExecutor(3) as pool:
        creating = pool.submit(
            switchboard, db_url, tmp_path, "keys", "create", "--email", "keys@example.com", "--name", "laptop"
        )
        unknown_prefix = pool.submit(switchboard, db_url, tmp_path, "keys", "revoke", "sb_NoSuchKey")
        unknown_user = pool.submit(switchboard, db_url, tmp_path, "keys", "create", "--email", "nobody@example.com")
    created = creating.result()
    lines = _ok(created).splitlines()
    assert len(lines) == 1, created.stdout
    key = lines[0]
    assert re.fullmatch(r"sb_[A-Za-z0-9_\-]{40}", key), key
    assert key not in created.stderr  # the key is shown once, on stdout, and never logged

    async def stored(session: AsyncSession) -> list[tuple[str, str, bool]]:
        rows = await session.execute(select(ApiKey.name, ApiKey.prefix, ApiKey.revoked_at.is_(None)))
        return [(name, prefix, active) for name, prefix, active in rows]

    assert run_db(db_url, stored) == [("laptop", key[:12], True)]

    with server.client(key) as client:
        agents = client.get("/v1/agents")
        assert agents.status_code == 200, agents.text
        assert "support" in [agent["name"] for agent in agents.json()]

        revoked = switchboard(db_url, tmp_path, "keys", "revoke", key[:12])
        _ok(revoked)
        assert f"revoked {key[:12]}" in revoked.stderr

        refused = refused_within(client, "/v1/agents", seconds=0.5 + 1.0)
        assert refused.json()["error"]["type"] == "authentication_error"
        assert "revoked" in refused.json()["error"]["message"]
    assert run_db(db_url, stored) == [("laptop", key[:12], False)]

    assert unknown_prefix.result().returncode == 1
    assert "error: no API key with prefix sb_NoSuchKey" in unknown_prefix.result().stderr
    assert unknown_user.result().returncode == 1
    assert unknown_user.result().stdout == ""
    assert "error: no user with email nobody@example.com" in unknown_user.result().stderr
    assert _count(db_url, ApiKey) == 1


def _demo_keys(output: str) -> dict[str, tuple[int, str, str]]:
    """`switchboard demo`'s lines by email: (user id, role, key). Every line must be one of them."""
    found: dict[str, tuple[int, str, str]] = {}
    for line in output.splitlines():
        match = DEMO_LINE.match(line)
        assert match is not None, f"unexpected line on stdout: {line!r}"
        found[match["email"]] = (int(match["user_id"]), match["role"], match["key"])
    return found


SEED_ORDERS = {
    "test.user@example.com": [(1, "pending", "Mechanical Keyboard")],
    "alice@example.com": [(2, "processing", "Widget A")],
    "bob@example.com": [(3, "shipped", "Widget B")],
    "admin@example.com": [],
}


def test_demo_is_idempotent_and_prints_the_same_working_keys(db_url: str, tmp_path: Path, server: LiveServer) -> None:
    first = _demo_keys(_ok(switchboard(db_url, tmp_path, "demo")))
    second = _demo_keys(_ok(switchboard(db_url, tmp_path, "demo")))
    assert second == first
    assert set(first) == set(SEED_ORDERS)
    assert first["admin@example.com"][1] == "admin"
    assert {first[email][1] for email in SEED_ORDERS if email != "admin@example.com"} == {"member"}
    assert [_count(db_url, model) for model in (User, Order, OrderItem, Product)] == [4, 3, 3, 3]
    assert _count(db_url, ApiKey) == 4  # the second run issued no new keys

    for email, orders in SEED_ORDERS.items():
        with server.client(first[email][2]) as client:
            response = client.get("/demo/orders")
        assert response.status_code == 200, response.text
        assert [(o["id"], o["status"], o["product"]) for o in response.json()] == orders, email

    # A demo key that stops working is replaced on the next run; the others are printed again unchanged.
    alice_key = first["alice@example.com"][2]

    async def revoke(session: AsyncSession) -> None:
        await UserService(session).revoke_key(alice_key[:12])

    run_db(db_url, revoke)
    third = _demo_keys(_ok(switchboard(db_url, tmp_path, "demo")))
    assert third["alice@example.com"][2] != alice_key
    assert {e: v for e, v in third.items() if e != "alice@example.com"} == {
        e: v for e, v in first.items() if e != "alice@example.com"
    }
    with server.client(third["alice@example.com"][2]) as client:
        assert [o["id"] for o in client.get("/demo/orders").json()] == [2]


def test_migrate_brings_an_empty_database_to_head_and_is_idempotent(db_url: str, tmp_path: Path) -> None:
    admin_url = make_url(db_url)
    fresh_url = admin_url.set(database=f"switchboard_cli_{uuid.uuid4().hex[:8]}")
    fresh = fresh_url.render_as_string(hide_password=False)
    admin = admin_url.render_as_string(hide_password=False)

    asyncio.run(execute_autocommit(admin, f'CREATE DATABASE "{fresh_url.database}"'))
    try:
        assert asyncio.run(_pending(fresh)) != set()
        # Before migrating, commands that need the tables say what to do instead of failing with a traceback.
        early = switchboard(fresh, tmp_path, "users", "create", "--email", "early@example.com", "--name", "Early")
        assert early.returncode == 1
        assert "run `switchboard migrate` first" in early.stderr
        assert "Traceback" not in early.stderr
        with ThreadPoolExecutor(2) as pool:
            on_empty = pool.submit(switchboard, fresh, tmp_path, "migrate")
            at_head = pool.submit(switchboard, db_url, tmp_path, "migrate")
        for result in (on_empty.result(), at_head.result()):
            _ok(result)
            assert "migrations are at head" in result.stderr

        async def tables(session: AsyncSession) -> set[str]:
            return set(await session.scalars(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")))

        assert asyncio.run(_pending(fresh)) == set()
        assert {"users", "api_keys", "threads", "request_logs", "orders", "products"} <= run_db(fresh, tables)
    finally:
        asyncio.run(execute_autocommit(admin, f'DROP DATABASE IF EXISTS "{fresh_url.database}" WITH (FORCE)'))


async def _pending(url: str) -> set[str]:
    """Migration heads (the core's and every installed plugin's) the database has not reached."""
    engine = create_async_engine(url)
    try:
        return await migrations.pending_heads(
            engine, load_plugins(Settings(_env_file=None, database_url=url, plugins=[]))
        )
    finally:
        await engine.dispose()


HEAVY_MODULES = ("fastapi", "starlette", "sqlalchemy", "pydantic", "pydantic_ai", "uvicorn", "httpx", "switchboard.app")


def test_help_imports_none_of_the_heavy_libraries() -> None:
    """`switchboard --help` answers at once: the commands import FastAPI, SQLAlchemy, Pydantic AI… when they run."""
    script = (
        "import sys\n"
        "from switchboard.cli import main\n"
        "sys.argv = ['switchboard', '--help']\n"
        "try:\n"
        "    main()\n"
        "except SystemExit:\n"
        "    pass\n"
        f"print('imported:', sorted(m for m in {HEAVY_MODULES!r} if m in sys.modules), file=sys.stderr)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False)
    assert "serve" in result.stdout  # the help was printed
    assert result.stderr.strip().splitlines()[-1] == "imported: []", result.stderr


def test_help_texts_speak_to_users_not_of_the_original_seeds() -> None:
    commands = [[], *([name] for name in ("serve", "worker", "migrate", "demo", "chat")), ["users"], ["keys"]]
    commands += [["users", "create"], ["keys", "create"], ["keys", "revoke"]]
    for command in commands:
        result = CliRunner().invoke(cli.app, [*command, "--help"], terminal_width=200)
        assert result.exit_code == 0, (command, result.output)
        assert re.findall(r".{0,40}\bseed \d.{0,40}", result.output, flags=re.IGNORECASE) == [], command
