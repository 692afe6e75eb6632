"""The embedded database holds ID numbers, phones and password hashes: only its owner reads it."""

from __future__ import annotations

import stat
from pathlib import Path

from app.migrate import upgrade


def test_the_sqlite_file_is_private_even_if_it_was_not(tmp_path: Path) -> None:
    path = tmp_path / "data" / "ruralx.db"
    upgrade(f"sqlite+aiosqlite:///{path}")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    path.chmod(0o644)  # as an older version left it
    upgrade(f"sqlite+aiosqlite:///{path}")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
