"""What a request may carry, checked before the app parses it, for every route (plugins' included):

- a body of at most `max_body_bytes` (413), read within `body_timeout_seconds` (408): a client cannot make the
  server buffer 50 MB or wait forever for a body shorter than its Content-Length;
- a JSON body that is JSON (400 `bad_request`, whichever route it is for);
- JSON that PostgreSQL can store: no NUL character (`\\u0000`) in any string or key, and no NaN, Infinity or
  number too large for a float (`1e999`), which Python's JSON reader accepts and `jsonb` refuses (422 naming the
  field);
- JSON nested at most `MAX_DEPTH` levels (422): what is stored is returned, and Pydantic cannot write JSON
  nested much deeper (about 250 levels; beyond them a thread was created and its answer was a 500);
- query parameters without NUL characters (422 naming the parameter).

A body it has read is handed on to the app unchanged; later `receive` calls (a client disconnecting from a
stream) go through as usual. Under `raw_body_paths` (signed inbound webhooks) a body is read and bounded but not
parsed: the route checks its signature on the raw bytes first, and only a verified body is worth parsing.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from switchboard.kit.errors import (
    AppError,
    PayloadTooLarge,
    RequestTimeout,
    ValidationFailed,
    app_error_response,
    not_json,
)

NUL = "\x00"
MAX_DEPTH = 64


class RequestGuardMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        body_timeout_seconds: float,
        raw_body_paths: tuple[str, ...] = (),
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.body_timeout_seconds = body_timeout_seconds
        self.raw_body_paths = raw_body_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        try:
            _check_query(scope.get("query_string", b""))
            if not _has_body(headers):
                await self.app(scope, receive, send)
                return
            body = await self._read_body(headers, receive)
            if _is_json(headers.get("content-type")) and not scope["path"].startswith(self.raw_body_paths):
                check_json(body)
        except AppError as rejected:
            await app_error_response(rejected)(scope, receive, send)
            return
        await self.app(scope, _replaying(body, receive), send)

    async def _read_body(self, headers: Headers, receive: Receive) -> bytes:
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            raise _too_large(self.max_body_bytes)
        chunks: list[bytes] = []
        size = 0
        try:
            async with asyncio.timeout(self.body_timeout_seconds):
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        break
                    chunk = message.get("body", b"")
                    size += len(chunk)
                    if size > self.max_body_bytes:
                        raise _too_large(self.max_body_bytes)
                    chunks.append(chunk)
                    if not message.get("more_body", False):
                        break
        except TimeoutError:
            raise RequestTimeout(
                f"The request body did not arrive within {self.body_timeout_seconds:g} s "
                f"({size} bytes received{f' of {declared} declared' if declared else ''}). Send the whole body "
                "at once, with a Content-Length that matches it.",
            ) from None
        return b"".join(chunks)


def _has_body(headers: Headers) -> bool:
    length = headers.get("content-length")
    return (length is not None and length != "0") or "chunked" in headers.get("transfer-encoding", "").lower()


def _is_json(content_type: str | None) -> bool:
    media = (content_type or "application/json").split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"The request body is larger than {limit} bytes (SWITCHBOARD_MAX_BODY_BYTES).",
    )


def _replaying(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _check_query(query_string: bytes) -> None:
    if b"%00" not in query_string and b"\x00" not in query_string:
        return
    for name, value in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):
        if NUL in name or NUL in value:
            field = name.replace(NUL, "\\u0000")
            raise _invalid([(field, "contains a NUL character (\\u0000), which is not allowed")])


class _NonFinite(str):
    """A number JSON allowed and PostgreSQL's `jsonb` refuses: NaN, Infinity, or one too large for a float."""


def _finite_float(text: str) -> float | _NonFinite:
    value = float(text)
    return _NonFinite(text) if math.isinf(value) else value


def check_json(body: bytes) -> None:
    """400 for a body that is not JSON; 422 for NaN, Infinity, NUL characters and nesting deeper than MAX_DEPTH.
    A route whose body the guard passes through raw (it verifies a signature first) calls it itself after that."""
    try:
        parsed = json.loads(body, parse_constant=_NonFinite, parse_float=_finite_float)
    except UnicodeDecodeError:
        raise not_json("not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise not_json(f"{exc.msg} at character {exc.pos}") from None
    except RecursionError:  # Python's reader gives up at about 1000 levels
        raise _too_deep("body") from None
    deepest = _deeper_than(parsed, MAX_DEPTH)
    if deepest is not None:
        raise _too_deep(deepest)
    problems = list(_problems(parsed, ()))
    if problems:
        raise _invalid(problems)


def _deeper_than(value: Any, limit: int) -> str | None:
    """The first field whose arrays or objects nest deeper than `limit` (the body itself is level 1), if any.
    Walked with a stack of its own: a recursive walk would itself run out of stack on the deepest bodies."""
    pending: list[tuple[Any, int, tuple[str, ...]]] = [(value, 1, ())]
    while pending:
        node, depth, path = pending.pop()
        if not isinstance(node, dict | list):
            continue
        if depth > limit:
            return ".".join(path) or "body"
        items = node.items() if isinstance(node, dict) else enumerate(node)
        pending.extend((item, depth + 1, (*path, str(key))) for key, item in items)
    return None


def _too_deep(field: str) -> ValidationFailed:
    message = f"nested more than {MAX_DEPTH} levels deep (arrays and objects within each other)"
    return ValidationFailed(f"Invalid request: {field}: {message}", details=[{"field": field, "message": message}])


def _problems(value: Any, path: tuple[str, ...]) -> Iterator[tuple[str, str]]:
    where = ".".join(path) or "body"
    if isinstance(value, _NonFinite):
        yield where, f"{value} is not a number that can be stored (use a finite number, or a string)"
    elif isinstance(value, str):
        if NUL in value:
            yield where, "contains a NUL character (\\u0000), which is not allowed"
    elif isinstance(value, dict):
        for key, item in value.items():
            if NUL in key:
                yield where, "has a key with a NUL character (\\u0000), which is not allowed"
            yield from _problems(item, (*path, key.replace(NUL, "\\u0000")))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _problems(item, (*path, str(index)))


def _invalid(problems: list[tuple[str, str]]) -> ValidationFailed:
    details = [{"field": field, "message": message} for field, message in problems[:20]]
    summary = "; ".join(f"{field}: {message}" for field, message in problems[:5])
    return ValidationFailed(f"Invalid request: {summary}", details=details)
