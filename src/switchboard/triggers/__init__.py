"""Event triggers: inbound signed webhooks that start runs as their owner.

`endpoints` (the `/v1/triggers` API and the `/v1/hooks/{id}` ingest URL) → `service` (managing triggers) and
`ingest` (an event: size, trigger, signature, then one run per event id) → `signatures` (Standard Webhooks and
GitHub-style HMACs over the raw body) and `message` (the run's message: instructions, then the payload fenced as
untrusted data).
"""
