"""Every setting is documented where a user looks for it: the README's configuration table and `.env.example`."""

from __future__ import annotations

from pathlib import Path

import pytest

from switchboard.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("document", ["README.md", ".env.example"])
def test_every_setting_is_documented(document: str) -> None:
    text = (ROOT / document).read_text()
    missing = [name for name in Settings.model_fields if f"SWITCHBOARD_{name.upper()}" not in text]
    assert missing == [], f"{document} does not mention: {missing}"


def test_the_example_file_is_valid_settings(tmp_path: Path) -> None:
    """`.env.example` copied as `.env` is a working configuration (its blank values mean unset)."""
    settings = Settings(_env_file=ROOT / ".env.example")
    assert settings.secret_key is None
    assert settings.smtp_host is None
    assert settings.webhook_retry_seconds[0] == 5
