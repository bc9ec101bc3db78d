from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.fixtures.demo import DemoUser
from tests.fixtures.server import LiveServer, free_port

SWITCHBOARD = str(Path(sys.executable).with_name("switchboard"))


def _chat(server: LiveServer, key: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")}
    env.update(SWITCHBOARD_URL=server.url, SWITCHBOARD_API_KEY=key)
    return subprocess.run([SWITCHBOARD, "chat", *args], env=env, capture_output=True, text=True, timeout=60)


def test_cli_chat_streams_the_reply_and_continues_the_thread(server: LiveServer, demo: dict[str, DemoUser]) -> None:
    key = demo["test.user@example.com"].key
    first = _chat(server, key, "What is the status of order 1?")
    assert first.returncode == 0, first.stderr
    assert "Order #1" in first.stdout
    assert "pending" in first.stdout
    assert "[tool get_order(" in first.stderr
    match = re.search(r"\[thread ([0-9a-f-]{36}) · model offline\]", first.stderr)
    assert match is not None, first.stderr

    second = _chat(server, key, "Yes, please cancel it", "--thread", match.group(1))
    assert second.returncode == 0, second.stderr
    assert "successfully cancelled" in second.stdout
    with server.client(key) as client:
        assert client.get("/demo/orders").json()[0]["status"] == "cancelled"


def test_cli_chat_reports_errors_clearly(server: LiveServer, demo: dict[str, DemoUser]) -> None:
    bad_key = _chat(server, "sb_not-a-real-key-000000", "hello")
    assert bad_key.returncode == 1
    assert "401" in bad_key.stderr
    assert "Invalid API key" in bad_key.stderr

    no_key = _chat(server, "", "hello")
    assert no_key.returncode == 2
    assert "SWITCHBOARD_API_KEY" in no_key.stderr


def test_cli_chat_with_no_server_says_so_in_one_line() -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")}
    result = subprocess.run(
        [SWITCHBOARD, "chat", "hello", "--url", url, "--key", "sb_" + "k" * 40],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        f"error: no Switchboard server is running at {url} (start one with `switchboard serve`)"
    ]
