"""Tool door and tool time-limit settings (part of `switchboard.settings.Settings`)."""

from __future__ import annotations

from pydantic_settings import BaseSettings


class ToolSettings(BaseSettings):
    pass
