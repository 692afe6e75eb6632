"""How a listing's trade ends: sold or failed when the auction (or agreement) ends, or failed
later when its deal is voided and nobody takes it over (docs/domain.md §6)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import NotFound
from listings.models import Listing
from listings.reading import record
from listings.rules import Action, ListingState, transition


async def conclude(
    session: AsyncSession,
    listing_id: int,
    *,
    sold: bool,
    outcome: str,
    actor: str,
    now: datetime,
    **payload: Any,
) -> Listing:
    """The trade ended (auction or agreement): the listing becomes sold or failed."""
    action = Action.SELL if sold else Action.FAIL
    return await _end(session, listing_id, action, outcome, actor, now, **payload)


async def void_sale(
    session: AsyncSession, listing_id: int, *, reason: str, actor: str, now: datetime
) -> Listing:
    """The deal was voided and nobody takes it over: the listing ends without a deal, so its
    village may relist it (`listings.service.relist`)."""
    return await _end(session, listing_id, Action.VOID, "deal_voided", actor, now, reason=reason)


async def _end(
    session: AsyncSession,
    listing_id: int,
    action: Action,
    outcome: str,
    actor: str,
    now: datetime,
    **payload: Any,
) -> Listing:
    listing = await session.scalar(
        select(Listing).where(Listing.id == listing_id).with_for_update()
    )
    if listing is None:
        raise NotFound("listing.not_found", "挂牌项目不存在")
    listing.state = transition(ListingState(listing.state), action).value
    listing.outcome = outcome
    listing.updated_at = now
    await record(
        session,
        listing.id,
        "listing.concluded",
        actor,
        now,
        state=listing.state,
        outcome=outcome,
        **payload,
    )
    return listing
