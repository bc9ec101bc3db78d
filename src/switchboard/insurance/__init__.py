"""Seed 004's insurance agents: `document-extractor` and `policy-checker`, both with structured output and
offline rules (deterministic patterns and policy rules, not an LLM), each limited to one run at a time, and
the runner API those agents had (`POST /agents/run`, `GET /agents/status/{run_id}`)."""

from __future__ import annotations

from switchboard.plugins import Plugin


def plugin() -> Plugin:
    from switchboard.insurance.endpoints import router
    from switchboard.insurance.extractor import extractor_spec
    from switchboard.insurance.policy import policy_spec

    return Plugin(name="insurance", agents=[extractor_spec(), policy_spec()], routers=[router])
