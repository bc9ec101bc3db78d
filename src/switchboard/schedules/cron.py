"""Cron expressions in an IANA timezone: checking them, the next tick after an instant, and what they mean in words.

cronsim does the calendar work (5 fields, or 6 with seconds first; `L`, `W`, `#`), including Debian cron's DST
rules: a daily job fires once on the night the clocks go back, and at the first valid time (03:00 in
Europe/Berlin) on the night they go forward. Ticks are stored as UTC instants; each is computed afresh from the
instant after which the next is wanted, so the scheduler keeps no iterator between ticks.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from cronsim import CronSim, CronSimError

from switchboard.kit.errors import ValidationFailed

# cronsim has no macros: the usual ones, spelt out as cron does.
MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}


def expanded(cron: str) -> str:
    """The expression with a macro (`@daily`…) spelt out and runs of blanks made one space."""
    cron = " ".join(cron.split())
    return MACROS.get(cron.lower(), cron)


@functools.cache
def _iana_names() -> frozenset[str]:
    # Not any file ZoneInfo can open: `localtime` (and `posixrules`) are the machine's, not a timezone a user
    # means, and some systems' lists include them.
    return frozenset(available_timezones()) - {"localtime", "posixrules"}


def zone(timezone: str) -> ZoneInfo:
    """The IANA timezone, or 422 naming the `timezone` field."""
    try:
        if timezone not in _iana_names():
            raise ZoneInfoNotFoundError(timezone)
        return ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationFailed(
            f"timezone: {timezone!r} is not an IANA timezone (such as UTC or Europe/Berlin)",
            details=[{"field": "timezone", "message": "unknown timezone"}],
        ) from None


def next_tick(cron: str, timezone: str, after: datetime) -> datetime | None:
    """The first tick strictly after `after` (aware), as a UTC instant; None if the expression never matches again
    (cronsim looks 50 years ahead).

    cronsim starts from a local wall time. In the second pass of an hour the clocks repeat (fold=1) it would
    resume at the first tick of the next day for a daily job (right) but may also return a tick of the first
    pass, earlier than `after`. So it starts from the first pass of that wall time and ticks up to `after` are
    skipped: the same ticks as one iterator run through the night, whatever instant the scheduler restarts from.
    """
    local = after.astimezone(zone(timezone)).replace(fold=0)
    for tick in CronSim(expanded(cron), local):
        instant = tick.astimezone(UTC)
        if instant > after:
            return instant
    return None


def checked(cron: str, timezone: str, now: datetime) -> datetime:
    """Validate the expression and the timezone for a request (422 naming the field); returns the next tick."""
    tz = zone(timezone)
    try:
        CronSim(expanded(cron), now.astimezone(tz))
    except CronSimError as error:
        raise ValidationFailed(
            f"cron: {cron!r} is not a cron expression ({error}); give 5 fields (minute hour day month weekday), "
            "6 with seconds first, or @hourly/@daily/@weekly/@monthly/@yearly",
            details=[{"field": "cron", "message": str(error)}],
        ) from None
    tick = next_tick(cron, timezone, now)
    if tick is None:
        raise ValidationFailed(
            f"cron: {cron!r} never matches (no tick in the next 50 years)",
            details=[{"field": "cron", "message": "never matches"}],
        )
    return tick


def described(cron: str, timezone: str) -> str:
    """What the expression means, in English, with its timezone: "At 09:00 on Monday through Friday (Europe/Berlin)"."""
    try:
        words = CronSim(expanded(cron), datetime.now(zone(timezone))).explain()
    except (CronSimError, ValidationFailed):
        words = cron  # stored before a library change refused it: show it as it is
    return f"{words} ({timezone})"


def upcoming(cron: str, timezone: str, after: datetime, count: int) -> list[datetime]:
    """The next `count` ticks after `after` (UTC instants; fewer if the expression stops matching), for a preview.
    Call `checked` first: an invalid expression or timezone raises here as it does there."""
    ticks: list[datetime] = []
    tick: datetime | None = after
    while len(ticks) < count and tick is not None:
        tick = next_tick(cron, timezone, tick)
        if tick is not None:
            ticks.append(tick)
    return ticks
