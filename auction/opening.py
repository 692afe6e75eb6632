"""Registration close, as the auction sees it: open the auction or record the agreement deal."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from auction import engine
from auction.deal import DealHook, record_deal
from auction.draw import draw_priority_order
from auction.models import Auction
from auction.rows import rules_for, rules_json, store
from core.settings import ExchangeSettings
from listings import Listing, Registration
from listings import closing as registration_close
from listings.closing import Closing
from listings.reading import record
from listings.rules import Outcome


async def open_auction(
    session: AsyncSession,
    listing: Listing,
    qualified: Sequence[Registration],
    settings: ExchangeSettings,
    now: datetime,
) -> Auction:
    """Registration closed with enough bidders: fix the rules, draw priority, schedule the start."""
    holders = sorted(r.bidder_number for r in qualified if r.priority_holder and r.bidder_number)
    seed = secrets.token_bytes(16)
    order = draw_priority_order(holders, seed) if holders else ()
    rules = rules_for(listing, settings, order)
    state = engine.initial_state(rules)
    row = Auction(
        listing_id=listing.id,
        rules=rules,
        draw={"seed": seed.hex(), "holders": holders, "order": list(order)},
    )
    store(row, rules, state)
    session.add(row)
    await session.flush()
    await record(
        session,
        listing.id,
        "auction.opened",
        "system",
        now,
        rules=rules_json(rules),
        bidders=len(qualified),
        priority_draw=row.draw,
    )
    return row


async def close_registration(
    session: AsyncSession,
    listing_id: int,
    settings: ExchangeSettings,
    now: datetime,
    *,
    on_deal: Sequence[DealHook] = (),
) -> Closing | None:
    """Close one due registration in the caller's transaction; None if already closed."""
    closing = await registration_close.close_registration(session, listing_id, settings, now)
    if closing is None:
        return None
    if closing.outcome is Outcome.AUCTION:
        await open_auction(session, closing.listing, closing.qualified, settings, now)
    elif closing.outcome is Outcome.AGREEMENT:
        winner = closing.qualified[0]
        price = closing.listing.terms.listing_price_fen
        deal = await record_deal(
            session,
            listing_id,
            winner,
            kind="agreement",
            listing_fen=price,
            final_fen=price,
            rounds=0,
            now=now,
        )
        await registration_close.settle_after_sale(session, listing_id, winner.id, now)
        for hook in on_deal:
            await hook(session, deal, now)
    return closing
