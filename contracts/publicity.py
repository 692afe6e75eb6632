"""成交公示: a deal is published for the announced number of working days, then confirmed and
its contract drafted, unless an objection waits for a decision (docs/domain.md §6).

`open_publicity` runs in the transaction that records the deal (the `on_deal` hook); a
publicity of 0 working days confirms at once. `confirm_due` is the scheduler's sweep: every
worker may run it, each deal is locked and re-checked before it is confirmed.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from auction.models import Deal
from contracts import drafting
from contracts.deal_rules import DealAction, DealState, may_confirm, publicity_end, transition
from contracts.models import Objection, ObjectionState
from core import ledger
from core import settings as exchange_settings
from core.db import Database
from core.errors import NotFound
from listings import Listing
from listings.announced import as_announced
from listings.reading import record


async def locked_deal(session: AsyncSession, listing_id: int) -> Deal:
    """The listing's deal, locked and re-read: every change to a deal after the hammer takes
    this lock first (objections, confirmation, default, the runner-up's answer)."""
    deal = await session.get(Deal, listing_id, with_for_update=True, populate_existing=True)
    if deal is None:
        raise NotFound("deal.not_found", "该项目尚未成交")
    return deal


async def open_publicity(session: AsyncSession, deal: Deal, now: datetime) -> None:
    """The deal is published from its decision for the working days the announcement fixed."""
    listing = await session.get(Listing, deal.listing_id)
    assert listing is not None
    settings = as_announced(listing, await exchange_settings.load(session))
    deal.state = DealState.PUBLICITY
    listing.publicity_ends_at = publicity_end(
        deal.decided_at,
        settings.result_publicity_working_days,
        settings.calendar(),
        settings.business_day_ends,
    )
    await record(
        session,
        deal.listing_id,
        "deal.published",
        "system",
        now,
        winner_number=deal.winner_number,
        final_fen=deal.final_fen,
        publicity_ends_at=ledger.timestamp(listing.publicity_ends_at),
    )
    if listing.publicity_ends_at <= now:
        await confirm(session, deal, now)


async def open_objections(session: AsyncSession, listing_id: int) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(Objection)
        .where(Objection.listing_id == listing_id, Objection.state == ObjectionState.FILED)
    )
    return int(count or 0)


async def confirm(session: AsyncSession, deal: Deal, now: datetime) -> None:
    """Publicity over, no objection pending: the deal stands; the lease is drafted now, its
    signing period counted from today."""
    deal.state = transition(DealState(deal.state), DealAction.CONFIRM)
    deal.confirmed_at = now
    await record(session, deal.listing_id, "deal.confirmed", "system", now)
    await drafting.draft(session, deal, now)


async def confirm_if_due(session: AsyncSession, listing_id: int, now: datetime) -> bool:
    """Confirm the listing's deal if its publicity is over with no objection pending."""
    deal = await locked_deal(session, listing_id)
    listing = await session.get(Listing, listing_id)
    if listing is None or listing.publicity_ends_at is None:
        return False
    pending = await open_objections(session, listing_id)
    if not may_confirm(DealState(deal.state), now, listing.publicity_ends_at, pending):
        return False
    await confirm(session, deal, now)
    return True


async def due(session: AsyncSession, now: datetime) -> list[int]:
    """Listings whose deal's publicity is over (objections are checked under the lock)."""
    rows = await session.scalars(
        select(Deal.listing_id)
        .join(Listing, Listing.id == Deal.listing_id)
        .where(Deal.state == DealState.PUBLICITY, Listing.publicity_ends_at <= now)
    )
    return list(rows)


async def confirm_due(db: Database, now: datetime) -> int:
    async with db.read() as session:
        listing_ids = await due(session, now)
    confirmed = 0
    for listing_id in listing_ids:
        async with db.write() as session:
            confirmed += await confirm_if_due(session, listing_id, now)
    return confirmed
