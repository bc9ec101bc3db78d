"""The researcher agent: deep research over the knowledge base, with a report whose every claim cites its sources."""

from __future__ import annotations

from switchboard.plugins import Plugin


def plugin() -> Plugin:
    from switchboard.research.agent import researcher_spec

    return Plugin(name="research", agents=[researcher_spec()])
