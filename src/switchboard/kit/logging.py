"""Structured logs (structlog): JSON lines with dotted event names, the request id bound, secrets redacted."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
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


def configure_logging(level: str = "INFO", fmt: str = "json") -> None:
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact_secrets,
    ]
    renderer: Any = structlog.processors.JSONRenderer() if fmt == "json" else structlog.dev.ConsoleRenderer()
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
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
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
