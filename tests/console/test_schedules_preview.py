"""What the schedules page's cron field says as it is typed: the expression in words (the API's `description`:
`schedules.cron.described`), the next ticks in the schedule's timezone, or what is wrong. Plain unit tests."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from switchboard.console.schedules import preview
from switchboard.schedules.cron import upcoming

SATURDAY = datetime(2026, 11, 28, 7, 51, tzinfo=UTC)


@pytest.mark.parametrize(
    ("expression", "words"),
    [
        ("* * * * *", "Every minute"),
        ("*/5 * * * *", "Every fifth minute of every hour"),
        ("0 9 * * 1-5", "At 09:00 on Monday through Friday"),
        ("0 9 * * MON-FRI", "At 09:00 on Monday through Friday"),
        ("30 2 1 * *", "At 02:30 on the first day of every month"),
        ("0 9,17 * * *", "At 09:00 and 17:00 every day"),
        ("@daily", "At 00:00 every day"),
        ("@hourly", "At the start of every hour"),
        ("@weekly", "At 00:00 on Sunday"),
        ("* * * * * *", "Every second"),
        ("0 0 * * 5#2", "At 00:00 on the second Friday of the month"),
    ],
)
def test_common_expressions_in_words(expression: str, words: str) -> None:
    shown = preview(expression, "UTC", SATURDAY)
    assert shown["error"] is None
    assert shown["words"] == f"{words} (UTC)"
    assert len(shown["ticks"]) == 3


def test_the_next_ticks_are_in_the_schedules_timezone_with_utc_beside() -> None:
    shown = preview("0 9 * * 1-5", "Europe/Berlin", SATURDAY)
    assert shown["ticks"] == [
        "2026-11-30 09:00 Europe/Berlin (2026-11-30 08:00 UTC)",
        "2026-12-01 09:00 Europe/Berlin (2026-12-01 08:00 UTC)",
        "2026-12-02 09:00 Europe/Berlin (2026-12-02 08:00 UTC)",
    ]
    assert preview("*/5 * * * *", "UTC", SATURDAY)["ticks"][0] == "2026-11-28 07:55 UTC"
    assert preview("*/10 * * * * *", "UTC", SATURDAY)["ticks"][:2] == [
        "2026-11-28 07:51:10 UTC",
        "2026-11-28 07:51:20 UTC",
    ]


def test_mistakes_are_named_and_nothing_is_promised() -> None:
    wrong = preview("0 9 * *", "UTC", SATURDAY)
    assert wrong["words"] is None
    assert wrong["ticks"] == []
    assert "is not a cron expression" in wrong["error"]
    assert "IANA timezone" in preview("0 9 * * *", "Mars/Olympus", SATURDAY)["error"]
    assert "Bad day-of-month" in preview("0 0 30 2 *", "UTC", SATURDAY)["error"]  # February has no 30th
    assert preview("  ", "UTC", SATURDAY) == {"error": None, "words": None, "ticks": []}


def test_upcoming_ticks_of_a_rare_expression() -> None:
    leap_days = upcoming("0 0 29 2 *", "UTC", SATURDAY, 2)
    assert leap_days == [datetime(2028, 2, 29, tzinfo=UTC), datetime(2032, 2, 29, tzinfo=UTC)]
