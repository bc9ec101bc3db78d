"""PostgreSQL stops under load and comes back: every answer meanwhile is a 2xx or a 503 (with Retry-After, in the
one error shape), never a 500; every run accepted is executed once it is back; requests retried with their
Idempotency-Key create one run each; and the request log has a row for every request, the ones answered during
the outage included.

The PostgreSQL is the test's own embedded one, so stopping it disturbs no other test."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text

from switchboard.kit.embedded_pg import EmbeddedPostgres
from switchboard.models.runs import RunStatus
from tests.fixtures.database import migrate, run_db
from tests.fixtures.demo import seed_demo
from tests.fixtures.http import read_events, wait_for_status
from tests.fixtures.server import live_server, make_settings

TEST_PLUGIN = "tests.fixtures.agents:plugin"
CLIENTS = 3
OUTAGE_SECONDS = 2.0


class Load:
    """Clients creating runs (retrying a 503 with the same Idempotency-Key) and listing them, until stopped."""

    def __init__(self, base_url: str, key: str) -> None:
        self.base_url, self.key = base_url, key
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.answers: list[httpx.Response] = []
        self.accepted: dict[str, str] = {}  # idempotency key -> run id

    def record(self, response: httpx.Response) -> None:
        response.read()
        with self.lock:
            self.answers.append(response)

    def client(self, index: int) -> None:
        with httpx.Client(base_url=self.base_url, headers={"Authorization": f"Bearer {self.key}"}, timeout=30) as c:
            n = 0
            while not self.stop.is_set():
                n += 1
                key = f"client-{index}-{n}"
                for _ in range(100):
                    created = c.post(
                        "/v1/runs", json={"agent": "echo", "message": key}, headers={"Idempotency-Key": key}
                    )
                    self.record(created)
                    if created.status_code == 202:
                        with self.lock:
                            self.accepted[key] = created.json()["id"]
                        break
                    time.sleep(0.1)
                self.record(c.get("/v1/runs", params={"limit": 5}))

    def run(self, around: Any) -> None:
        threads = [threading.Thread(target=self.client, args=(i,)) for i in range(CLIENTS)]
        for thread in threads:
            thread.start()
        try:
            around()
        finally:
            self.stop.set()
            for thread in threads:
                thread.join(60)


def test_a_restart_under_load_answers_2xx_or_503_and_loses_nothing(tmp_path: Path) -> None:
    postgres = EmbeddedPostgres(tmp_path / "pg")
    url = postgres.acquire()
    try:
        settings = make_settings(url, tmp_path / "data", plugins=[TEST_PLUGIN], worker_poll_seconds=0.5)
        migrate(url, settings)
        with live_server(settings) as server:
            key = seed_demo(settings)["alice@example.com"].key
            load = Load(server.url, key)
            with server.client(key) as client:  # streaming, 0.2 s a word, when the database goes away
                slow = client.post("/v1/runs", json={"agent": "slow", "message": "words=30 delay=0.2"}).json()["id"]
            back: list[datetime] = []

            def outage() -> None:
                time.sleep(1.0)
                postgres._pg_ctl("-w", "-m", "fast", "stop")
                time.sleep(OUTAGE_SECONDS)
                postgres._ensure_running()
                back.append(datetime.now(UTC))
                time.sleep(2.0)

            load.run(outage)
            statuses = Counter(response.status_code for response in load.answers)
            assert set(statuses) <= {200, 202, 503}, statuses
            assert statuses[503] > 0, f"the outage was never seen: {statuses}"
            for response in load.answers:
                if response.status_code == 503:
                    assert response.headers["retry-after"] == "2"
                    assert set(response.json()) == {"error"}
                    assert response.json()["error"]["type"] == "unavailable"

            # The run streaming through the outage lost none of its text: what its events carry is its output.
            with server.client(key) as client:
                streamed = wait_for_status(client, slow, timeout=20)
                assert streamed["status"] == RunStatus.SUCCEEDED, streamed
                deltas = [e.data["delta"] for e in read_events(client, slow) if e.type == "text_delta"]
                assert "".join(deltas) == streamed["output"] == " ".join(f"w{i}" for i in range(1, 31))

            # Each key created one run, and every run accepted runs to the end, soon after the database is back: a
            # run an outage interrupted is given back at once, not after its lease (30 s) lapses.
            with server.client(key) as client:
                for run_id in load.accepted.values():
                    run = wait_for_status(client, run_id, timeout=30)
                    assert run["status"] == RunStatus.SUCCEEDED, run
                    assert datetime.fromisoformat(run["finished_at"]) < back[0] + timedelta(seconds=15), run

            async def runs_and_logs(session: Any) -> tuple[int, int]:
                runs = await session.scalar(text("SELECT count(*) FROM runs"))
                logs = await session.scalar(
                    text("SELECT count(*) FROM request_logs WHERE path IN ('/v1/runs') AND created_at IS NOT NULL")
                )
                return int(runs), int(logs)

            # The request log catches up with every request of the load (the writer retried through the outage).
            deadline = time.monotonic() + 20
            while True:
                runs, logs = run_db(url, runs_and_logs)
                if logs >= len(load.answers) + 1 or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            assert runs == len(load.accepted) + 1, (runs, len(load.accepted))  # and the slow one
            assert logs == len(load.answers) + 1, (logs, len(load.answers))  # with the slow run's POST
    finally:
        postgres.release()
