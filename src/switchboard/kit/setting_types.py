"""Types for settings read from the environment (`switchboard.settings` and the mixins it gathers)."""

from __future__ import annotations

from pydantic import BeforeValidator


def _blank_is_none(value: object) -> object:
    return None if isinstance(value, str) and not value.strip() else value


BlankIsUnset = BeforeValidator(_blank_is_none)
"""On an optional setting: blank means not set. `SWITCHBOARD_SMTP_HOST=`, as .env.example has it, is no host
named "", and `SWITCHBOARD_AUTH_FAILURES_PER_MINUTE=` is no limit, not an error. (One annotation instead of a
validator per settings class: validators of the same name in the mixins hid one another.)"""
