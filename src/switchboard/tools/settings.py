"""Tool door, tool time-limit and input-screen settings (part of `switchboard.settings.Settings`)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings

ScreenMode = Literal["off", "flag", "block"]


class ToolSettings(BaseSettings):
    tool_timeout_seconds: float = Field(
        default=30.0,
        gt=0,
        le=3600,
        description="How long a tool call may take, in runs and through POST /v1/tools/{name}, unless the tool "
        "declares its own limit (`tool_access(timeout_seconds=…)`). Past it: the model is told the tool timed out "
        "(in a run), or 504 tool_timeout (through the door).",
    )
    input_screen: ScreenMode = Field(
        default="flag",
        description="The input screen's mode for agents that do not choose one (AgentSpec.input_screen): off; flag "
        "(log `input_screen.flagged` and count it, let the run start); block (refuse the run, 422 input_rejected). "
        "A tripwire for obvious prompt-injection attempts, not a defence to rely on.",
    )
    input_screen_patterns: list[str] = Field(
        default_factory=list,
        description="More patterns for the input screen, as a JSON list of regular expressions (case-insensitive), "
        "added to the built-in ones.",
    )
