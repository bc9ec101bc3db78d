"""Cron schedules: rows that create a run of an agent, as their owner, at each tick of a cron expression in an
IANA timezone. `cron` (expressions, next ticks, words), `schemas`, `service` and `endpoints` (the API),
`firing` (one tick's transaction: exactly one run per tick) and `scheduler` (the loop each worker process runs)."""
