"""Benchmarks kept with the code (`make bench`)."""

from pathlib import Path

# The repository root: put on the worker process's PYTHONPATH so it can import the bench plugin, and read for
# the commit the figures were measured at.
ROOT = Path(__file__).resolve().parent.parent
