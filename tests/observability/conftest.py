"""Fixtures of the observability tests."""

from __future__ import annotations

import io
import sys
from collections.abc import Callable, Iterator

import pytest

from switchboard.kit.logging import configure_logging


@pytest.fixture
def capture_stderr(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[], io.StringIO]]:
    """Call it, then start a server: everything the server logs lands in the returned buffer (structlog and
    stdlib logging bind sys.stderr when the app is created). Called in the test body, because pytest swaps
    sys.stderr between the setup and call phases."""
    sink = io.StringIO()

    def capture() -> io.StringIO:
        monkeypatch.setattr(sys, "stderr", sink)
        return sink

    yield capture
    monkeypatch.undo()
    configure_logging()  # back to the real stderr for whatever logs next
