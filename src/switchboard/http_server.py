"""uvicorn for `switchboard serve`: its listening sockets, bound before anything else starts, and a server that
tells the app when shutdown begins."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import socket
from types import FrameType

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

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


class JsonErrorsH11Protocol(H11Protocol):
    """uvicorn's HTTP/1.1 protocol, answering a request it cannot parse (a malformed request line, headers larger
    than it buffers) in the API's one error shape instead of plain text: 431 for oversized headers, else 400.
    The app never sees such a request, so there is no request id."""

    def send_400_response(self, msg: str) -> None:
        buffered, _ = self.conn.trailing_data
        limit = self.config.h11_max_incomplete_event_size or h11._connection.DEFAULT_MAX_INCOMPLETE_EVENT_SIZE
        status, kind, message = (
            (431, "headers_too_large", f"The request's headers are too large (at most {limit // 1024} KiB).")
            if len(buffered) > limit
            else (400, "bad_request", "The request is not valid HTTP/1.1.")
        )
        body = json.dumps({"error": {"type": kind, "message": message, "request_id": None}}).encode()
        headers = [(b"content-type", b"application/json"), (b"connection", b"close")]
        for event in (h11.Response(status_code=status, headers=headers), h11.Data(data=body), h11.EndOfMessage()):
            self.transport.write(self.conn.send(event) or b"")
        # A lingering close: closing with the rest of the request unread would reset the connection, and the
        # client would see the reset instead of the answer. So stop writing, drop what still arrives, and close
        # when the client does (or after a second).
        self._discarding = True
        if self.transport.can_write_eof():
            self.transport.write_eof()
        asyncio.get_running_loop().call_later(LINGER_SECONDS, self.transport.close)

    def data_received(self, data: bytes) -> None:
        if getattr(self, "_discarding", False):
            return
        super().data_received(data)


LINGER_SECONDS = 1.0
