"""prometheus-client's multiprocess mode, for `switchboard serve` and `switchboard worker` (`SWITCHBOARD_METRICS_DIR`).

Each process writes its counters and histograms to its own files in the directory (memory-mapped: an increment
is a write to memory); a scrape reads every file there and sums them (`observability.scrape`). The mode is chosen
when prometheus-client is first imported, so `use_directory` runs before anything imports it.

The directory outlives processes: a worker restarted (or crashed) leaves its counters, so the sums never go
backwards while any process runs. It is emptied when a process starts and finds no other live process's files
there: a fresh start, which Prometheus reads as a restart, like any process's."""

from __future__ import annotations

import atexit
import os
import re
import sys
from pathlib import Path

ENVIRONMENT = "PROMETHEUS_MULTIPROC_DIR"
_PID = re.compile(r"_(\d+)\.db$")


class MetricsDirectoryError(RuntimeError):
    pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def _pids(directory: Path) -> set[int]:
    return {int(match.group(1)) for path in directory.glob("*.db") if (match := _PID.search(path.name))}


def use_directory(directory: Path) -> None:
    """Count into `directory`, shared with the other processes on this host that use it. Call it before
    prometheus-client is imported (the CLI does, before it imports the app)."""
    if "prometheus_client" in sys.modules and os.environ.get(ENVIRONMENT) != str(directory):
        raise MetricsDirectoryError("prometheus_client was imported before its multiprocess directory was set")
    directory.mkdir(parents=True, exist_ok=True)
    pids = _pids(directory)
    live = {pid for pid in pids if pid != os.getpid() and _alive(pid)}
    if not live:
        for path in directory.glob("*.db"):
            path.unlink(missing_ok=True)
    os.environ[ENVIRONMENT] = str(directory)

    from prometheus_client import multiprocess

    for pid in pids - live - {os.getpid()}:
        multiprocess.mark_process_dead(pid, str(directory))  # type: ignore[no-untyped-call]  # its live gauges go
    atexit.register(multiprocess.mark_process_dead, os.getpid(), str(directory))
