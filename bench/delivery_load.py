"""The delivery benchmark's data: a webhook endpoint of the bench user pointing at the sink, finished runs, and
their notifications written into the outbox by `RunNotices.record_runs` (the settle transaction's own call), so
every delivery carries a real run's body, as `GET /v1/runs/{id}` shows it.

The endpoint's signing secret is sealed with a fixed bench server key, which the worker process is given too
(SWITCHBOARD_SECRET_KEY), so it can open it; the bench keeps the plain secret to verify what the sink received.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence

from sqlalchemy import text

from bench.database import Context, enqueue
from switchboard.kit.secret_box import SecretBox, new_signing_secret
from switchboard.notifications.outbox import RunNotices

# Seals the endpoint's secret in the bench's throwaway database; not a secret itself.
BENCH_SECRET_KEY = "switchboard-bench-secret-key"  # noqa: S105

# About what a short chat answer looks like, so a body is ~1.5 KB (the run's fields, its url, the output).
OUTPUT = (
    "Your order #48213 (2 items: the walnut desk organiser and a pack of A5 notebooks) shipped yesterday from "
    "our Leeds warehouse with Royal Mail Tracked 48; the tracking number is JD014600004GB. It should arrive "
    "by Thursday. The notebooks were on back-order, which is why the order took four days to leave us. If "
    "anything arrives damaged, reply to this message with a photo and we will send a replacement at once."
)
USAGE = {"requests": 1, "input_tokens": 812, "output_tokens": 96, "tool_calls": 1}

_SUCCEED = text("""
UPDATE runs SET status = 'succeeded', output = CAST(:output AS jsonb), usage = CAST(:usage AS jsonb),
    model_name = 'offline', attempts = 1, started_at = now(), finished_at = now(), updated_at = now()
WHERE id = ANY(:ids)
""")


async def add_endpoint(ctx: Context, url: str) -> str:
    """A webhook endpoint of the bench user for every event type at `url`; returns its plain signing secret."""
    secret = new_signing_secret()
    async with ctx.engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO webhook_endpoints (id, user_id, url, enabled, secret) "
                "VALUES (:id, :user_id, :url, true, :secret)"
            ),
            {"id": uuid.uuid4(), "user_id": ctx.principal.user_id, "url": url, "secret": _box().seal(secret)},
        )
    return secret


def _box() -> SecretBox:
    return SecretBox(BENCH_SECRET_KEY)


async def finished_runs(ctx: Context, n: int) -> list[uuid.UUID]:
    """`n` runs created as `POST /v1/runs` creates them, then marked succeeded with a realistic output (no
    worker runs them: the bench agent's answer is two letters, and these bodies should be full size)."""
    ids = await enqueue(ctx, n)
    async with ctx.engine.begin() as connection:
        await connection.execute(_SUCCEED, {"ids": ids, "output": json.dumps(OUTPUT), "usage": json.dumps(USAGE)})
    return ids


async def write_notices(ctx: Context, run_ids: Sequence[uuid.UUID], batch: int = 250) -> None:
    """Each run's `run.succeeded` into the outbox, one delivery per run (to the one endpoint), all due now."""
    notices = RunNotices(ctx.settings)
    for start in range(0, len(run_ids), batch):
        async with ctx.engine.begin() as connection:
            await notices.record_runs(connection, run_ids[start : start + batch])
    async with ctx.engine.connect() as connection:  # planner statistics, as a table in use would have them
        await connection.execute(text("COMMIT"))
        await connection.execute(text("VACUUM ANALYZE deliveries, outbox_messages, delivery_attempts"))


async def clear_outbox(ctx: Context) -> None:
    async with ctx.engine.begin() as connection:
        await connection.execute(text("TRUNCATE outbox_messages, deliveries, delivery_attempts CASCADE"))


async def clear_runs(ctx: Context) -> None:
    """No runs, threads or deliveries (the endpoint stays)."""
    async with ctx.engine.begin() as connection:
        await connection.execute(text("TRUNCATE runs, threads, outbox_messages CASCADE"))


async def body_sizes(ctx: Context) -> tuple[int, int]:
    """(smallest, largest) message body in bytes."""
    async with ctx.engine.connect() as connection:
        sizes = text("SELECT min(octet_length(body)), max(octet_length(body)) FROM outbox_messages")
        low, high = (await connection.execute(sizes)).one()
    return int(low or 0), int(high or 0)
