"""`switchboard webhooks listen --register` shows a developer their deliveries, verified, with no public URL."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from typing import Any

from tests.fixtures.demo import DemoUser
from tests.fixtures.processes import COMMAND, REPO_ROOT
from tests.fixtures.server import LiveServer, free_port
from tests.notifications.conftest import finished_run

Start = Callable[..., tuple[LiveServer, dict[str, DemoUser]]]


def test_listen_registers_itself_and_prints_verified_deliveries(notifying: Start) -> None:
    server, users = notifying()
    key = users["alice@example.com"].key
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")}
    args = [*COMMAND, "webhooks", "listen", "--port", str(port), "--register", "--url", server.url, "--key", key]
    args += ["--fail", "1"]
    pipes: dict[str, Any] = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True, "env": env}
    listener = subprocess.Popen(args, cwd=REPO_ROOT, **pipes)
    try:
        with server.client(key) as alice:
            deadline = time.monotonic() + 30
            while not alice.get("/v1/webhooks").json()["items"]:
                assert listener.poll() is None, listener.communicate()
                assert time.monotonic() < deadline
                time.sleep(0.1)
            [endpoint] = alice.get("/v1/webhooks").json()["items"]
            assert endpoint["url"] == f"http://127.0.0.1:{port}/"
            run = finished_run(alice)
            deadline = time.monotonic() + 30
            while alice.get(f"/v1/runs/{run['id']}/deliveries").json()["items"][0]["status"] != "succeeded":
                assert time.monotonic() < deadline
                time.sleep(0.05)
    finally:
        listener.terminate()
        out, err = listener.communicate(timeout=10)
    lines = [line for line in out.splitlines() if run["id"] in line]
    assert len(lines) == 2, (out, err)  # the first answered 503 (--fail 1), then the retry
    assert all("run.succeeded" in line and "signature ok" in line for line in lines), out
    assert "registered webhook endpoint" in err

    # Started again on the same address: the same endpoint, with a new secret, not a second one.
    again = subprocess.Popen(
        args[:-2], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=REPO_ROOT
    )
    try:
        with server.client(key) as alice:
            deadline = time.monotonic() + 30
            while alice.get(f"/v1/webhooks/{endpoint['id']}").json()["previous_secret_expires_at"] is None:
                assert again.poll() is None, again.communicate()
                assert time.monotonic() < deadline
                time.sleep(0.1)
            assert [e["id"] for e in alice.get("/v1/webhooks").json()["items"]] == [endpoint["id"]]
    finally:
        again.terminate()
        _, err = again.communicate(timeout=10)
    assert f"using webhook endpoint {endpoint['id']}" in err
