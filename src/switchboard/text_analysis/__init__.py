"""Seed 003's text-analysis agents (summarizer, sentiment, entities), the text-analysis pipelines over them, and the orchestrator's API (/api/v1/process, /api/v1/results…, /webhook/receive)."""

from __future__ import annotations

from switchboard.plugins import Plugin


def plugin() -> Plugin:
    return Plugin(name="text-analysis")
