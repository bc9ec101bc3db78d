"""API key format: `sb_` + 40 random URL-safe characters. Stored as SHA-256 (keys are random, so a fast
hash is enough) with the first 12 characters kept visible to name the key in listings and `keys revoke`."""

from __future__ import annotations

import hashlib
import secrets

KEY_PREFIX = "sb_"
VISIBLE_CHARS = 12


def generate_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(30)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def visible_prefix(key: str) -> str:
    return key[:VISIBLE_CHARS]
