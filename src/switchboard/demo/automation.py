"""The demo's work that starts itself, for test.user: a morning schedule ("every morning at 9, summarise my open
orders", paused so the demo adds no runs while you explore) and a trigger for the shop's "order shipped" events.

A trigger's secret is shown once; the demo keeps it in `<data dir>/demo-trigger.json` (mode 0600, like the demo
keys) so the README's walkthrough can sign an event with it. Idempotent: seeding again keeps both; a reset puts
them back as seeded (the schedule paused again, the trigger with a new secret)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.auth.service import authenticate
from switchboard.kit.secret_box import new_signing_secret, secret_box
from switchboard.models.automation import Schedule, Trigger
from switchboard.settings import Settings
from switchboard.triggers.service import HOOKS_PATH

OWNER = "test.user@example.com"
SCHEDULE = {"agent": "support", "message": "Summarise my open orders", "cron": "0 9 * * *", "tz": "Europe/Berlin"}
MARK = "morning summary"  # the demo schedule's metadata.demo, so a reset knows it
TRIGGER_NAME = "order shipped (demo shop)"
TRIGGER_INSTRUCTIONS = "The shop says an order of mine has shipped. Tell me which order it is and its status now."
TRIGGER_FILE = "demo-trigger.json"


async def seed_automation(session: AsyncSession, settings: Settings, owner_key: str, *, reset: bool) -> None:
    owner = await authenticate(session, owner_key)  # acts with the demo key: revoking it stops both
    demo_schedule = (Schedule.user_id == owner.user_id, Schedule.metadata_["demo"].astext == MARK)
    demo_trigger = (Trigger.user_id == owner.user_id, Trigger.name == TRIGGER_NAME)
    if reset:  # the demo's own two only: schedules and triggers of the user's making stay
        await session.execute(delete(Schedule).where(*demo_schedule))
        await session.execute(delete(Trigger).where(*demo_trigger))
    if await session.scalar(select(Schedule.id).where(*demo_schedule)) is None:
        session.add(
            Schedule(
                user_id=owner.user_id,
                api_key_id=owner.api_key_id,
                agent=SCHEDULE["agent"],
                message=SCHEDULE["message"],
                cron=SCHEDULE["cron"],
                timezone=SCHEDULE["tz"],
                enabled=False,  # resume it to have it fire; POST …/run fires it once now
                next_fire_at=None,
                disabled_reason="paused by the demo: resume it to have it fire every morning at 9",
                metadata_={"demo": MARK},
            )
        )
    path = settings.data_dir / TRIGGER_FILE
    trigger = await session.scalar(select(Trigger).where(*demo_trigger))
    if trigger is not None and path.exists():
        return
    secret = new_signing_secret()
    if trigger is None:
        trigger = Trigger(
            user_id=owner.user_id,
            agent="support",
            name=TRIGGER_NAME,
            instructions=TRIGGER_INSTRUCTIONS,
            secret="",
        )
        session.add(trigger)
    trigger.api_key_id = owner.api_key_id
    trigger.secret = secret_box(settings).seal(secret)  # the file was lost: a new secret, written down again
    trigger.previous_secret = None
    await session.flush()
    base = settings.public_base_url()
    _write(path, {"trigger_id": str(trigger.id), "ingest_url": f"{base}{HOOKS_PATH}/{trigger.id}", "secret": secret})


def _write(path: Path, content: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        json.dump(content, handle, indent=2)
