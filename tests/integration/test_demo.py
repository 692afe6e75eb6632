"""`ruralx run --demo` (app/demo.py) on SQLite and PostgreSQL: the first start's users, rules
and reference listing; every start's quick listing, registration closing 3 minutes after the
start, its two bidders registered and paid through the bank's callback, in the ledger; a
later start beside the earlier ones; a rule that forbids the quick listing; the guide."""

from __future__ import annotations

import re
import stat
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app import demo
from app.main import build_services, create_app
from app.scheduler import close_due_registrations
from auction.timers import advance_due
from core import settings as exchange_settings
from core.clock import FakeClock
from core.config import Config
from core.db import Database
from core.ledger import LedgerEntry, verify_subject
from listings.models import Listing, Payment, Registration
from tests.integration.conftest import START
from tests.support import PAYMENT_SECRET

#: Not on a whole minute, as a real start is not.
STARTED = START + timedelta(seconds=17)


@pytest.fixture
def config(database_url: str, tmp_path: Path) -> Config:
    return Config(
        database_url=database_url,
        data_dir=str(tmp_path / "data"),
        secret_key="test-secret",
        payment_secret=PAYMENT_SECRET,
        argon2_time_cost=1,
        argon2_memory_kib=1024,
    )


@pytest.fixture
async def db(config: Config) -> AsyncIterator[Database]:
    database = Database(config.database_url)
    yield database
    await database.dispose()


async def test_the_quick_listing_closes_registration_three_minutes_after_start(
    config: Config, db: Database
) -> None:
    seeded = await demo.seed(config, FakeClock(STARTED))
    assert seeded.first_start and seeded.refused is None and seeded.quick is not None
    quick = seeded.quick
    assert quick.closes == STARTED + timedelta(minutes=3)
    # The first whole minute at least half a minute after the close: 09:04 in Beijing.
    assert quick.starts == START + timedelta(minutes=4)
    assert quick.starts - STARTED < timedelta(minutes=5)

    async with db.read() as session:
        listing = await session.get(Listing, quick.id)
        assert listing is not None and listing.state == "announced"
        assert listing.registration_closes_at == STARTED + timedelta(minutes=3)
        assert listing.auction_starts_at == quick.starts
        assert listing.terms.free_bidding_minutes == 2 and listing.terms.countdown_seconds == 30
        registrations = list(
            await session.scalars(select(Registration).where(Registration.listing_id == quick.id))
        )
        assert [r.state for r in registrations] == ["deposit_paid", "deposit_paid"]
        assert all(r.ip is None and r.priority_claim is None for r in registrations)
        paid = list(
            await session.scalars(
                select(Payment).where(Payment.registration_id.in_([r.id for r in registrations]))
            )
        )
        assert {(p.source, p.outcome, p.amount_fen) for p in paid} == {
            ("bank", "accepted", 200_000)
        }
        deposits = await session.scalar(
            select(func.count()).where(
                LedgerEntry.subject == f"listing:{quick.id}",
                LedgerEntry.type == "deposit.paid",
                LedgerEntry.actor == "bank",
            )
        )
        assert deposits == 2
        assert await verify_subject(session, f"listing:{quick.id}") is None
        # The reference listing of the first start, registration open for 30 minutes.
        reference = await session.scalar(
            select(Listing).where(Listing.title == "杏田村杏秀路口水泥地面公开招租")
        )
        assert reference is not None and reference.state == "announced"
        assert reference.registration_closes_at == STARTED + timedelta(minutes=30)

    path = Path(config.data_dir) / "demo-credentials.txt"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert set(seeded.passwords) == {u[0] for u in demo.DEMO_USERS}

    text = demo.guide(seeded, "http://127.0.0.1:8000")
    assert "网址：http://127.0.0.1:8000" in text
    assert f"http://127.0.0.1:8000/review/listings/{quick.id}" in text
    assert f"http://127.0.0.1:8000/auctions/{quick.id}" in text
    assert "确认全部已缴款竞买人资格" in text
    # Beijing time: the start was 09:00:17.
    assert "09:03:17 报名截止前" in text and "09:04 竞价开始" in text
    for username, password in seeded.passwords.items():
        assert re.search(rf"{re.escape(username)} +{re.escape(password)}\n", text)
    assert str(path) in text


async def test_a_later_start_adds_a_quick_listing_and_the_earlier_ones_run_their_course(
    config: Config, db: Database
) -> None:
    clock = FakeClock(STARTED)
    first = await demo.seed(config, clock)
    assert first.quick is not None
    clock.advance(timedelta(hours=2))
    second = await demo.seed(config, clock)
    assert not second.first_start and second.refused is None and second.quick is not None
    assert second.passwords == first.passwords  # read back from the credentials file
    assert second.quick.id != first.quick.id
    assert second.quick.closes == clock.now() + timedelta(minutes=3)
    assert "首次启动时生成" in demo.guide(second, "http://127.0.0.1:8000")

    # The server's due work: what closed while it was down is closed, the missed auction
    # (its two bidders qualified by the system at the close) ends unsold.
    services = build_services(config, clock)
    app = create_app(services=services, run_scheduler=False)
    await app.state.hub.start()
    try:
        await close_due_registrations(services, app.state.bids.on_deal)
        while await advance_due(services.db, app.state.bids, clock):
            pass
    finally:
        await app.state.hub.stop()
        await services.db.dispose()
    async with db.read() as session:
        earlier = await session.get(Listing, first.quick.id)
        assert earlier is not None
        assert (earlier.state, earlier.outcome) == ("failed", "unsold_no_bids")
        states = await session.scalars(
            select(Registration.state).where(Registration.listing_id == first.quick.id)
        )
        assert list(states) == ["qualified", "qualified"]
        latest = await session.get(Listing, second.quick.id)
        assert latest is not None and latest.state == "announced"
        for listing_id in (first.quick.id, second.quick.id):
            assert await verify_subject(session, f"listing:{listing_id}") is None


async def test_rules_that_forbid_the_quick_listing_leave_it_out_and_say_why(
    config: Config, db: Database
) -> None:
    clock = FakeClock(STARTED)
    await demo.seed(config, clock)
    async with db.write() as session:
        await exchange_settings.update(
            session, {"notice_period_working_days": 5}, actor="test", now=clock.now()
        )
        listings = await session.scalar(select(func.count()).select_from(Listing))
    clock.advance(timedelta(hours=1))
    seeded = await demo.seed(config, clock)
    assert seeded.quick is None and seeded.refused is not None
    assert seeded.refused.startswith("公告期不得少于 5 个工作日")
    async with db.read() as session:  # the rule is kept, and nothing half-done is left
        assert await session.scalar(select(func.count()).select_from(Listing)) == listings
    text = demo.guide(seeded, "http://127.0.0.1:8000")
    assert "本次未能发布五分钟演示项目：公告期不得少于 5 个工作日" in text
    assert "“交易规则”页" in text
