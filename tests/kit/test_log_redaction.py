"""Secrets never reach a log line, whatever carries them there: redaction runs on the finished text, after
tracebacks and library lines are formatted, and finds the LLM key in any case and base64-encoded."""

from __future__ import annotations

import base64
import io
import logging
import sys
from collections.abc import Iterator

import pytest
import structlog

from switchboard.kit.logging import configure_logging, redactor

LLM_KEY = "sk-live-Abc123xyz"
OUR_KEY = "sb_" + "q" * 40


@pytest.fixture
def output(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    sink = io.StringIO()
    monkeypatch.setattr(sys, "stderr", sink)
    configure_logging("DEBUG", "json", [LLM_KEY])
    yield sink
    monkeypatch.undo()
    configure_logging()


def leaks(text: str) -> list[str]:
    forms = [OUR_KEY, LLM_KEY, LLM_KEY.upper(), LLM_KEY.lower(), base64.b64encode(LLM_KEY.encode()).decode()]
    return [form for form in forms if form in text]


def test_a_traceback_is_redacted_after_it_is_formatted(output: io.StringIO) -> None:
    try:
        raise ValueError(f"INSERT failed, parameters: ('{OUR_KEY}', 'Bearer {LLM_KEY}', '{LLM_KEY.upper()}')")
    except ValueError:
        structlog.get_logger("test").exception("db.failed")
    text = output.getvalue()
    assert "Traceback" in text
    assert "ValueError" in text
    assert leaks(text) == []  # ...without the secrets
    assert "[redacted]" in text


def test_library_debug_lines_and_their_tracebacks_are_redacted(output: io.StringIO) -> None:
    encoded = base64.b64encode(LLM_KEY.encode()).decode()
    logging.getLogger("httpcore.http11").debug("receive_response_headers: %s", [(b"x-echo", LLM_KEY.lower())])
    logging.getLogger("httpx").debug("Authorization: Basic %s", encoded)
    try:
        raise RuntimeError(f"provider said: invalid key {LLM_KEY}")
    except RuntimeError:
        logging.getLogger("openai").exception("request failed")
    text = output.getvalue()
    assert "receive_response_headers" in text
    assert "request failed" in text
    assert "RuntimeError" in text  # stdlib tracebacks are formatted too
    assert leaks(text) == []


def test_the_redactor_leaves_other_text_alone() -> None:
    redact = redactor([LLM_KEY])
    assert redact(f"key={LLM_KEY.upper()} ok") == "key=[redacted] ok"
    assert redact("nothing secret here: sk-live-other") == "nothing secret here: sk-live-other"
    assert redactor([])("plain") == "plain"
