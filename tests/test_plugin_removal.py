"""A plugin loaded once can be left: started without it, every command says in one line which revision is
orphaned and what to do; `switchboard plugins remove` runs its downgrade (code loaded) or, with --forget, drops
only its alembic_version rows (code gone); then the server starts. The plugin is the README's own example."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.migrations.runner import alembic_config
from switchboard.plugins.loader import load_plugins
from switchboard.settings import Settings
from switchboard.users.service import UserService
from tests.fixtures.database import execute_autocommit, run_db
from tests.fixtures.http import assert_error
from tests.fixtures.processes import COMMAND, PYCACHE, REPO_ROOT
from tests.fixtures.server import free_port, live_server, make_settings

README = REPO_ROOT / "README.md"
PLUGIN = "notes_plugin:plugin"
START_SECONDS = 60


def write_readme_plugin(directory: Path) -> Path:
    """The README's `notes_plugin` (its package and its migration), copied from the README's code blocks."""
    readme = README.read_text()

    def block_after(marker: str) -> str:
        match = re.compile(r"```python\n(.*?)```", re.DOTALL).search(readme, readme.index(marker))
        assert match is not None, marker
        return match.group(1)

    package = directory / "notes_plugin"
    (package / "migrations").mkdir(parents=True)
    (package / "__init__.py").write_text(block_after("A minimal plugin, `notes_plugin/__init__.py`:"))
    (package / "migrations" / "notes_0001_notes_table.py").write_text(
        block_after("`notes_plugin/migrations/notes_0001_notes_table.py`:")
    )
    return directory


@pytest.fixture
def fresh_url(db_url: str) -> Iterator[str]:
    """An empty database of this test's own: a plugin's revisions in the session's would stop every other test."""
    admin = make_url(db_url)
    fresh = admin.set(database=f"switchboard_plugin_{uuid.uuid4().hex[:8]}")
    admin_url = admin.render_as_string(hide_password=False)
    asyncio.run(execute_autocommit(admin_url, f'CREATE DATABASE "{fresh.database}"'))
    yield fresh.render_as_string(hide_password=False)
    asyncio.run(execute_autocommit(admin_url, f'DROP DATABASE IF EXISTS "{fresh.database}" WITH (FORCE)'))


def env(url: str, data_dir: Path, plugin_dir: Path | None) -> dict[str, str]:
    """Only this database and data dir; with `plugin_dir`, the README's plugin loaded from it."""
    values = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")}
    values.pop("PYTHONDONTWRITEBYTECODE", None)
    values["PYTHONPYCACHEPREFIX"] = os.environ.get("PYTHONPYCACHEPREFIX") or str(PYCACHE)
    values.update(SWITCHBOARD_DATABASE_URL=url, SWITCHBOARD_DATA_DIR=str(data_dir))
    if plugin_dir is not None:
        values.update(PYTHONPATH=str(plugin_dir), SWITCHBOARD_PLUGINS=PLUGIN)
    return values


