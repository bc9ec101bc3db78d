"""Seed 002's `notification_config` as Switchboard's `notify` targets (webhook, Slack, email), each checked as
`notify` is (a public URL, SMTP configured, an allowed domain) with errors naming the 002 field."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from switchboard.kit.errors import ValidationFailed
from switchboard.notifications.targets import NotifyTarget, shown, stored
from switchboard.settings import Settings

FIELD = "notification_config"

Channel = Literal["email", "slack", "webhook"]


class NotificationConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channels: list[Channel] = Field(
        default_factory=list,
        max_length=3,
        examples=[["email"]],
        description="Where to tell about each run's outcome; each channel needs its field below. Fields of a "
        "channel not listed are not used.",
    )
    email_address: str | None = Field(default=None, max_length=320, examples=["user@example.com"])
    slack_webhook_url: str | None = Field(
        default=None, max_length=2048, pattern=r"^https?://", description="A Slack incoming-webhook URL."
    )
    webhook_url: str | None = Field(
        default=None, max_length=2048, pattern=r"^https?://", description="Receives Standard Webhooks events."
    )
    webhook_secret: str | None = Field(
        default=None,
        min_length=16,
        max_length=200,
        description="Signs the webhook's deliveries (Standard Webhooks; `whsec_…` or raw key text). Omitted: unsigned.",
    )


_CHANNEL_FIELD: dict[str, str] = {"email": "email_address", "slack": "slack_webhook_url", "webhook": "webhook_url"}


def _invalid(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(f"{field}: {message}", details=[{"field": field, "message": message}])


def _target(config: NotificationConfig, channel: str) -> NotifyTarget:
    field = f"{FIELD}.{_CHANNEL_FIELD[channel]}"
    value = getattr(config, _CHANNEL_FIELD[channel])
    if value is None:
        raise _invalid(field, f"is required for the {channel!r} channel")
    try:
        if channel == "email":
            return NotifyTarget.model_validate({"email": {"to": value}})
        if channel == "slack":
            return NotifyTarget.model_validate({"slack": {"webhook_url": value}})
        return NotifyTarget.model_validate({"webhook": {"url": value, "secret": config.webhook_secret}})
    except ValidationError as error:
        problem = error.errors()[0]
        where = field if "secret" not in problem["loc"] else f"{FIELD}.webhook_secret"
        raise _invalid(where, str(problem["msg"]).removeprefix("Value error, ")) from None


async def notify_targets(settings: Settings, config: NotificationConfig | None) -> list[dict[str, Any]]:
    """The targets as stored on runs, schedules and triggers (secrets sealed), one per channel listed."""
    if config is None:
        return []
    if len(set(config.channels)) != len(config.channels):
        raise _invalid(f"{FIELD}.channels", "lists a channel twice")
    targets: list[dict[str, Any]] = []
    for channel in config.channels:
        target = _target(config, channel)
        try:
            targets.extend(await stored(settings, [target], field=FIELD))
        except ValidationFailed as refused:  # named notify.0.webhook.url and so on: name the 002 field instead
            message = refused.details[0]["message"] if refused.details else refused.message
            raise _invalid(f"{FIELD}.{_CHANNEL_FIELD[channel]}", message) from None
    return targets


def shown_config(targets: list[dict[str, Any]] | None) -> dict[str, Any]:
    """Stored targets in 002's shape, without secrets (a Slack URL is a credential: its origin only)."""
    config: dict[str, Any] = {"channels": []}
    for target in shown(targets):
        if "email" in target:
            config["channels"].append("email")
            config["email_address"] = ", ".join(target["email"]["to"])
        elif "slack" in target:
            config["channels"].append("slack")
            config["slack_webhook_url"] = target["slack"]["webhook_url"]
        else:
            config["channels"].append("webhook")
            config["webhook_url"] = target["webhook"]["url"]
            config["webhook_signed"] = target["webhook"]["signed"]
    return config
