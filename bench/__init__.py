"""Benchmarks kept with the code (`make bench`), and the few helpers every one of them uses."""

import os
import statistics
import tempfile
from collections.abc import Sequence
from pathlib import Path

# The repository root: put on the worker process's PYTHONPATH so it can import the bench plugin, and read for
# the commit the figures were measured at.
ROOT = Path(__file__).resolve().parent.parent


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest rank."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))]


def summary(values: Sequence[float], places: int = 2) -> dict[str, float]:
    """p50, p99 and max of timings, rounded to `places`."""
    return {
        "p50": round(statistics.median(values), places),
        "p99": round(percentile(values, 99), places),
        "max": round(max(values), places),
    }


def comma_ints(value: str) -> list[int]:
    """An option's `16,32,64`."""
    return [int(part) for part in value.split(",") if part.strip()]


def load_average(before: tuple[float, float, float]) -> str:
    """The 1-minute load average when the bench started (`before`, from `os.getloadavg()`) and now, for its
    report: a busy machine skews every figure."""
    return f"{before[0]:.2f} before, {os.getloadavg()[0]:.2f} after (1 min)"


def fresh_workdir(prefix: str = "switchboard-bench-") -> Path:
    """A fresh temporary directory for a bench's embedded PostgreSQL and logs."""
    directory = Path(tempfile.mkdtemp(prefix=prefix))
    directory.chmod(0o755)  # the embedded server runs as its own system user when we are root
    return directory
