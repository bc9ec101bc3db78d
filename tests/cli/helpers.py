"""Running the real `switchboard` command against a live server, as a user would from a shell."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from tests.fixtures.server import LiveServer

SWITCHBOARD = str(Path(sys.executable).with_name("switchboard"))
FINISHED = ("succeeded", "failed", "cancelled", "timed_out")


def switchboard(server: LiveServer, key: str, *args: str, url: str | None = None) -> subprocess.CompletedProcess[str]:
    """`switchboard ARGS` with SWITCHBOARD_URL and SWITCHBOARD_API_KEY set (and no other SWITCHBOARD_ setting)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")}
    env.update(SWITCHBOARD_URL=url or server.url, SWITCHBOARD_API_KEY=key)
    return subprocess.run([SWITCHBOARD, *args], env=env, capture_output=True, text=True, timeout=60)


def start_run(client: httpx.Client, message: str, agent: str = "support") -> str:
    response = client.post("/v1/runs", json={"agent": agent, "message": message})
    assert response.status_code == 202, response.text
    run_id: str = response.json()["id"]
    return run_id


def wait_for(client: httpx.Client, run_id: str, statuses: tuple[str, ...] = FINISHED) -> dict[str, Any]:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        run: dict[str, Any] = client.get(f"/v1/runs/{run_id}").json()
        if run["status"] in statuses:
            return run
        time.sleep(0.05)
    raise AssertionError(f"run {run_id} did not reach {statuses}: {run}")


class DroppingProxy:
    """A TCP proxy in front of the server that cuts the first event stream (`/events`) after `keep` events, as
    a dropped connection would; it records each request's head, to see what the client resumed with."""

    def __init__(self, upstream: str, keep: int) -> None:
        host, port = upstream.removeprefix("http://").split(":")
        self.upstream = (host, int(port))
        self.keep = keep
        self.cut_done = False
        self.requests: list[str] = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.upstream)
            state = {"cutting": False}
            threading.Thread(target=self.requests_to_server, args=(client, server, state), daemon=True).start()
            threading.Thread(target=self.responses_to_client, args=(server, client, state), daemon=True).start()

    def requests_to_server(self, client: socket.socket, server: socket.socket, state: dict[str, bool]) -> None:
        while data := recv(client):
            self.requests.append(data.decode("latin-1"))
            if b"/events" in data and not self.cut_done:
                self.cut_done = state["cutting"] = True
            server.sendall(data)
        close(server)

    def responses_to_client(self, server: socket.socket, client: socket.socket, state: dict[str, bool]) -> None:
        seen = 0
        while data := recv(server):
            if state["cutting"]:
                for at in range(len(data)):  # forward up to the start of event number keep + 1, then drop
                    if data.startswith(b"id: ", at):
                        seen += 1
                        if seen > self.keep:
                            client.sendall(data[:at])
                            close(client)
                            close(server)
                            return
            client.sendall(data)
        close(client)

    def close(self) -> None:
        self.listener.close()


def recv(sock: socket.socket) -> bytes:
    try:
        return sock.recv(65536)
    except OSError:
        return b""


def close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
