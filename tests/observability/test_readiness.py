"""`/ready` is cheap enough to probe every few seconds and quiet when all is well: the database is asked each time,
the migrations only until they are seen at head, and a probe that succeeds logs nothing at INFO."""

from __future__ import annotations

import io
import time
from collections.abc import Callable

from tests.fixtures.logs import log_events
from tests.fixtures.server import LiveServer

PROBES = 20


def test_probes_succeed_quietly(
    capture_stderr: Callable[[], io.StringIO], make_server: Callable[..., LiveServer]
) -> None:
    output = capture_stderr()
    server = make_server()
    with server.client() as client:
        for _ in range(PROBES):
            assert client.get("/ready").json() == {"status": "ready", "database": "ok", "migrations": "at_head"}
            assert client.get("/health").status_code == 200
        assert client.get("/v1/threads").status_code == 401  # not a probe: logged as always
    # The server logs a request just after answering it: wait for the last one's line.
    deadline = time.monotonic() + 5
    while '"path": "/v1/threads"' not in output.getvalue() and time.monotonic() < deadline:
        time.sleep(0.01)
    text = output.getvalue()
    assert "Context impl" not in text, "Alembic narrated a migration context"
    assert "transactional DDL" not in text
    requests = [e for e in log_events(text) if e.get("event") == "http.request"]
    assert [(e["path"], e["status"]) for e in requests] == [("/v1/threads", 401)], requests
