"""The bank callback secret: never guessable, never empty."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.config import Config
from listings.payments import sign_callback, signature_ok


def test_an_empty_secret_verifies_nothing() -> None:
    raw = b'{"reference":"RX1"}'
    assert not signature_ok("", raw, sign_callback("", raw))
    assert signature_ok("s3cret", raw, sign_callback("s3cret", raw))
    assert not signature_ok("s3cret", raw, sign_callback("other", raw))


def test_an_unset_secret_is_random_and_kept_in_the_data_dir(tmp_path: Path) -> None:
    first = Config.from_env({"RURALX_DATA_DIR": str(tmp_path)})
    again = Config.from_env({"RURALX_DATA_DIR": str(tmp_path)})
    assert len(first.payment_secret) >= 32 and first.payment_secret == again.payment_secret
    assert first.payment_secret != first.secret_key
    given = Config.from_env({"RURALX_DATA_DIR": str(tmp_path), "RURALX_PAYMENT_SECRET": "bank"})
    assert given.payment_secret == "bank"


def test_without_a_data_dir_the_secrets_go_to_the_default_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    config = Config.from_env({})
    assert config.data_dir == "var/data"
    assert (tmp_path / "var" / "data" / "secret-key").read_text().strip() == config.secret_key
    assert [p.name for p in tmp_path.iterdir()] == ["var"]
