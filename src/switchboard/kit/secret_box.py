"""Secrets the server must use again (webhook and trigger signing secrets), encrypted at rest with the server's
key. API keys are not here: they are only ever compared, so they are stored as digests."""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
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
    if settings.secret_key is not None:
        return _box(settings.secret_key.get_secret_value())
    return _box(_key_file(settings.data_dir.resolve()))


@lru_cache(maxsize=8)
def _box(key: str) -> SecretBox:
    return SecretBox(key)


@lru_cache(maxsize=8)
def _key_file(data_dir: Path) -> str:
    """Read the generated key, or create it (readable by this user only; never overwritten)."""
    path = data_dir / KEY_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process made it first: read theirs
        else:
            with os.fdopen(descriptor, "w") as file:
                file.write(secrets.token_urlsafe(32))
            log.warning(
                "secret_key.generated",
                path=str(path),
                note="set SWITCHBOARD_SECRET_KEY (the same in every process) to keep stored secrets readable when "
                "processes run on other machines",
            )
    return path.read_text().strip()


def new_signing_secret() -> str:
    """A Standard Webhooks secret: `whsec_` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
