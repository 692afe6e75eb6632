"""Notices of an auction to its bidders: it starts in 30 minutes, it started, won or not won.

Each goes to one bidder about their own registration; none names another bidder or any
bidder number (docs/security.md §4).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from auction.engine import Status
from auction.models import Auction
from core.clock import deadline_zh
from core.db import Database
from core.money import format_yuan
from core.notices import Kind, mark_once, notify, when
from listings import Listing, Registration
from listings.registration import registrations_of

#: How long before an auction's start its bidders are reminded.
REMINDER_AHEAD = timedelta(minutes=30)


def _bidders(registrations: list[Registration]) -> list[Registration]:
    return [r for r in registrations if r.bidder_number is not None]


async def _listing(session: AsyncSession, listing_id: int) -> Listing:
    listing = await session.get(Listing, listing_id)
    assert listing is not None
    return listing


async def soon(session: AsyncSession, listing: Listing, now: datetime) -> int:
    """Remind every qualified bidder, once (the sweep's mark), that the auction starts soon."""
    if listing.auction_starts_at is None:
        return 0
    if not await mark_once(session, Kind.AUCTION_SOON, f"listing:{listing.id}", now):
        return 0
    sent = 0
    for r in _bidders(await registrations_of(session, listing.id)):
        sent += await notify(
            session,
            r.bidder_id,
            Kind.AUCTION_SOON,
            "竞价即将开始",
            f"您参加的“{listing.title}”将于 {when(listing.auction_starts_at)} 开始网络竞价，"
            "请提前登录进入竞价室。",
            link=f"/auctions/{listing.id}",
            subject=f"listing:{listing.id}",
            now=now,
        )
    return sent


async def remind_due(db: Database, now: datetime) -> int:
    """The scheduler's sweep: auctions still scheduled that start within REMINDER_AHEAD and
    whose bidders were not reminded yet. Each listing in its own transaction."""
    async with db.read() as session:
        due = list(
            await session.scalars(
                select(Listing.id)
                .join(Auction, Auction.listing_id == Listing.id)
                .where(
                    Auction.status == Status.SCHEDULED.value,
                    Listing.auction_starts_at > now,
                    Listing.auction_starts_at <= now + REMINDER_AHEAD,
                )
            )
        )
    sent = 0
    for listing_id in due:
        async with db.write() as session:
            sent += await soon(session, await _listing(session, listing_id), now)
    return sent


async def started(session: AsyncSession, listing_id: int, now: datetime) -> None:
    listing = await _listing(session, listing_id)
    for r in _bidders(await registrations_of(session, listing_id)):
        await notify(
            session,
            r.bidder_id,
            Kind.AUCTION_STARTED,
            "竞价已开始",
            f"您参加的“{listing.title}”网络竞价已开始，请进入竞价室出价。",
            link=f"/auctions/{listing_id}",
            subject=f"listing:{listing_id}",
            now=now,
        )


async def won(session: AsyncSession, winner: Registration, final_fen: int, now: datetime) -> None:
    listing = await _listing(session, winner.listing_id)
    await notify(
        session,
        winner.bidder_id,
        Kind.WON,
        "您已竞得",
        f"您已竞得“{listing.title}”，成交价 {format_yuan(final_fen)} 元。成交结果公示期满"
        "无异议后，将通知您签订合同；您的保证金将抵作首期租金。",
        link="/me/deals",
        subject=f"listing:{listing.id}",
        now=now,
    )


async def not_won(
    session: AsyncSession,
    listing_id: int,
    winner_id: int | None,
    runner_up_id: int | None,
    now: datetime,
) -> None:
    """Every other qualified bidder: the result and when their deposit comes back."""
    listing = await _listing(session, listing_id)
    result = "已由其他竞买人竞得" if winner_id is not None else "本次竞价未成交"
    for r in _bidders(await registrations_of(session, listing_id)):
        if r.id == winner_id:
            continue
        if r.id == runner_up_id:
            refund = "您为候补竞买人，保证金暂不退还，待成交合同签订后退还。"
        elif r.refund_due_at is not None:
            amount, due = format_yuan(r.deposit_fen), deadline_zh(r.refund_due_at)
            refund = f"您的保证金 {amount} 元将于 {due}前原路退还。"
        else:
            refund = "您的保证金将按公告原路退还。"
        await notify(
            session,
            r.bidder_id,
            Kind.NOT_WON,
            "未竞得通知",
            f"您参加的“{listing.title}”{result}。{refund}",
            link=f"/me/registrations#reg-{r.id}",
            subject=f"listing:{listing_id}",
            now=now,
        )
