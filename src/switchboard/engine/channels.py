"""The NOTIFY channels processes use between them (runs, deliveries, schedules). A notification only says "look
again": the database is the source of truth, and every reader re-reads it after a wake-up (or a reconnect of the
listener)."""

RUNS_READY = "sb_runs_ready"
"""Something may have become claimable: a run was queued, or a thread or an agent slot was freed."""

RUN_EVENTS = "sb_run_events"
"""Payload: a run id whose events grew."""

RUN_CANCEL = "sb_run_cancel"
"""Payload: a running run id whose cancellation was requested."""

RUN_SETTLED = "sb_run_settled"
"""Payload: a run id that has just finished or paused for approval (its `end` or `approval_required` event): what
a request waiting for the run listens to, so it is not woken by every text delta."""

DELIVERIES_READY = "sb_deliveries_ready"
"""A notification delivery became due (`notifications.outbox`): the dispatchers look again."""

SCHEDULES_CHANGED = "sb_schedules_changed"
"""A schedule was created, changed or fired: the schedulers recompute when to wake."""

ALL = (RUNS_READY, RUN_EVENTS, RUN_CANCEL, RUN_SETTLED, DELIVERIES_READY, SCHEDULES_CHANGED)
