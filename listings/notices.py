"""Notices of a registration: deposit received, qualified, not qualified (with the reason).

Each goes to the bidder alone, in the transaction of the event. None carries the bidder
number: a notice may leave the exchange (an SMS gateway), and before the auction ends no
one outside may tie a number to a person; the bidder reads it on their own page.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import deadline_zh
from core.money import format_yuan
from core.notices import Kind, notify, when
from listings.models import Listing, Registration
from listings.registration import RegState

MY_REGISTRATIONS = "/me/registrations"


async def _title(session: AsyncSession, r: Registration) -> str:
    listing = await session.get(Listing, r.listing_id)
    assert listing is not None
    return listing.title


async def deposit_received(session: AsyncSession, r: Registration, now: datetime) -> None:
    title = await _title(session, r)
    await notify(
        session,
        r.bidder_id,
        Kind.DEPOSIT_RECEIVED,
        "保证金已到账",
        f"您报名的“{title}”保证金 {format_yuan(r.deposit_fen)} 元已于 {when(now)} 到账，"
        "请等待资格审核。",
        link=f"{MY_REGISTRATIONS}#reg-{r.id}",
        subject=f"registration:{r.id}",
        now=now,
    )


async def decided(session: AsyncSession, r: Registration, now: datetime) -> None:
    """The reviewer's (or registration close's) decision on the application."""
    title = await _title(session, r)
    link = f"{MY_REGISTRATIONS}#reg-{r.id}"
    subject = f"registration:{r.id}"
    if r.state == RegState.QUALIFIED:
        body = f"您报名的“{title}”已取得竞买资格，请按公告时间参加网络竞价。"
        if r.reason:
            body += f"说明：{r.reason}。"
        await notify(
            session,
            r.bidder_id,
            Kind.QUALIFIED,
            "竞买资格审核通过",
            body,
            link=link,
            subject=subject,
            now=now,
        )
    elif r.state == RegState.REJECTED:
        refund = f"保证金将于 {deadline_zh(r.refund_due_at)}前原路退还。" if r.refund_due_at else ""
        await notify(
            session,
            r.bidder_id,
            Kind.REJECTED,
            "竞买资格审核未通过",
            f"您报名的“{title}”未通过资格审核。理由：{r.reason or '未说明'}。{refund}",
            link=link,
            subject=subject,
            now=now,
        )
