"""Metrics and tracing settings (part of `switchboard.settings.Settings`)."""

from __future__ import annotations

from pydantic_settings import BaseSettings


class TelemetrySettings(BaseSettings):
    pass
