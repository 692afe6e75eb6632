"""成交 and its aftermath: record the deal, conclude the listing when an auction ends.

Both run in the caller's transaction (the bid book's closing batch, or registration close
with a single bidder), so the deal, the listing's conclusion, the deposits made refundable
and the hooks' work (the contract drafted) commit together or not at all.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from auction import engine
from auction.models import Auction, Deal
from listings import Registration, closing, service
from listings.reading import record

#: Called in the transaction that records a deal (the app drafts the contract there).
DealHook = Callable[[AsyncSession, Deal, datetime], Awaitable[None]]


async def record_deal(
    session: AsyncSession,
    listing_id: int,
    winner: Registration,
    *,
    kind: str,
    listing_fen: int,
    final_fen: int,
    rounds: int,
    now: datetime,
) -> Deal:
    assert winner.bidder_number is not None
    deal = Deal(
        listing_id=listing_id,
        kind=kind,
        registration_id=winner.id,
        winner_number=winner.bidder_number,
        listing_fen=listing_fen,
        final_fen=final_fen,
        rounds=rounds,
        decided_at=now,
    )
    session.add(deal)
    await session.flush()
    await record(
        session,
        listing_id,
        "deal.recorded",
        "system",
        now,
        kind=kind,
        winner_number=deal.winner_number,
        registration_id=winner.id,
        listing_fen=listing_fen,
        final_fen=final_fen,
        rounds=rounds,
    )
    return deal


async def conclude(
    session: AsyncSession,
    row: Auction,
    ended: engine.Ended,
    now: datetime,
    on_deal: Sequence[DealHook],
) -> None:
    """The auction ended: record the result, conclude the listing, settle the deposits and,
    if sold, record the deal and call the hooks."""
    row.result, row.final_fen, row.winner_number = ended.result, ended.final_fen, ended.winner
    winner: Registration | None = None
    if ended.result == "sold":
        winner = await session.scalar(
            select(Registration).where(
                Registration.listing_id == row.listing_id,
                Registration.bidder_number == ended.winner,
            )
        )
        assert winner is not None and ended.final_fen is not None
    await service.conclude(
        session,
        row.listing_id,
        sold=winner is not None,
        outcome="auction" if winner else f"unsold_{ended.reason}",
        actor="system",
        now=now,
        final_fen=ended.final_fen,
        winner_number=ended.winner,
        rounds=ended.rounds,
    )
    await closing.settle_after_sale(session, row.listing_id, winner.id if winner else None, now)
    if winner is not None:
        assert ended.final_fen is not None
        deal = await record_deal(
            session,
            row.listing_id,
            winner,
            kind="auction",
            listing_fen=row.rules.start_fen,
            final_fen=ended.final_fen,
            rounds=ended.rounds,
            now=ended.at,
        )
        for hook in on_deal:
            await hook(session, deal, now)
