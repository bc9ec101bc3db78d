# The two commands a new user needs: `make serve` and `make test`. Each bootstraps what it needs:
# uv (installed with pip when missing), then the locked dependencies (`uv sync --frozen`).

UV := $(shell command -v uv 2>/dev/null)
ifeq ($(UV),)
UV := python3 -m uv
endif

.PHONY: serve test lint typecheck pytest sync bench bench-engine bench-chat bench-deliveries bench-metrics bench-limiter bench-usage bench-console screenshots fuzz

.venv/.synced: pyproject.toml uv.lock
	@$(UV) --version >/dev/null 2>&1 || python3 -m pip install --quiet uv || python3 -m pip install --quiet --user --break-system-packages uv
	$(UV) sync --frozen
	@touch $@

sync: .venv/.synced

serve: .venv/.synced
	$(UV) run --frozen switchboard serve --demo

lint: .venv/.synced
	$(UV) run --frozen ruff check .
	$(UV) run --frozen ruff format --check .

# Caches outside the checkout, so a fresh clone does not start cold: mypy's (it checks again only what changed)
# and Python's compiled bytecode (even where PYTHONDONTWRITEBYTECODE is set, which costs every process seconds).
CACHE := $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/switchboard
BYTECODE := PYTHONDONTWRITEBYTECODE= PYTHONPYCACHEPREFIX=$(CACHE)/pycache

typecheck: .venv/.synced
	MYPY_CACHE_DIR=$(CACHE)/mypy $(UV) run --frozen mypy

# One test process per core (pytest-xdist); each has its own database. The Schemathesis run is `make fuzz`'s.
# MARKERS chooses tests by marker (`fuzz`, `browser`).
MARKERS ?= not fuzz
pytest: .venv/.synced
	$(BYTECODE) $(UV) run --frozen pytest --numprocesses=auto -m "$(MARKERS)"

# Schemathesis against a live server, as a member and as an admin: every operation, every check, a fixed seed
# (tests/test_openapi_conformance.py). FUZZ_EXAMPLES is the fuzzing phase's cases per operation.
FUZZ_EXAMPLES ?= 100
fuzz: .venv/.synced
	SWITCHBOARD_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BYTECODE) $(UV) run --frozen pytest -m fuzz tests/test_openapi_conformance.py

test: lint typecheck pytest

# The benchmarks (bench/README.md); `make bench` runs all three. The run engine's: one worker process draining
# runs, and enqueue->start latency. The chat turn's (issue 9): the support route, POST /v1/chat and a minimal
# FastAPI + asyncpg reference, side by side against a zero-delay fake model. The notification dispatcher's
# (issue 10): deliveries/s of one worker process to a local webhook sink, and run settled->first attempt.
bench: bench-engine bench-chat bench-deliveries bench-metrics bench-limiter bench-usage bench-console

bench-engine: .venv/.synced
	$(BYTECODE) $(UV) run --frozen python -m bench.run_engine

bench-chat: .venv/.synced
	$(BYTECODE) $(UV) run --frozen python -m bench.chat_turns

bench-deliveries: .venv/.synced
	$(BYTECODE) $(UV) run --frozen python -m bench.deliveries

bench-metrics: .venv/.synced
	$(BYTECODE) $(UV) run --frozen python -m bench.metrics_scrape

bench-limiter: .venv/.synced
	$(BYTECODE) $(UV) run --frozen python -m bench.limiter

bench-usage: .venv/.synced
	$(BYTECODE) $(UV) run --frozen python -m bench.usage_queries

bench-console: .venv/.synced
	$(BYTECODE) $(UV) run --frozen python -m bench.console_pages

# The README's console screenshots (docs/screenshots/), taken by the browser tests as they go (Debian's chromium).
screenshots: .venv/.synced
	SWITCHBOARD_SCREENSHOTS=docs/screenshots $(BYTECODE) $(UV) run --frozen pytest --numprocesses=auto tests/console
