"""The input screen: the agents-architecture guide's prompt-injection patterns as a configurable detector.

A run's input is matched against phrases typical of injection attempts ("ignore previous instructions", a forged
`system:` turn, chat-template markup, a forged fence line). A match is logged (`input_screen.flagged`, with the
patterns' names, never the text) and counted (`switchboard_input_screened_total`); in `block` mode the run is
refused with 422 `input_rejected`, saying which patterns matched.

It is a tripwire, not a wall: a paraphrase, another language or an encoding passes it, and it cannot see
injections that arrive later inside tool results or documents. Nothing relies on it: a run's tools act only for
its user, gated tools wait for a person, and outside data reaches the model fenced as data.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import structlog

from switchboard.kit.errors import AppError
from switchboard.observability.metrics import INPUT_SCREENED
from switchboard.tools.settings import ScreenMode

log = structlog.get_logger(__name__)

# name → pattern (case-insensitive). The guide's three, widened a little to their usual variants.
BUILT_IN_PATTERNS: dict[str, str] = {
    "ignore_instructions": r"\b(ignore|disregard|forget|override)\b[^.\n]{0,40}\b(previous|prior|above|earlier|"
    r"preceding|all|your|the)\b[^.\n]{0,30}\b(instructions?|prompts?|rules|directions|guidelines)\b",
    "role_turn": r"(^|\n)\s*(system|developer)\s*:",
    "chat_markup": r"<\|(im_start|im_end|system|endoftext)\|>|\[/?INST\]|<</?SYS>>",
    "fence_forgery": r"\b(BEGIN|END)_UNTRUSTED_[A-Z]+",
    "prompt_leak": r"\b(reveal|print|show|repeat|output)\b[^.\n]{0,30}\b(system prompt|hidden instructions|"
    r"your instructions)\b",
}


class InputRejected(AppError):
    """The input screen refused a run's input (an agent whose screen is in `block` mode)."""

    status_code = 422
    type = "input_rejected"


@dataclass(frozen=True)
class InputScreen:
    default_mode: ScreenMode
    patterns: tuple[tuple[str, re.Pattern[str]], ...]

    @classmethod
    def build(cls, default_mode: ScreenMode, extra: Iterable[str] = ()) -> InputScreen:
        """The built-in patterns and the operator's (SWITCHBOARD_INPUT_SCREEN_PATTERNS, named custom_1, …)."""
        named = [*BUILT_IN_PATTERNS.items(), *((f"custom_{i}", p) for i, p in enumerate(extra, start=1))]
        return cls(default_mode, tuple((name, re.compile(p, re.IGNORECASE)) for name, p in named))

    def matches(self, text: str) -> list[str]:
        """The names of the patterns `text` matches."""
        return [name for name, pattern in self.patterns if pattern.search(text)]

    def check(self, agent: str, text: str, field: str, mode: ScreenMode | None = None) -> list[str]:
        """Screen a run's input for `agent` (`mode`: the agent's own, else the default). Returns what matched;
        raises InputRejected in block mode when anything did."""
        mode = mode or self.default_mode
        if mode == "off":
            return []
        found = self.matches(text)
        if not found:
            return []
        blocked = mode == "block"
        INPUT_SCREENED.labels(agent=agent, outcome="blocked" if blocked else "flagged").inc()
        log.warning("input_screen.flagged", agent=agent, field=field, patterns=found, blocked=blocked)
        if blocked:
            raise InputRejected(
                f"{field}: the input screen of agent {agent!r} refused it: it reads like a prompt-injection attempt "
                f"({', '.join(found)}). Rephrase the request.",
                details=[{"field": field, "message": f"matched {', '.join(found)}"}],
            )
        return found
