from __future__ import annotations

from switchboard.kit.errors import AppError


class ToolFailed(AppError):
    """A tool called directly failed in an unexpected way; the message is safe to show, the details are logged."""

    status_code = 502
    type = "tool_error"
