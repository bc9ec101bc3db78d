"""Secrets the server must use again (webhook and trigger signing secrets), encrypted at rest with the server's
key. API keys are not here: they are only ever compared, so they are stored as digests."""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import tempfile
from datetime import timedelta
from functools import lru_cache
from pathlib import Path

import structlog
from cryptography.fernet import Fernet, InvalidToken

from switchboard.settings import Settings

log = structlog.get_logger(__name__)

KEY_FILE = "secret_key"


class SecretUnreadable(Exception):
    """A stored secret cannot be decrypted with this server's key (the key changed?)."""


class SecretBox:
    """Fernet (AES-128-CBC with HMAC-SHA256, authenticated) under a key derived from the server's secret."""

    def __init__(self, key: str) -> None:
        digest = hashlib.sha256(key.encode()).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(digest))

    def seal(self, plain: str) -> str:
        return self._fernet.encrypt(plain.encode()).decode()

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken:
            raise SecretUnreadable(
                "a stored secret cannot be decrypted with this server's SWITCHBOARD_SECRET_KEY: was the key "
                "changed? Rotate the secret to make a new one."
            ) from None


def secret_box(settings: Settings) -> SecretBox:
    """The box for `settings`: its `secret_key`, or the key generated into its data dir on first use."""
    return _box(server_key(settings))


def server_key(settings: Settings) -> str:
    """The server's secret: `secret_key`, or the key generated into its data dir on first use. Each use derives
    its own key from it (the box above, the console's session cookies), so no two uses share one."""
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value()
    return _key_file(settings.data_dir.resolve())


@lru_cache(maxsize=8)
def _box(key: str) -> SecretBox:
    return SecretBox(key)


@lru_cache(maxsize=8)
def _key_file(data_dir: Path) -> str:
    """Read the generated key, or create it: written whole to a temporary file first, then linked into place
    (atomic, and never over an existing key), so a process starting beside this one reads either no file or the
    whole key, never a half-written one. Readable by this user only."""
    path = data_dir / KEY_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=data_dir, prefix=".secret_key.")  # mode 0600
        try:
            with os.fdopen(descriptor, "w") as file:
                file.write(secrets.token_urlsafe(32))
            os.link(temporary, path)
        except FileExistsError:
            pass  # another process made it first: read theirs
        else:
            log.warning(
                "secret_key.generated",
                path=str(path),
                note="set SWITCHBOARD_SECRET_KEY (the same in every process) to keep stored secrets readable when "
                "processes run on other machines",
            )
        finally:
            os.unlink(temporary)
    return path.read_text().strip()


ROTATION_GRACE = timedelta(hours=24)
"""After a signing secret is rotated, the previous one still signs (webhooks) or is still accepted (triggers)
this long, so the other side can switch."""
SIGNING_PREFIX = "whsec_"


def signing_key(secret: str) -> bytes:
    """The HMAC key of a Standard Webhooks secret: base64 after `whsec_` (its padding may be left off, as the
    libraries allow); a binascii.Error (a ValueError) when it is not base64."""
    encoded = secret.removeprefix(SIGNING_PREFIX)
    return base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)


def new_signing_secret() -> str:
    """A Standard Webhooks secret: `whsec_` and 32 random bytes in base64."""
    return SIGNING_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()
