"""Runs: the unit of work. Creation and reads (service), the queue and leases (queue), execution (executor,
ledger, worker) and numbered, resumable events (journal, follow)."""
