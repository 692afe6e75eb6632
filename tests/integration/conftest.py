"""An in-process exchange per test, on SQLite and PostgreSQL, with a controllable clock."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar import Litestar

from app.main import build_services, create_app, wire
from app.scheduler import close_due_registrations, settle_due_deals
from auction.timers import advance_due
from core.accounts import NewUser, add_user
from core.clock import FakeClock
from core.config import Config
from core.web import Services
from listings import Listing
from tests.support import PASSWORD, PAYMENT_SECRET, XINGTIAN, Http

# Tuesday 2026-12-01 09:00 in Beijing: a working day, so notice periods are easy to reason about.
START = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)

STAFF = [
    NewUser("xingtian", "village", PASSWORD, "杏田村经办人", XINGTIAN),
    NewUser(
        "other-village",
        "village",
        PASSWORD,
        "后坑村经办人",
        "福建省/泉州市/泉州台商投资区/洛阳镇/后坑村",
    ),
    NewUser("reviewer", "reviewer", PASSWORD, "交易中心审核员"),
    NewUser("regulator", "regulator", PASSWORD, "农经站监管员"),
    NewUser("admin", "admin", PASSWORD, "系统管理员"),
]


@dataclass
class Exchange:
    http: Http
    clock: FakeClock
    services: Services
    app: Litestar

    async def tick(self) -> None:
        """Run the due work a worker's scheduler would run at the current (fake) time."""
        await close_due_registrations(self.services, self.app.state.bids.on_deal)
        await advance_due(self.services.db, self.app.state.bids, self.clock)
        await settle_due_deals(self.services)

    async def past_publicity(self, listing_id: int) -> None:
        """Move the clock to the end of the listing's result publicity and run the due work:
        with no objection pending, the deal is confirmed and its lease drafted."""
        async with self.services.db.read() as session:
            listing = await session.get(Listing, listing_id)
            assert listing is not None and listing.publicity_ends_at is not None
            ends = listing.publicity_ends_at
        if ends > self.clock.now():
            self.clock.set(ends)
        await self.tick()


#: Built apps not in use, by the one setting the app itself keeps (the body limit). Building
#: the routes takes half a second; a test takes a built one and wires its own services in.
_idle_apps: dict[int, Litestar] = {}


def _app(services: Services) -> Litestar:
    app = _idle_apps.pop(services.config.max_json_bytes, None)
    if app is None:
        return create_app(services=services, run_scheduler=False)
    wire(app, services)
    return app


@contextlib.asynccontextmanager
async def make_exchange(
    database_url: str, tmp_path: Path, **config: Any
) -> AsyncIterator[Exchange]:
    """An in-process exchange in the test's own event loop; `config` overrides the defaults."""
    clock = FakeClock(START)
    settings: dict[str, Any] = {
        "database_url": database_url,
        "data_dir": str(tmp_path / "data"),
        "secret_key": "test-secret",
        "payment_secret": PAYMENT_SECRET,
        "login_free_failures": 1000,
        "signups_per_address": 1000,
        "bids_per_second": 1000,
        "argon2_time_cost": 1,
        "argon2_memory_kib": 1024,
        **config,
    }
    services = build_services(Config(**settings), clock)
    app = _app(services)
    # Due work (registration close, timers) is run by the test when it moves the clock.
    try:
        async with services.db.write() as session:
            for user in STAFF:
                await add_user(
                    session, user, actor="test", now=clock.now(), passwords=services.passwords
                )
        await app.state.hub.start()
        transport = httpx.ASGITransport(app=app)
        base = "http://testserver.local"
        async with httpx.AsyncClient(transport=transport, base_url=base) as client:
            yield Exchange(Http(client), clock, services, app)
    finally:
        await app.state.hub.stop()
        await services.db.dispose()
        _idle_apps.setdefault(services.config.max_json_bytes, app)


@pytest.fixture
async def exchange(database_url: str, tmp_path: Path) -> AsyncIterator[Exchange]:
    async with make_exchange(database_url, tmp_path) as ex:
        yield ex
