"""One attempt at one destination: a signed webhook POST, a Slack incoming-webhook POST or an email. Each
returns what happened; the dispatcher decides what follows (`dispatcher.next_step`)."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

import aiosmtplib
import httpx

from switchboard.kit.clock import utc_now
from switchboard.kit.secret_box import SIGNING_PREFIX, SecretBox, SecretUnreadable, signing_key
from switchboard.notifications.delivery_queue import Due
from switchboard.notifications.messages import email_message, slack_payload
from switchboard.settings import Settings

EXCERPT_BYTES = 1024


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    excerpt: str | None = None
    error: str | None = None
    retry_after: float | None = None  # seconds, from the receiver's Retry-After
    final: bool = False  # no point retrying (the destination is gone, or refused for good)

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300 and self.error is None


def secret_bytes(secret: str) -> bytes:
    """A `whsec_…` secret is a Standard Webhooks key (`signing_key`); any other string is the key itself."""
    return signing_key(secret) if secret.startswith(SIGNING_PREFIX) else secret.encode()


def signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """`v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, over the exact bytes sent."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(secret_bytes(secret), signed, hashlib.sha256).digest()).decode()


def webhook_headers(msg_id: str, body: bytes, secrets: list[str]) -> dict[str, str]:
    timestamp = int(time.time())
    headers = {"content-type": "application/json", "webhook-id": msg_id, "webhook-timestamp": str(timestamp)}
    if secrets:  # several during a rotation: receivers accept any one (space-separated)
        headers["webhook-signature"] = " ".join(signature(secret, msg_id, timestamp, body) for secret in secrets)
    return headers


def message_id(delivery: Due) -> str:
    """The `webhook-id`: the event's, the same on every attempt and every endpoint, so receivers deduplicate."""
    return f"msg_{delivery.message_id.hex}"


async def post(client: httpx.AsyncClient, url: str, body: bytes, headers: dict[str, str]) -> Outcome:
    """POST, reading at most 1 KiB of the answer; a redirect is not followed (it is a failure)."""
    try:
        async with client.stream("POST", url, content=body, headers=headers) as response:
            excerpt = b""
            async for chunk in response.aiter_bytes():
                excerpt += chunk
                if len(excerpt) >= EXCERPT_BYTES:
                    break
            return Outcome(
                status_code=response.status_code,
                excerpt=excerpt[:EXCERPT_BYTES].decode(errors="replace") or None,
                error=None if response.is_success else _http_error(response),
                retry_after=_retry_after(response.headers.get("retry-after")),
            )
    except httpx.HTTPError as exc:
        return Outcome(status_code=None, error=f"{type(exc).__name__}: {exc}"[:500] or type(exc).__name__)


def _http_error(response: httpx.Response) -> str:
    if response.is_redirect:
        return f"HTTP {response.status_code}: redirects are not followed (give the final URL)"
    return f"HTTP {response.status_code}"


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, (parsedate_to_datetime(value) - utc_now()).total_seconds())
    except (TypeError, ValueError):
        return None


def output_body(event_body: str) -> str:
    """A target's `body: "output"`: a succeeded run's output alone, as its exact JSON; any other event (a failure,
    a pause, or a run with no output) as it is, `{type, timestamp, data}`."""
    event = json.loads(event_body)
    data = event.get("data") or {}
    if event.get("type") != "run.succeeded" or data.get("output") is None:
        return event_body
    return json.dumps(data["output"], separators=(",", ":"), ensure_ascii=False)


def hex_signature(secret: str, body: bytes) -> str:
    """A target's `signature_header`: the hex HMAC-SHA256 of the body, keyed with the secret as written (UTF-8)."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


async def send_webhook(client: httpx.AsyncClient, box: SecretBox, delivery: Due) -> Outcome:
    target = delivery.target
    body = (
        output_body(delivery.body) if target is not None and target.get("body") == "output" else delivery.body
    ).encode()
    if target is not None:  # a run's own destination
        url = target["url"]
        sealed = [target["secret"]] if target.get("secret") else []
    else:
        assert delivery.url is not None  # an endpoint's delivery comes with its URL
        url, sealed = delivery.url, list(delivery.secrets)
    secrets = [box.open(sealed[0])] if sealed else []  # the current one must open (else: SecretUnreadable)
    for previous in sealed[1:]:  # sealed under an older server key, say: the current one is what counts
        with contextlib.suppress(SecretUnreadable):
            secrets.append(box.open(previous))
    headers = webhook_headers(message_id(delivery), body, secrets)
    if target is not None and target.get("signature_header") and secrets:
        headers[target["signature_header"].lower()] = hex_signature(secrets[0], body)
    outcome = await post(client, url, body, headers)
    return outcome if outcome.status_code != 410 else Outcome(410, outcome.excerpt, "HTTP 410 Gone", final=True)


async def send_slack(client: httpx.AsyncClient, box: SecretBox, delivery: Due) -> Outcome:
    assert delivery.target is not None  # Slack is only ever a run's own destination
    url = box.open(delivery.target["webhook_url"])
    body = httpx.Request("POST", url, json=slack_payload(delivery.body)).read()
    outcome = await post(client, url, body, {"content-type": "application/json"})
    # 404 channel_not_found, 410 channel_is_archived: retrying will not bring the channel back.
    gone = outcome.status_code in (404, 410)
    return Outcome(outcome.status_code, outcome.excerpt, outcome.error, outcome.retry_after, final=gone)


async def send_email(settings: Settings, delivery: Due) -> Outcome:
    assert delivery.target is not None  # email is only ever a run's own destination
    if settings.smtp_host is None:
        return Outcome(None, error="this server sends no email (SWITCHBOARD_SMTP_HOST is not set)", final=True)
    message = email_message(delivery.body, sender=settings.smtp_from, to=delivery.target["to"])
    password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
    try:
        _refused, reply = await aiosmtplib.send(
            message,
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username,
            password=password,
            use_tls=settings.smtp_security == "tls",
            # Required, not opportunistic: a server that does not offer it must not get the password in clear.
            start_tls=settings.smtp_security == "starttls",
            timeout=settings.webhook_timeout_seconds,
        )
    except aiosmtplib.SMTPRecipientsRefused as exc:
        return Outcome(None, error=f"every recipient was refused: {exc}"[:500], final=True)
    except aiosmtplib.SMTPResponseException as exc:
        # 5xx is the server's final word (a refused recipient, say); 4xx may pass.
        return Outcome(
            exc.code, exc.message[:EXCERPT_BYTES], f"SMTP {exc.code}: {exc.message}"[:500], final=exc.code >= 500
        )
    except (aiosmtplib.SMTPException, OSError) as exc:
        return Outcome(None, error=f"{type(exc).__name__}: {exc}"[:500])
    return Outcome(250, reply[:EXCERPT_BYTES])
