"""An SMTP server on loopback (`aiosmtpd`) that keeps every message it accepts and answers DATA as the test says,
message by message: "250 OK" by default, or a refusal such as "550 mailbox unavailable". Tests are synchronous:
aiosmtpd's `Controller` runs the server in a thread with its own event loop."""

from __future__ import annotations

import email
import email.policy
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from tests.fixtures.server import free_port


@dataclass(frozen=True)
class Mail:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage  # parsed with the default policy: `get_body`, `iter_parts`, decoded headers


@dataclass
class SmtpSink:
    host: str
    port: int
    received: list[Mail] = field(default_factory=list)
    # Replies to DATA for the messages to come, in order; afterwards `default`. Anything but a 250 refuses the
    # message (it is not kept): "550 …" for good, "451 …" for now.
    script: list[str] = field(default_factory=list)
    default: str = "250 OK"
    refused: list[str] = field(default_factory=list)  # the refusals given
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            reply = self.script.pop(0) if self.script else self.default
            if not reply.startswith("250"):
                self.refused.append(reply)
                return reply
            parsed = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
            assert isinstance(parsed, EmailMessage)
            self.received.append(Mail(envelope.mail_from, list(envelope.rcpt_tos), parsed))
            return reply

    def mails(self) -> list[Mail]:
        with self.lock:
            return list(self.received)

    def wait_for(self, count: int, timeout: float = 15.0) -> list[Mail]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.mails()
            if len(got) >= count:
                return got
            time.sleep(0.02)
        raise AssertionError(f"{len(self.mails())} messages, expected {count}")


@contextmanager
def smtp_sink() -> Iterator[SmtpSink]:
    sink = SmtpSink(host="127.0.0.1", port=free_port())
    controller = Controller(sink, hostname=sink.host, port=sink.port, ready_timeout=10)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()
