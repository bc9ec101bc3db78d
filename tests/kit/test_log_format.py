"""Logs for whoever reads them: lines for humans, coloured, on a terminal; JSON lines into a file or a pipe, with
no colour codes; the same redaction in both forms."""

from __future__ import annotations

import io
import json
import logging
import os
import pty
import sys
from collections.abc import Iterator

import pytest
import structlog

from switchboard.kit.logging import configure_logging
from switchboard.settings import Settings
from tests.kit.test_log_redaction import LLM_KEY, OUR_KEY, leaks

ESC = "\x1b["


@pytest.fixture
def restore_logging(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    monkeypatch.delenv("SWITCHBOARD_LOG_FORMAT", raising=False)
    yield monkeypatch
    monkeypatch.undo()
    configure_logging()


def configure_by_default() -> None:
    """As `switchboard serve` does with no configuration."""
    settings = Settings(_env_file=None, llm_api_key=LLM_KEY)
    configure_logging(settings.log_level, settings.log_format, settings.secrets())


def log_some_secrets() -> None:
    log = structlog.get_logger("test")
    log.info("user.signed_in", api_key=OUR_KEY, note=f"sent Bearer {LLM_KEY} upstream", user_id=7)
    try:
        raise ValueError(f"provider refused {LLM_KEY.upper()}")
    except ValueError:
        log.exception("model.failed")
    logging.getLogger("httpx").warning("Authorization: %s", LLM_KEY.lower())


def test_a_terminal_gets_coloured_lines_for_humans_and_secrets_are_redacted(
    restore_logging: pytest.MonkeyPatch,
) -> None:
    controller, terminal = pty.openpty()  # a real terminal: stderr.isatty() is true, as in a shell
    with os.fdopen(terminal, "w", buffering=1) as stderr:
        restore_logging.setattr(sys, "stderr", stderr)
        configure_by_default()
        log_some_secrets()
        stderr.flush()
        os.set_blocking(controller, False)
        chunks = []
        while True:
            try:
                chunks.append(os.read(controller, 65536))
            except BlockingIOError:
                break
    os.close(controller)
    text = b"".join(chunks).decode()

    assert ESC in text  # coloured
    lines = [line for line in text.splitlines() if line.strip()]
    assert not any(line.lstrip().startswith("{") for line in lines), text  # not JSON
    assert "user.signed_in" in text
    assert "Traceback" in text
    assert "Authorization: [redacted]" in text  # a library's line, through the same renderer
    assert leaks(text) == [], text
    assert "[redacted]" in text


def test_a_file_or_pipe_gets_json_lines_without_colour_codes(restore_logging: pytest.MonkeyPatch) -> None:
    sink = io.StringIO()
    restore_logging.setattr(sys, "stderr", sink)
    configure_by_default()
    log_some_secrets()
    text = sink.getvalue()

    events = [json.loads(line) for line in text.splitlines()]  # every line is JSON
    assert [event["event"] for event in events] == ["user.signed_in", "model.failed", "Authorization: [redacted]"]
    assert events[0]["user_id"] == 7
    assert ESC not in text
    assert leaks(text) == []


def test_console_format_into_a_file_is_for_humans_without_colour_codes(restore_logging: pytest.MonkeyPatch) -> None:
    sink = io.StringIO()
    restore_logging.setattr(sys, "stderr", sink)
    configure_logging("INFO", "console", [LLM_KEY])
    log_some_secrets()
    text = sink.getvalue()

    assert "user.signed_in" in text
    assert "user_id=7" in text
    assert "Traceback" in text
    assert not text.lstrip().startswith("{")
    assert ESC not in text
    assert leaks(text) == []
