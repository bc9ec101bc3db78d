"""Exactly one run per tick whatever the number of processes: two `switchboard worker` processes (each runs a
scheduler) and 20 schedules firing every second (`* * * * * *`) for FIRING_SECONDS: every tick of every
schedule has one run, none has two, and the ticks in the window are consecutive seconds (a gap only where a
scheduler was held up for over a second, at most MAX_GAPS per schedule). Takes about 40 s."""

from __future__ import annotations

import signal
import statistics
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

from tests.fixtures.processes import Processes
from tests.schedules.conftest import Api

SCHEDULES = 20
FIRING_SECONDS = 30
MAX_GAPS = 2  # per schedule, of FIRING_SECONDS ticks


def test_two_processes_fire_each_tick_of_twenty_every_second_schedules_exactly_once(api: Api, procs: Processes) -> None:
    with api.client() as client:
        ids = [api.create(client, cron="* * * * * *", message=f"tick {i}")["id"] for i in range(SCHEDULES)]
        workers = [procs.worker(name=f"worker-{i}") for i in range(2)]
        procs.wait_until(
            lambda: all(w.logged("scheduler.started") for w in workers), "both schedulers", alive=tuple(workers)
        )
        # The window: whole seconds from shortly after both schedulers run (the first tick after a start may
        # collapse the ticks missed before it) to just before the schedules are paused.
        start = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=2)
        end = start + timedelta(seconds=FIRING_SECONDS)
        time.sleep((end - datetime.now(UTC)).total_seconds() + 1.5)
        for schedule_id in ids:
            assert client.post(f"/v1/schedules/{schedule_id}/pause").status_code == 200
    for worker in workers:
        assert worker.signal(signal.SIGTERM, wait=30) == 0, worker.output()

    rows = api.sql("SELECT schedule_id, scheduled_for FROM runs WHERE scheduled_for IS NOT NULL")
    per_tick = Counter((str(schedule_id), at) for schedule_id, at in rows)
    assert max(per_tick.values()) == 1  # the unique index makes it so; that no scheduler even tried twice, below

    window = {start + timedelta(seconds=s) for s in range(FIRING_SECONDS)}
    for schedule_id in ids:
        ticks = sorted(at for sid, at in per_tick if sid == schedule_id)
        assert all(tick.microsecond == 0 for tick in ticks)  # whole seconds, as the expression says
        missing = sorted(window - set(ticks))
        # A scheduler held up for more than a second (a loaded machine) collapses the ticks it missed into the
        # next, by design (never a burst): a few such gaps are tolerated, a pattern of them is not.
        assert len(missing) <= MAX_GAPS, f"schedule {schedule_id} skipped {len(missing)} ticks: {missing[:5]}"

    for event in ("schedule.tick_exists", "schedule.missed", "schedule.disabled", "scheduler.tick_failed"):
        assert not [line for w in workers for line in w.logged(event)], event
    fired = [line for w in workers for line in w.logged("schedule.fired")]
    assert len(fired) == len(rows)  # every run came from one of the two schedulers, each logged once
    # Both took part (SKIP LOCKED shares the due schedules between them), and ticks fired on time.
    assert all(w.logged("schedule.fired") for w in workers), [len(w.logged("schedule.fired")) for w in workers]
    late = [
        (datetime.fromisoformat(line["timestamp"]) - datetime.fromisoformat(line["scheduled_for"])).total_seconds()
        for line in fired
    ]
    assert statistics.median(late) < 0.5, statistics.median(late)
