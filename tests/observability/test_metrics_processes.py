"""Multiprocess metrics (SWITCHBOARD_METRICS_DIR): a server's /metrics sums what every process on the host counted
into the directory, a process that has exited included."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx

from tests.fixtures.demo import seed_demo
from tests.fixtures.processes import REPO_ROOT, processes
from tests.fixtures.server import make_settings
from tests.observability.metrics_scrape import scrape, value

TOKEN = "scrape-token-for-processes"
# Another process counting into the same directory: three runs of `echo` created, then it exits.
ANOTHER_PROCESS = """
from switchboard.observability.metrics import RUNS_CREATED
RUNS_CREATED.labels("echo").inc(3)
"""


def test_a_scrape_sums_every_process_counting_into_the_directory(db_url: str, tmp_path: Path) -> None:
    directory = tmp_path / "metrics"
    stale = directory / "counter_999999999.db"  # left by a process of an earlier start: wiped
    directory.mkdir()
    stale.write_bytes(b"\0" * 8)
    alice = seed_demo(make_settings(db_url, tmp_path))["alice@example.com"].key
    with processes(db_url, tmp_path) as started:
        settings = {"metrics_dir": directory, "metrics_token": TOKEN}
        api, url = started.serve("--workers", "0", name="api", **settings)
        assert not stale.exists()
        env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory), "PYTHONPATH": str(REPO_ROOT)}
        subprocess.run([sys.executable, "-c", ANOTHER_PROCESS], env=env, check=True, timeout=60)
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {alice}"}, timeout=30) as client:
            for n in range(2):
                response = client.post("/v1/runs", json={"agent": "echo", "message": f"hello {n}"})
                assert response.status_code == 202, response.text
        # A worker executes them and exits (--drain): the runs are settled in its process, not the server's.
        worker = started.worker("--drain", name="worker", **settings)
        assert worker.wait(60) == 0, worker.output()
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30) as scraper:
            samples = scrape(scraper)
        assert api.alive()
    assert value(samples, "switchboard_runs_created_total", agent="echo") == 3 + 2
    assert value(samples, "switchboard_runs_settled_total", agent="echo", status="succeeded") == 2
    assert value(samples, "switchboard_run_duration_seconds_count", agent="echo", status="succeeded") == 2
    assert value(samples, "switchboard_http_requests_total", method="POST", route="/v1/runs", status="202") == 2
    assert value(samples, "switchboard_queue_depth", agent="echo") == 0
