"""Reference-case steps 1–3 over HTTP against a real server process, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from core import ledger
from core.db import Database
from tests.e2e.conftest import STAFF
from tests.servers import ServerClock, add_users, running_server, server_env
from tests.support import (
    PASSWORD,
    Http,
    entrust_review_announce,
    sign_up_and_qualify,
    until,
)

pytestmark = pytest.mark.slow


async def test_first_half_over_http(database_url: str, tmp_path: Path) -> None:
    clock = ServerClock(tmp_path / "clock")
    env = server_env(database_url, tmp_path / "data", clock)
    await add_users(database_url, STAFF, PASSWORD)
    with running_server(env, tmp_path) as server:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as client:
            anon = Http(client)
            admin = await anon.login("admin")
            # No notice period, so the window can be short; server time jumps over it.
            await admin.ok(
                "PUT",
                "/api/v1/settings",
                {"notice_period_working_days": 0, "qualification_window_minutes": 0},
            )
            now = clock.now()
            listing_id, _, reviewer = await entrust_review_announce(
                anon, now, closes_in=timedelta(hours=1), starts_in=timedelta(hours=2)
            )
            await sign_up_and_qualify(anon, reviewer, listing_id)
            listing = await anon.ok("GET", f"/api/v1/listings/{listing_id}")
            assert listing["state"] == "announced"
            assert "reserve_fen" not in listing["terms"]
            # The server's own scheduler closes registration when its time comes.
            clock.jump_to(now + timedelta(hours=1, seconds=1))
            listing = await until(
                lambda: anon.ok("GET", f"/api/v1/listings/{listing_id}"),
                lambda listing: listing["state"] != "announced",
                what="registration close",
            )
            assert listing["state"] == "auction"
    db = Database(database_url)
    try:
        async with db.read() as session:
            assert await ledger.verify_subject(session, f"listing:{listing_id}") is None
    finally:
        await db.dispose()
