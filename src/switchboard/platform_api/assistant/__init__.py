"""The `assistant` agent behind seed 002's chatbot and sidekick conversations (and its delegated, scheduled and
triggered tasks unless they name another agent)."""

from switchboard.platform_api.assistant.agent import AGENT_NAME, assistant_spec

__all__ = ["AGENT_NAME", "assistant_spec"]
