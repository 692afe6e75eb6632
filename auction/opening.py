"""Registration close, as the auction sees it: open the auction or record the agreement deal."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from auction.book import DealHook, open_auction, record_deal
from core.settings import ExchangeSettings
from listings import closing as registration_close
from listings.closing import Closing
from listings.rules import Outcome


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
