"""`switchboard chat` with no message: the real command, its input piped, against a live server with the demo
users. Turns share one thread until `/new`; a refund waits for a y/n answer and the resumed run is followed."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from tests.fixtures.demo import DemoUser
from tests.fixtures.server import LiveServer

SWITCHBOARD = str(Path(sys.executable).with_name("switchboard"))
THREAD_ID = re.compile(r"^[0-9a-f-]{36}$")
BOB = "bob@example.com"  # owns order 3, shipped: a refund the offline rules ask approval for


def repl(server: LiveServer, key: str, lines: list[str], *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")}
    env.update(SWITCHBOARD_URL=server.url, SWITCHBOARD_API_KEY=key)
    return subprocess.run(
        [SWITCHBOARD, "chat", *args],
        input="".join(f"{line}\n" for line in lines),
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def order_statuses(server: LiveServer, key: str) -> dict[int, str]:
    with server.client(key) as client:
        return {order["id"]: order["status"] for order in client.get("/demo/orders").json()}


def test_turns_share_a_thread_until_new(server: LiveServer, demo: dict[str, DemoUser]) -> None:
    key = demo["test.user@example.com"].key
    result = repl(
        server,
        key,
        ["What is the status of order 1?", "Yes, please cancel it", "/thread", "/new", "/thread", "Hello", "/thread"],
        "--context",
        '{"page": "orders"}',
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    out = result.stdout.splitlines()
    assert '  → get_order({"order_id": 1})' in out  # the tool call, on its own line
    assert any(line.startswith("  ← get_order: ") for line in out)  # and a short result
    assert "Order #1" in result.stdout
    assert "successfully cancelled" in result.stdout  # "it": the second turn knew the first
    ids = [line for line in out if THREAD_ID.match(line)]
    assert "[a new thread starts with your next message]" in out
    assert "[no thread yet: it starts with your first message]" in out  # /thread right after /new
    first, second = ids
    assert first != second
    assert order_statuses(server, key)[1] == "cancelled"
    with server.client(key) as client:
        first_runs = client.get("/v1/runs", params={"thread_id": first}).json()["items"]
        second_runs = client.get("/v1/runs", params={"thread_id": second}).json()["items"]
        assert sorted(run["message"] for run in first_runs) == [
            "What is the status of order 1?",
            "Yes, please cancel it",
        ]
        assert [run["message"] for run in second_runs] == ["Hello"]
        # --context went with each thread's first turn
        assert client.get(f"/v1/threads/{first}").json()["context"] == {"page": "orders"}
        assert client.get(f"/v1/threads/{second}").json()["context"] == {"page": "orders"}


def test_an_approved_refund_resumes_and_is_made(server: LiveServer, demo: dict[str, DemoUser]) -> None:
    key = demo[BOB].key
    result = repl(server, key, ["Please refund order 3", "y", "/quit"])
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    out = result.stdout.splitlines()
    # The call, the question, then the resumed run: the call's result (the call is not shown twice) and the reply.
    call = out.index('  → refund_order({"order_id": 3})')
    assert out[call + 1] == 'Approve refund_order({"order_id": 3})? [y/N] y'
    assert out[call + 2].startswith("  ← refund_order: ")
    assert out.count('  → refund_order({"order_id": 3})') == 1
    assert "Done! Order #3 has been refunded." in result.stdout  # the resumed run, followed to its end
    assert order_statuses(server, key)[3] == "refunded"


def test_a_denied_refund_is_not_made_and_the_conversation_goes_on(
    server: LiveServer, demo: dict[str, DemoUser]
) -> None:
    key = demo[BOB].key
    result = repl(server, key, ["Please refund order 3", "n the parcel is still in transit", "Show me all my orders"])
    assert result.returncode == 0, result.stderr  # the input's end ends it
    assert result.stderr == ""
    assert "The refund was not made. The user denied this tool call: the parcel is still in transit" in result.stdout
    assert "  → list_orders({})" in result.stdout.splitlines()  # the next turn, on the same thread
    assert order_statuses(server, key)[3] == "shipped"


def test_errors_are_one_line_and_the_repl_goes_on(server: LiveServer, demo: dict[str, DemoUser]) -> None:
    bad = repl(server, "sb_not-a-real-key-000000", ["hello", "/thread", "/quit"])
    assert bad.returncode == 0
    [error] = bad.stderr.splitlines()
    assert error.startswith("error: 401 authentication_error: Invalid API key."), error
    assert "[no thread yet: it starts with your first message]" in bad.stdout  # still answering after the error

    # A message behind a pending approval is refused (409) in one line; the approval is then left undecided.
    key = demo[BOB].key
    paused = repl(server, key, ["Please refund order 3"])
    assert "[left undecided: run " in paused.stderr
    with server.client(key) as client:
        [run] = client.get("/v1/runs", params={"status": "requires_action"}).json()["items"]
    busy = repl(server, key, ["Show me my orders", "/quit"], "--thread", run["thread_id"])
    assert busy.returncode == 0
    [line] = busy.stderr.splitlines()
    assert line.startswith("error: 409 conflict: "), line
    assert json.dumps({"order_id": 3}) not in busy.stdout
