"""成交 and its aftermath: record the deal, conclude the listing when an auction ends.

Both run in the caller's transaction (the bid book's closing batch, or registration close
with a single bidder), so the deal, the listing's conclusion, the deposits made refundable
and the hooks' work (the contract drafted) commit together or not at all.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from auction import engine, notices
from auction.models import Auction, Bid, Deal
from listings import Listing, Registration, closing, outcome
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
        state="publicity",  # the hooks set its end (contracts.publicity)
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
    await notices.won(session, winner, final_fen, now)
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
    await outcome.conclude(
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
    backup = await _runner_up(session, row.listing_id, ended.winner) if winner else None
    await closing.settle_after_sale(
        session,
        row.listing_id,
        winner.id if winner else None,
        now,
        runner_up_id=backup.id if backup else None,
    )
    await notices.not_won(
        session, row.listing_id, winner.id if winner else None, backup.id if backup else None, now
    )
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
        deal.runner_up_id = backup.id if backup else None
        for hook in on_deal:
            await hook(session, deal, now)


def runner_up(accepted: Iterable[tuple[str, int]], winner: str) -> tuple[str, int] | None:
    """The backup bidder (候补): the best other bidder by their last (highest) accepted bid,
    and that bid. `accepted` is every accepted bid as (bidder number, amount in fen) in the
    order the auction took them; on equal amounts the earlier bid ranks higher."""
    best: dict[str, int] = {}
    first: dict[str, int] = {}
    for i, (number, amount) in enumerate(accepted):
        if number != winner and amount > best.get(number, -1):
            best[number], first[number] = amount, i
    if not best:
        return None
    number = max(best, key=lambda n: (best[n], -first[n]))
    return number, best[number]


async def runner_up_bid(
    session: AsyncSession, listing_id: int, winner_number: str
) -> tuple[str, int] | None:
    """The runner-up of a listing's auction and their last accepted bid, from the bids."""
    rows = await session.execute(
        select(Bid.bidder_number, Bid.amount_fen)
        .where(Bid.listing_id == listing_id, Bid.outcome == "accepted")
        .order_by(Bid.seq)
    )
    return runner_up(
        ((n, a) for n, a in rows.all() if n is not None and a is not None), winner_number
    )


async def _runner_up(
    session: AsyncSession, listing_id: int, winner_number: str | None
) -> Registration | None:
    """The runner-up's registration when the listing offers a voided deal to them."""
    listing = await session.get(Listing, listing_id)
    if listing is None or listing.terms.on_default != "runner_up" or winner_number is None:
        return None
    found = await runner_up_bid(session, listing_id, winner_number)
    if found is None:
        return None
    return await session.scalar(
        select(Registration).where(
            Registration.listing_id == listing_id, Registration.bidder_number == found[0]
        )
    )