def cli(url: str, data_dir: Path, *args: str, plugin_dir: Path | None = None) -> subprocess.CompletedProcess[str]:
    data_dir.mkdir(exist_ok=True)
    return subprocess.run(
        [*COMMAND, *args],
        env=env(url, data_dir, plugin_dir),
        cwd=data_dir,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, f"exit {result.returncode}\nstdout: {result.stdout}\nstderr: {result.stderr}"
    return result.stderr


def one_line_error(result: subprocess.CompletedProcess[str], *must_say: str) -> str:
    """Exit 1 with exactly one line on stderr, `error: …`, saying each of `must_say`; no traceback."""
    assert result.returncode == 1, f"exit {result.returncode}\nstdout: {result.stdout}\nstderr: {result.stderr}"
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines
    for phrase in must_say:
        assert phrase in lines[0], (phrase, lines[0])
    return lines[0]


def versions(url: str) -> set[str]:
    async def work(session: AsyncSession) -> set[str]:
        return set(await session.scalars(text("SELECT version_num FROM alembic_version")))

    return run_db(url, work)


def has_notes_table(url: str) -> bool:
    async def work(session: AsyncSession) -> bool:
        return bool(await session.scalar(text("SELECT to_regclass('notes') IS NOT NULL")))

    return run_db(url, work)


def user_with_key(url: str) -> str:
    async def work(session: AsyncSession) -> str:
        users = UserService(session)
        return (await users.issue_key(await users.create_user("after@example.com", "After"), "test")).key

    return run_db(url, work)


def _heads_without_plugins() -> set[str]:
    """The heads of the core and the installed plugins' branches, as the code has them (no test plugin)."""
    plugins = load_plugins(Settings(_env_file=None, plugins=[]))
    return set(ScriptDirectory.from_config(alembic_config(plugins)).get_heads())


CORE_AND_DEMO = _heads_without_plugins()
ORPHANED = ("notes_0001", "SWITCHBOARD_PLUGINS", "`switchboard plugins remove notes_0001`")


def test_started_without_its_code_every_command_names_the_plugin_in_one_line_and_forget_lets_it_go(
    fresh_url: str, tmp_path: Path
) -> None:
    plugin_dir = write_readme_plugin(tmp_path / "plugin")
    data = tmp_path / "data"
    ok(cli(fresh_url, data, "migrate", plugin_dir=plugin_dir))
    assert "notes_0001" in versions(fresh_url)
    assert has_notes_table(fresh_url)

    # The plugin's code is gone: `make serve` (serve --demo), the worker and the other commands all say the same.
    commands = [
        ("migrate",),
        ("serve", "--demo", "--port", str(free_port())),
        ("worker", "--drain"),
        ("users", "list"),
        ("demo",),
    ]
    with ThreadPoolExecutor(len(commands)) as pool:
        results = list(pool.map(lambda args: cli(fresh_url, data, *args), commands))
    for args, result in zip(commands, results, strict=True):
        assert "Traceback" not in result.stderr, args
        one_line_error(result, *ORPHANED)

    # A server started anyway (no migration at start-up) says it on /ready.
    with live_server(make_settings(fresh_url, tmp_path / "live")) as server, server.client() as client:
        error = assert_error(client.get("/ready"), 503, "unavailable")
    assert "notes_0001" in error["message"]

    # Without the code there is no downgrade: say so, and what --forget does.
    one_line_error(cli(fresh_url, data, "plugins", "remove", "notes"), "--forget", "tables")
    one_line_error(cli(fresh_url, data, "plugins", "remove", "nothing_like_it"), "notes_0001")
    assert "notes_0001" in versions(fresh_url)

    forgotten = ok(cli(fresh_url, data, "plugins", "remove", "notes", "--forget"))
    assert "notes_0001" in forgotten
    assert "tables" in forgotten
    assert versions(fresh_url) == CORE_AND_DEMO
    assert has_notes_table(fresh_url)  # only the version rows went: the tables stay, as it said

    # The server starts and works.
    port = free_port()
    log = (tmp_path / "serve.stderr").open("w")
    serve = subprocess.Popen(
        [*COMMAND, "serve", "--port", str(port)], env=env(fresh_url, data, None), cwd=data, stderr=log
    )
    try:
        deadline = time.monotonic() + START_SECONDS
        while True:
            assert serve.poll() is None, (tmp_path / "serve.stderr").read_text()[-3000:]
            try:
                if httpx.get(f"http://127.0.0.1:{port}/ready", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, (tmp_path / "serve.stderr").read_text()[-3000:]
            time.sleep(0.2)
        key = user_with_key(fresh_url)
        agents = httpx.get(f"http://127.0.0.1:{port}/v1/agents", headers={"Authorization": f"Bearer {key}"})
        assert agents.status_code == 200, agents.text
        assert "support" in [agent["name"] for agent in agents.json()]
        assert "notes" not in [agent["name"] for agent in agents.json()]
    finally:
        serve.send_signal(signal.SIGTERM)
        serve.wait(30)
        log.close()


def test_with_its_code_loaded_remove_runs_the_plugins_downgrade(fresh_url: str, tmp_path: Path) -> None:
    plugin_dir = write_readme_plugin(tmp_path / "plugin")
    data = tmp_path / "data"
    ok(cli(fresh_url, data, "migrate", plugin_dir=plugin_dir))

    # --forget is for code that is gone: with the plugin loaded it would only strand its tables.
    one_line_error(cli(fresh_url, data, "plugins", "remove", "notes", "--forget", plugin_dir=plugin_dir), "loaded")
    assert "notes_0001" in versions(fresh_url)

    removed = ok(cli(fresh_url, data, "plugins", "remove", "notes", plugin_dir=plugin_dir))
    assert "downgraded notes_0001" in removed
    assert "SWITCHBOARD_PLUGINS" in removed  # and to stop loading it
    assert versions(fresh_url) == CORE_AND_DEMO
    assert not has_notes_table(fresh_url)  # its own downgrade dropped its table
    again = ok(cli(fresh_url, data, "plugins", "remove", "notes_0001", plugin_dir=plugin_dir))
    assert "nothing to remove" in again

    # Without the plugin, everything starts.
    ok(cli(fresh_url, data, "migrate"))
    key = user_with_key(fresh_url)
    with live_server(make_settings(fresh_url, tmp_path / "live")) as server, server.client(key) as client:
        assert client.get("/ready").status_code == 200
        assert client.get("/v1/me").json()["email"] == "after@example.com"

    # And the plugin can come back: its migration applies again.
    ok(cli(fresh_url, data, "migrate", plugin_dir=plugin_dir))
    assert "notes_0001" in versions(fresh_url)
    assert has_notes_table(fresh_url)
