"""Seed 003's text-analysis agents (summarizer, sentiment, entities), the text-analysis pipelines over them, and the
orchestrator's API (/api/v1/process, /api/v1/results…, /webhook/receive)."""

from __future__ import annotations

from switchboard.plugins import Plugin


def plugin() -> Plugin:
    from switchboard.text_analysis.endpoints import router
    from switchboard.text_analysis.entities import entities_spec
    from switchboard.text_analysis.inbound import inbound_router
    from switchboard.text_analysis.pipelines import pipelines
    from switchboard.text_analysis.sentiment import sentiment_spec
    from switchboard.text_analysis.summarizer import summarizer_spec

    return Plugin(
        name="text-analysis",
        agents=[summarizer_spec(), sentiment_spec(), entities_spec()],
        pipelines=pipelines(),
        routers=[router, inbound_router],
        raw_body_paths=["/webhook/receive"],  # its signature is over the exact bytes sent
    )
