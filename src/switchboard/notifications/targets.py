"""`notify`: where one run (or every run of a schedule or trigger) is told about besides the user's webhook
endpoints. Checked when given (a URL must be public, email needs SMTP) and stored with secrets encrypted."""

from __future__ import annotations

import re
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from switchboard.kit.egress import UrlRefused, check_url
from switchboard.kit.errors import ValidationFailed
from switchboard.kit.secret_box import secret_box
from switchboard.models.notifications import Channel
from switchboard.notifications.senders import secret_bytes
from switchboard.settings import Settings

MAX_TARGETS = 10
# One address: no spaces, and none of the characters that would make a header of several (`,;<>"()[]\`).
_ADDRESS_PART = r'[^@\s,;<>"()\[\]\\]+'
_EMAIL = re.compile(rf"{_ADDRESS_PART}@{_ADDRESS_PART}\.{_ADDRESS_PART}")
HEADER_NAME = r"^[A-Za-z0-9][A-Za-z0-9-]*$"
# Headers the sender sets itself: a target's `signature_header` may not replace them.
RESERVED_HEADERS = frozenset(
    {"content-type", "content-length", "host", "webhook-id", "webhook-timestamp", "webhook-signature"}
)
WebhookBody = Literal["event", "output"]


class WebhookTarget(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str = Field(max_length=2048, pattern=r"^https?://", examples=["https://example.com/hooks/switchboard"])
    secret: str | None = Field(
        default=None,
        min_length=16,
        max_length=200,
        description="Signs the deliveries (Standard Webhooks); a `whsec_…` value is used as such (base64 of 24 to "
        "64 bytes), anything else as raw key bytes. Omitted: sent unsigned.",
    )

    @field_validator("secret")
    @classmethod
    def _whsec(cls, secret: str | None) -> str | None:
        if secret is not None and secret.startswith("whsec_"):
            try:
                key = secret_bytes(secret)
            except ValueError:  # binascii.Error
                raise ValueError("a whsec_ secret must be base64 after the prefix") from None
            if not 24 <= len(key) <= 64:
                raise ValueError(f"a whsec_ secret must hold 24 to 64 bytes, not {len(key)}")
        return secret

    signature_header: str | None = Field(
        default=None,
        max_length=64,
        pattern=HEADER_NAME,
        examples=["X-Webhook-Signature"],
        description="Also sign in this header, as the hex HMAC-SHA256 of the exact body bytes keyed with `secret` as "
        "written (UTF-8), for receivers that check a plain HMAC rather than Standard Webhooks. Needs `secret`.",
    )
    body: WebhookBody = Field(
        default="event",
        description="`event`: `{type, timestamp, data}` (data: the run). `output`: when the run succeeded, its output "
        "alone (the exact JSON of `output`), for receivers that want the result at the top level; any other event "
        "is sent as `event`.",
    )

    @model_validator(mode="after")
    def _header_needs_secret(self) -> WebhookTarget:
        if self.signature_header is not None:
            if self.secret is None:
                raise ValueError("signature_header needs a secret to sign with")
            if self.signature_header.lower() in RESERVED_HEADERS:
                raise ValueError(f"signature_header cannot be {self.signature_header}: that header is set already")
        return self


class SlackTarget(BaseModel):
    model_config = ConfigDict(extra="forbid")
    webhook_url: str = Field(max_length=2048, pattern=r"^https?://", description="A Slack incoming-webhook URL.")


class EmailTarget(BaseModel):
    model_config = ConfigDict(extra="forbid")
    to: list[str] = Field(min_length=1, max_length=10, description="Recipients (one address or a list).")

    @model_validator(mode="before")
    @classmethod
    def _one_address(cls, value: Any) -> Any:
        if isinstance(value, dict) and isinstance(value.get("to"), str):
            return {**value, "to": [value["to"]]}
        return value

    @model_validator(mode="after")
    def _addresses(self) -> EmailTarget:
        for address in self.to:
            if len(address) > 320 or not _EMAIL.fullmatch(address):
                raise ValueError(f"{address!r} is not an email address")
        return self


class NotifyTarget(BaseModel):
    """Exactly one of `webhook`, `slack`, `email`."""

    model_config = ConfigDict(extra="forbid")
    webhook: WebhookTarget | None = None
    slack: SlackTarget | None = None
    email: EmailTarget | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> NotifyTarget:
        if sum(target is not None for target in (self.webhook, self.slack, self.email)) != 1:
            raise ValueError("give exactly one of webhook, slack or email")
        return self


Notify = list[NotifyTarget]
NOTIFY_FIELD = Field(
    default=None,
    max_length=MAX_TARGETS,
    description="Where to tell about this run's outcome (and a pause for approval), besides your webhook "
    'endpoints: `[{"webhook": {"url", "secret"?, "signature_header"?, "body"?}}, {"slack": {"webhook_url"}}, '
    '{"email": {"to"}}]`.',
)


async def stored(settings: Settings, notify: list[NotifyTarget] | None, field: str = "notify") -> list[dict[str, Any]]:
    """The targets as stored on the run (secrets encrypted), after checking each: 422 naming the field."""
    result: list[dict[str, Any]] = []
    for index, target in enumerate(notify or []):
        where = f"{field}.{index}"  # as Pydantic names a list item: notify.0.webhook.url
        if target.webhook is not None:
            webhook = target.webhook
            result.append(
                await stored_webhook(
                    settings,
                    webhook.url,
                    webhook.secret,
                    f"{where}.webhook.url",
                    webhook.signature_header,
                    webhook.body,
                )
            )
        elif target.slack is not None:
            await _check(settings, target.slack.webhook_url, f"{where}.slack.webhook_url")
            # The URL is the credential (whoever has it can post to the channel): sealed like a secret.
            sealed_url = secret_box(settings).seal(target.slack.webhook_url)
            result.append(
                {"channel": Channel.SLACK, "webhook_url": sealed_url, "shown": _origin(target.slack.webhook_url)}
            )
        elif target.email is not None:
            if settings.smtp_host is None:
                raise ValidationFailed(
                    f"{where}.email: this server sends no email (SWITCHBOARD_SMTP_HOST is not set)",
                    details=[{"field": f"{where}.email", "message": "no SMTP server configured"}],
                )
            _check_domains(settings, target.email.to, f"{where}.email.to")
            result.append({"channel": Channel.EMAIL, "to": target.email.to})
    return result


async def stored_webhook(
    settings: Settings,
    url: str,
    secret: str | None,
    url_field: str,
    signature_header: str | None = None,
    body: WebhookBody = "event",
) -> dict[str, Any]:
    """A webhook target as stored, its URL checked (422 naming `url_field`) and its secret sealed. For adapters
    whose clients already hold secrets shorter than `WebhookTarget` asks for: they check their own rules first."""
    await _check(settings, url, url_field)
    sealed = secret_box(settings).seal(secret) if secret is not None else None
    target: dict[str, Any] = {"channel": Channel.WEBHOOK, "url": url, "secret": sealed}
    if signature_header is not None:
        target["signature_header"] = signature_header
    if body != "event":
        target["body"] = body
    return target


def _check_domains(settings: Settings, addresses: list[str], field: str) -> None:
    """With `smtp_allowed_domains` set, mail goes to those domains only: the server's SMTP login is not a relay
    for whatever addresses a user names."""
    allowed = {domain.lower() for domain in settings.smtp_allowed_domains}
    if not allowed:
        return
    outside = [address for address in addresses if address.rsplit("@", 1)[1].lower() not in allowed]
    if outside:
        message = f"{', '.join(outside)}: this server sends email only to {', '.join(sorted(allowed))}"
        raise ValidationFailed(f"{field}: {message}", details=[{"field": field, "message": message}])


def shown(stored_targets: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """The targets as the API shows them: never a secret, only whether there is one."""
    shown_targets: list[dict[str, Any]] = []
    for target in stored_targets or []:
        channel = target["channel"]
        if channel == Channel.WEBHOOK:
            webhook: dict[str, Any] = {"url": target["url"], "signed": target.get("secret") is not None}
            if target.get("signature_header"):
                webhook["signature_header"] = target["signature_header"]
            if target.get("body"):
                webhook["body"] = target["body"]
            shown_targets.append({"webhook": webhook})
        elif channel == Channel.SLACK:
            shown_targets.append({"slack": {"webhook_url": target["shown"]}})
        else:
            shown_targets.append({"email": {"to": target["to"]}})
    return shown_targets


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/…"


async def _check(settings: Settings, url: str, field: str) -> None:
    try:
        await check_url(settings, url)
    except UrlRefused as refused:
        raise ValidationFailed(f"{field}: {refused}", details=[{"field": field, "message": str(refused)}]) from None
