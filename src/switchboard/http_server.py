"""uvicorn for `switchboard serve`: its listening sockets, bound before anything else starts, and a server that
tells the app when shutdown begins."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import socket
from types import FrameType

import uvicorn

SHUTDOWN_CONNECTIONS_SECONDS = 3


class PortUnavailable(Exception):
    """The address cannot be listened on; the message says so in one line, naming the options that change it."""


def bind_sockets(host: str, port: int) -> list[socket.socket]:
    """Bind (not yet listen on) every address `host` resolves to, as asyncio's `create_server` would. Done first,
    so a port already in use is one clear line before any database, key or worker, not a traceback after them."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise PortUnavailable(
            f"cannot listen on {host}: {exc.strerror}; choose another with --host or SWITCHBOARD_HOST"
        ) from None
    bound: list[socket.socket] = []
    try:
        for family, kind, proto, _, address in dict.fromkeys(infos):
            sock = socket.socket(family, kind, proto)
            bound.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(address)
    except OSError as exc:
        for sock in bound:
            sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise PortUnavailable(
                f"port {port} is already in use on {host} (is another server running?); "
                "choose another with --port or SWITCHBOARD_PORT"
            ) from None
        raise PortUnavailable(
            f"cannot listen on {host}:{port}: {exc.strerror}; choose another with --host/--port "
            "or SWITCHBOARD_HOST/SWITCHBOARD_PORT"
        ) from None
    return bound


class DrainingServer(uvicorn.Server):
    """uvicorn, telling the app when shutdown begins (SIGTERM, Ctrl-C): requests waiting for a run answer then,
    instead of holding the exit for as long as their wait (see `runs/waiting.py`)."""

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        state = getattr(getattr(self.config.app, "state", None), "switchboard", None)
        with contextlib.suppress(RuntimeError):  # no loop running yet (or any more): nothing is waiting
            if state is not None:
                asyncio.get_running_loop().call_soon_threadsafe(state.draining.set)
        super().handle_exit(sig, frame)

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started and sockets:  # uvicorn says where it listens only for the sockets it bound itself
            self._log_started_message(sockets)
