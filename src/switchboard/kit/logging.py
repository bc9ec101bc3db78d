"""Structured logs (structlog): dotted event names, the request id bound (and the trace and span ids while tracing
is on), secrets redacted after formatting (tracebacks included). JSON lines, or lines for humans (coloured only on
a terminal)."""

from __future__ import annotations

import base64
import logging
import re
import sys
from collections.abc import Callable, Iterable, MutableMapping
from typing import Any

import structlog

REDACTED = "[redacted]"
_SECRET_FIELDS = re.compile(r"(authorization|api_?key|password|secret|token)", re.IGNORECASE)
# Our own key format and bearer credentials, wherever they appear inside a value.
_SECRET_VALUES = re.compile(r"(sb_[A-Za-z0-9_\-]{8,}|Bearer\s+\S+)")


def redact_value(value: Any) -> Any:
    """Our key format and bearer credentials removed from strings, also inside dicts, lists and tuples."""
    if isinstance(value, str):
        return _SECRET_VALUES.sub(REDACTED, value)
    if isinstance(value, dict):
        return {k: REDACTED if _SECRET_FIELDS.search(str(k)) else redact_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(redact_value(item) for item in value)
    return value


def redact_secrets(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in list(event):
        if _SECRET_FIELDS.search(key) and key != "event":
            event[key] = REDACTED
        else:
            event[key] = redact_value(event[key])
    return event


def secret_variants(secret: str) -> set[str]:
    """The forms a secret can take in text it ends up in: as is, in either case, base64-encoded (as in a Basic
    authorization header or an echoed credential)."""
    encoded = base64.b64encode(secret.encode()).decode()
    return {secret, secret.upper(), secret.lower(), encoded, encoded.rstrip("=")} - {""}


def redactor(secrets: Iterable[str]) -> Callable[[str], str]:
    """A function that removes our key format, bearer credentials and each of `secrets` (in any case, or
    base64-encoded) from a text."""
    variants = sorted({v for secret in secrets for v in secret_variants(secret)}, key=len, reverse=True)
    pattern = re.compile("|".join(re.escape(v) for v in variants), re.IGNORECASE) if variants else None

    def redact(text: str) -> str:
        text = _SECRET_VALUES.sub(REDACTED, text)
        return pattern.sub(REDACTED, text) if pattern is not None else text

    return redact


class RedactingRenderer:
    """The renderer, then redaction of the finished text: what formatting added (a traceback, an exception's
    message, SQL parameters, a library's DEBUG line) is redacted too, not only the fields we passed."""

    def __init__(self, renderer: Any, secrets: Iterable[str]) -> None:
        self.renderer = renderer
        self.redact = redactor(secrets)

    def __call__(self, logger: Any, name: str, event: MutableMapping[str, Any]) -> str:
        return self.redact(str(self.renderer(logger, name, event)))


def console_renderer(colors: bool) -> Any:
    """Lines for humans. Exceptions arrive already formatted (`format_exc_info`) and are written as plain text:
    Rich's tracebacks would show locals and wrap long values across lines, out of the redactor's reach."""
    return structlog.dev.ConsoleRenderer(colors=colors, exception_formatter=structlog.dev.plain_traceback)


def configure_logging(
    level: str = "INFO", fmt: str = "auto", secrets: Iterable[str] = (), *, trace_ids: bool = False
) -> None:
    """Logs to stderr, redacted after formatting: our key format, bearer credentials and `secrets` (the LLM
    key) in any case or base64, wherever they appear. `fmt`: "json", "console", or "auto": console when stderr
    is a terminal, JSON otherwise (a file, a pipe, a log collector). Colours only ever go to a terminal.
    `trace_ids`: each line made inside a span names it (`trace_id`, `span_id`); only while tracing is on."""
    terminal = sys.stderr.isatty()
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact_secrets,
    ]
    if trace_ids:
        from switchboard.observability.tracing import add_trace_ids

        shared.insert(1, add_trace_ids)
    console = fmt == "console" or (fmt == "auto" and terminal)
    inner: Any = console_renderer(colors=terminal) if console else structlog.processors.JSONRenderer()
    renderer = RedactingRenderer(inner, secrets)
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
    # Libraries that use the standard logging module (uvicorn, alembic) go through the same pipeline.
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                renderer,
            ],
            foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
        )
    )
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)
    for noisy in ("uvicorn.access",):  # request logging is ours (http.request)
        logging.getLogger(noisy).disabled = True
    # Alembic narrates every migration context it opens (/ready's check, the CLI) at INFO: its warnings will do.
    logging.getLogger("alembic").setLevel(max(logging.WARNING, logging.getLevelName(level)))
    # So do the HTTP clients under the model SDKs, a line per model request (rendering them took ~5% of a chat
    # turn's CPU); a run's own lines say what its model requests did. LOG_LEVEL=DEBUG shows them again.
    quiet = logging.getLevelName(level) > logging.DEBUG
    for narrating in ("httpx", "httpx2", "httpcore", "httpcore2"):
        logging.getLogger(narrating).setLevel(logging.WARNING if quiet else logging.DEBUG)
