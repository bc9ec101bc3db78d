"""Seed 002's agent platform API (`/conversations`, `/tasks`) as a thin adapter over threads, chat, runs,
schedules, triggers and notifications, with the `assistant` agent its patterns default to."""

from __future__ import annotations

from pathlib import Path

from switchboard.plugins import Plugin


def plugin() -> Plugin:
    from switchboard.platform_api.assistant import assistant_spec
    from switchboard.platform_api.conversations.endpoints import router as conversations_router
    from switchboard.platform_api.tasks.endpoints import router as tasks_router

    return Plugin(
        name="platform-api",
        agents=[assistant_spec()],
        routers=[conversations_router, tasks_router],
        migrations=Path(__file__).parent / "migrations",
    )
