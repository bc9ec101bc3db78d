"""The current request id, for error bodies and log lines, without passing it through every call."""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar

_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)

# Up to 128 characters that are safe in headers, logs and URLs.
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


def current_request_id() -> str | None:
    return _request_id.get()


def set_request_id(value: str | None) -> None:
    _request_id.set(value)


def accept_request_id(supplied: str | None) -> str:
    """The client's id when it is safe, otherwise a fresh one."""
    if supplied is not None and _SAFE_REQUEST_ID.match(supplied):
        return supplied
    return uuid.uuid4().hex
