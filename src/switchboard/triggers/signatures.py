"""Checking an inbound event's signature on the raw body bytes, before anything parses them.

Two styles, chosen per trigger (`signature`):

- `standard` ([Standard Webhooks](https://www.standardwebhooks.com)): `webhook-id`, `webhook-timestamp` (unix
  seconds, within ±5 minutes of this server's clock) and `webhook-signature: v1,<base64 HMAC-SHA256 of
  "{id}.{timestamp}.{body}">`, a space-separated list of which one match is enough (senders rotating their
  secret send both). The HMAC key is the secret's bytes: `whsec_` stripped, the rest base64-decoded, as the
  spec and the `standardwebhooks` library have it.
- `github`: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>`. GitHub signs with the secret *as typed*:
  the key is the whole secret string as UTF-8, `whsec_` included, so the secret this server shows is pasted into
  GitHub's "Secret" field unchanged. There is no timestamp, and `X-GitHub-Delivery` (the event's id) is not
  signed: a signed body resent under a fresh id would pass the check, so for these triggers the same body is also
  one event (`ingest._record`), whatever its delivery id.

Implemented here rather than with `standardwebhooks.Webhook.verify`, which decodes the body as text first (a body
that is not UTF-8 raised `UnicodeDecodeError`, a 500) and splits entries without checking their shape.
Every failure is one 401 whose message says what to fix, never which secret was tried.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Mapping, Sequence

from switchboard.kit.errors import AppError
from switchboard.kit.secret_box import signing_key

TOLERANCE_SECONDS = 5 * 60
_UNIX_SECONDS = re.compile(r"[0-9]{1,12}")


class SignatureRejected(AppError):
    """The event is not signed with this trigger's secret (or too old to be checked): nothing was stored.
    Not `Unauthenticated`: that one asks for a bearer API key (`WWW-Authenticate`), which a sender has none of."""

    status_code = 401
    type = "authentication_error"


def verify_standard(headers: Mapping[str, str], body: bytes, secrets: Sequence[str], now: float) -> str:
    """The event's `webhook-id`, once one of its signatures matches one of `secrets`; else SignatureRejected.
    `headers`: as Starlette gives them (names lower-cased, values decoded as latin-1, i.e. the bytes sent)."""
    event_id = headers.get("webhook-id")
    timestamp = headers.get("webhook-timestamp")
    signatures = headers.get("webhook-signature")
    if not (event_id and timestamp and signatures):
        raise SignatureRejected(
            "Missing signature: a Standard Webhooks event needs the headers webhook-id, webhook-timestamp and "
            "webhook-signature (v1,<base64 HMAC-SHA256 of id.timestamp.body>)."
        )
    if not _UNIX_SECONDS.fullmatch(timestamp):
        raise SignatureRejected("webhook-timestamp must be the time of sending in whole unix seconds.")
    if abs(now - int(timestamp)) > TOLERANCE_SECONDS:
        raise SignatureRejected(
            "webhook-timestamp is more than 5 minutes away from this server's clock: sign each attempt with the "
            "time it is sent (a replayed old request is refused)."
        )
    signed = b".".join((event_id.encode("latin-1"), timestamp.encode("latin-1"), body))
    expected = [hmac.new(signing_key(secret), signed, hashlib.sha256).digest() for secret in secrets]
    for entry in signatures.split():
        version, _, encoded = entry.partition(",")
        if version != "v1":  # v1a (asymmetric) and future versions: not ours to check
            continue
        try:
            given = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            continue
        if any(hmac.compare_digest(given, digest) for digest in expected):
            return event_id
    raise SignatureRejected(
        "No webhook-signature matches: sign with this trigger's secret (the one shown when it was created or its "
        "secret last rotated) over the exact body bytes sent."
    )


def verify_github(headers: Mapping[str, str], body: bytes, secrets: Sequence[str]) -> None:
    """Returns when `X-Hub-Signature-256` matches one of `secrets` (each used whole, as UTF-8); else
    SignatureRejected."""
    header = headers.get("x-hub-signature-256")
    if not header:
        raise SignatureRejected(
            "Missing signature: send X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>, keyed with this "
            "trigger's secret as shown (whsec_… included)."
        )
    scheme, _, hex_digest = header.partition("=")
    if scheme == "sha256" and _hex_matches(hex_digest, body, secrets):
        return
    raise SignatureRejected(
        "X-Hub-Signature-256 does not match: it must be sha256=<hex HMAC-SHA256 of the exact body>, keyed with this "
        "trigger's secret as shown (whsec_… included)."
    )


def verify_hex(headers: Mapping[str, str], body: bytes, secrets: Sequence[str], header: str) -> None:
    """Returns when `header` holds the hex HMAC-SHA256 of the body (bare, or after `sha256=`) keyed with one of
    `secrets` as UTF-8, as GitHub-style signatures are; else SignatureRejected. For adapters of systems that
    signed this way (seed 003's `X-Webhook-Signature`): no id and no time are signed, so the caller must treat the
    same body as one event."""
    value = headers.get(header.lower())
    if not value:
        raise SignatureRejected(
            f"Missing signature: send {header}: <hex HMAC-SHA256 of the exact body>, keyed with the secret as shown."
        )
    scheme, _, hex_digest = value.rpartition("=")
    if scheme in ("", "sha256") and _hex_matches(hex_digest, body, secrets):
        return
    raise SignatureRejected(
        f"{header} does not match: it must be the hex HMAC-SHA256 of the exact body bytes, keyed with the secret as "
        "shown (whsec_… included)."
    )


def _hex_matches(hex_digest: str, body: bytes, secrets: Sequence[str]) -> bool:
    try:
        given = bytes.fromhex(hex_digest)
    except ValueError:
        return False
    expected = (hmac.new(secret.encode(), body, hashlib.sha256).digest() for secret in secrets)
    return bool(given) and any(hmac.compare_digest(given, digest) for digest in expected)
