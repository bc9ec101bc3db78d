"""Schemathesis against a real server on loopback: every operation of the app's OpenAPI schema, in its examples,
coverage and fuzzing phases, with every check, as a member and as an admin. A 5xx, a status the operation does
not document, a body, content type or header the schema does not describe, a schema-valid request refused or an
invalid one accepted, a wrong 405 or `Allow`: each fails the test.

The generation is derandomized (a fixed seed): the same cases every run. `make fuzz` runs more of them
(SWITCHBOARD_FUZZ_EXAMPLES); `make test` leaves this file out (the `fuzz` marker), it takes a minute or so."""

from __future__ import annotations

import os
import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from schemathesis import Case, CheckFunction
from schemathesis.specs.openapi.checks import positive_data_acceptance

from switchboard.app import create_app
from tests.fixtures.database import empty_tables
from tests.fixtures.demo import seed_demo
from tests.fixtures.server import LiveServer, live_server, make_settings

pytestmark = pytest.mark.fuzz

MEMBER = "alice@example.com"
ADMIN = "admin@example.com"
ROLES = {MEMBER: "member", ADMIN: "admin"}

MAX_EXAMPLES = int(os.environ.get("SWITCHBOARD_FUZZ_EXAMPLES", "10"))  # per operation, in the fuzzing phase
SEED = 20261127

CONFIG = schemathesis.Config.from_dict(
    {
        "seed": SEED,
        "generation": {
            "max-examples": MAX_EXAMPLES,
            "deterministic": True,
            "database": "none",
            # No NUL characters: PostgreSQL cannot store them, so every request with one is a 422 (README, "What
            # a request may carry"; tests/test_hostile_input.py), also where the schema allows any string.
            "allow-x00": False,
            # No parameters or headers the operation does not declare: the API ignores unknown ones, as most do
            # (no schema can say so), and a made-up `Transfer-Encoding` is refused by the HTTP server itself.
            "allow-extra-parameters": False,
        },
        # The stateful phase follows OpenAPI links, which this schema does not declare.
        "phases": {"stateful": {"enabled": False}},
    }
)


def _app_schema() -> dict[str, Any]:
    """The schema of the app as the live server runs it (the same plugins), made without a database."""
    settings = make_settings("postgresql+asyncpg://unused@127.0.0.1/unused", Path(tempfile.gettempdir()))
    return create_app(settings).openapi()


schema = schemathesis.openapi.from_dict(_app_schema(), config=CONFIG)
CASES: Counter[str] = Counter()
WORLDLY_FIELDS = (
    "tier",  # one of the server's tiers: test servers have none configured, so any name is refused
    "url",
    "notify",
    "cron",
    "timezone",
    "end_at",
    "webhook_url",
    "notification_config",
    "schedule_expression",
)


@pytest.fixture(scope="module")
def fuzzed(
    migrated_url: str, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[tuple[LiveServer, dict[str, str]]]:
    """One server for all the cases (a fresh one per case would take minutes), on the demo's data."""
    empty_tables(migrated_url)
    with live_server(make_settings(migrated_url, tmp_path_factory.mktemp("fuzz"))) as server:
        users = seed_demo(server.settings)
        yield server, {email: users[email].key for email in ROLES}
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if capture is not None and reporter is not None:
        counts = ", ".join(f"{ROLES[email]} {CASES[email]}" for email in ROLES)
        with capture.global_and_fixture_disabled():  # shown even when the tests pass
            reporter.write_line(f"\nschemathesis: cases sent (max-examples {MAX_EXAMPLES}): {counts}")


@schema.parametrize()
@pytest.mark.parametrize("role", list(ROLES), ids=list(ROLES.values()))
def test_the_api_conforms_to_its_openapi_schema(
    case: Case[Any], fuzzed: tuple[LiveServer, dict[str, str]], role: str
) -> None:
    server, keys = fuzzed
    CASES[role] += 1
    # Two answers depend on state no schema can describe, so a schema-valid request may rightly be refused:
    # a cursor is valid only if the server handed it out (a made-up one is a 422, tests/test_hostile_input.py),
    # and an Idempotency-Key used before with another body is a 422 (as the IETF draft says), which the
    # generator's keys, repeated across cases, run into.
    stateful = (case.query or {}).get("cursor") is not None or "Idempotency-Key" in (case.headers or {})
    # And some fields are checked against the world, not a grammar a schema could hold: a URL must resolve to a
    # public address (the SSRF guard), a cron expression must mean a time that comes, a timezone must exist, an
    # end must be in the future, and email needs an SMTP server configured.
    body = case.body if isinstance(case.body, dict) else {}
    stateful = stateful or any(field in body for field in WORLDLY_FIELDS)
    # A usage period must start before it ends and be at most SWITCHBOARD_USAGE_MAX_DAYS long: two fields together.
    stateful = stateful or any(field in (case.query or {}) for field in ("since", "until"))
    excluded: list[CheckFunction] = [positive_data_acceptance] if stateful else []
    case.call_and_validate(
        base_url=server.url, headers={"Authorization": f"Bearer {keys[role]}"}, excluded_checks=excluded
    )
