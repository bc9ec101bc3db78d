"""Seed 002's agent platform API (/conversations, /tasks) as a thin adapter over threads, chat, runs, schedules and triggers."""

from __future__ import annotations

from switchboard.plugins import Plugin


def plugin() -> Plugin:
    return Plugin(name="platform-api")
