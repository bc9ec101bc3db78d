"""What the sink received against what the database says was sent: every delivery succeeded and arrived, each
`webhook-id` as many times as its delivery was attempted (once, unless retried), nothing else arrived, and
every request's signature verifies with the `standardwebhooks` library over the exact body the outbox holds.
A failed check is an error: figures from a run that lost or corrupted deliveries mean nothing."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import text
from standardwebhooks import Webhook, WebhookVerificationError

from bench.database import Context
from bench.delivery_sink import Received

_SENT = text("""
SELECT d.id, d.status, d.attempts, m.id AS message_id, m.body
FROM deliveries d JOIN outbox_messages m ON m.id = d.message_id
WHERE d.id = ANY(:ids)
""")


@dataclass(frozen=True)
class Checked:
    deliveries: int
    requests: int  # received by the sink
    retried: int  # deliveries attempted more than once (each attempt arrived, same webhook-id)
    signatures_verified: int


async def check(ctx: Context, delivery_ids: Sequence[uuid.UUID], received: Sequence[Received], secret: str) -> Checked:
    async with ctx.engine.connect() as connection:
        sent = (await connection.execute(_SENT, {"ids": list(delivery_ids)})).mappings().all()
    problems: list[str] = []
    if len(sent) != len(delivery_ids):
        problems.append(f"{len(delivery_ids) - len(sent)} deliveries are missing from the database")
    statuses = Counter(row["status"] for row in sent)
    if set(statuses) != {"succeeded"}:
        problems.append(f"deliveries by status: {dict(statuses)}")
    # One message per delivery here (one endpoint), so a webhook-id names one delivery.
    expected = {f"msg_{row['message_id'].hex}": row for row in sent}
    arrived = Counter(r.webhook_id for r in received)
    missing = expected.keys() - arrived.keys()
    unexpected = arrived.keys() - expected.keys()
    wrong_count = [i for i in expected.keys() & arrived.keys() if arrived[i] != expected[i]["attempts"]]
    if missing:
        problems.append(f"{len(missing)} deliveries never arrived, e.g. {sorted(missing)[:3]}")
    if unexpected:
        problems.append(f"{len(unexpected)} webhook-ids arrived that were not sent, e.g. {sorted(unexpected)[:3]}")
    if wrong_count:
        first = wrong_count[0]
        problems.append(
            f"{len(wrong_count)} webhook-ids arrived a number of times other than their attempts, e.g. {first}: "
            f"{arrived[first]} requests, {expected[first]['attempts']} attempts"
        )
    verified = 0
    hook = Webhook(secret)
    for r in received:
        row = expected.get(r.webhook_id)
        if row is None:
            continue
        if r.body != row["body"]:
            problems.append(f"{r.webhook_id}: the body received is not the outbox's")
            continue
        headers = {"webhook-id": r.webhook_id, "webhook-timestamp": r.timestamp, "webhook-signature": r.signature}
        try:
            hook.verify(r.body, headers, json_parse=False)
        except WebhookVerificationError as exc:
            problems.append(f"{r.webhook_id}: {exc}")
            continue
        verified += 1
    if problems:
        raise RuntimeError("deliveries are wrong: " + "; ".join(problems[:10]))
    return Checked(
        deliveries=len(sent),
        requests=len(received),
        retried=sum(1 for row in sent if row["attempts"] > 1),
        signatures_verified=verified,
    )
