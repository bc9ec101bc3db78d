"""Usage, cost and budget settings (part of `switchboard.settings.Settings`)."""

from __future__ import annotations

from pydantic_settings import BaseSettings


class UsageSettings(BaseSettings):
    pass
