"""Reads of the auction tables outside a command: what the timers must advance, and replay."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ScalarResult, select
from sqlalchemy.ext.asyncio import AsyncSession

from auction.models import Auction, AuctionEvent


async def due(session: AsyncSession, now: datetime) -> list[int]:
    """Listings whose auction has a deadline at or before `now`."""
    rows = await session.scalars(select(Auction.listing_id).where(Auction.next_deadline <= now))
    return list(rows)


async def events_after(session: AsyncSession, listing_id: int, seq: int) -> list[dict[str, Any]]:
    """The room events after `seq`, in order, as they were sent (the replay after a reconnect)."""
    rows: ScalarResult[dict[str, Any]] = await session.scalars(
        select(AuctionEvent.payload)
        .where(AuctionEvent.listing_id == listing_id, AuctionEvent.seq > seq)
        .order_by(AuctionEvent.seq)
    )
    return list(rows)
