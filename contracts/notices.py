"""Notices after the deal: objections (receipt, decision), the lease to sign and signed,
refunds paid, and the rent sweep (due in 7 days, overdue), each in its event's transaction.

The objector's identity never goes to anyone but the objector; reviewers are told only
that an objection was filed. The lessee is the contract's winner.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Exists, String, cast, exists, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from auction.models import Deal
from contracts.deal_rules import VOID_REASONS_ZH
from contracts.models import Contract, Objection, ObjectionState, RentItem
from contracts.receivables import Status, owed_by
from core.accounts import Region, User, within
from core.clock import deadline_zh, local_date
from core.db import Database
from core.money import format_yuan
from core.notices import Kind, mark_once, notify, on_day, when
from core.notices.models import NoticeMark
from listings import Listing, Registration

#: How many days before an item's due date its lessee is reminded.
RENT_DUE_AHEAD = timedelta(days=7)


async def _listing(session: AsyncSession, listing_id: int) -> Listing:
    listing = await session.get(Listing, listing_id)
    assert listing is not None
    return listing


async def _officials(session: AsyncSession, village_id: int) -> list[int]:
    rows = await session.scalars(
        select(User.id).where(User.role == "village", User.region_id == village_id, User.active)
    )
    return list(rows)


async def _reviewers_of(session: AsyncSession, village_id: int) -> list[int]:
    village = await session.get(Region, village_id)
    rows = await session.execute(
        select(User.id, Region)
        .outerjoin(Region, Region.id == User.region_id)
        .where(User.role == "reviewer", User.active)
    )
    return [user_id for user_id, region in rows if within(village, region)]


async def objection_filed(session: AsyncSession, objection: Objection, now: datetime) -> None:
    """A receipt to the objector; the listing's reviewers are told there is one to decide."""
    listing = await _listing(session, objection.listing_id)
    registration = await session.get(Registration, objection.registration_id)
    assert registration is not None
    subject = f"objection:{objection.id}"
    await notify(
        session,
        registration.bidder_id,
        Kind.OBJECTION_FILED,
        "异议已受理",
        f"您对“{listing.title}”成交结果提出的异议已于 {when(now)} 受理，"
        "交易中心将审查处理并通知您结果。",
        link=f"/listings/{listing.id}",
        subject=subject,
        now=now,
    )
    for reviewer in await _reviewers_of(session, listing.village_id):
        await notify(
            session,
            reviewer,
            Kind.OBJECTION_FILED,
            "收到异议待处理",
            f"“{listing.title}”的成交结果公示期内收到一份异议，请审查处理。",
            link=f"/review/listings/{listing.id}",
            subject=subject,
            now=now,
        )


async def objection_decided(session: AsyncSession, objection: Objection, now: datetime) -> None:
    listing = await _listing(session, objection.listing_id)
    registration = await session.get(Registration, objection.registration_id)
    assert registration is not None
    verdict = "成立，该成交结果作废" if objection.state == ObjectionState.UPHELD else "不成立"
    await notify(
        session,
        registration.bidder_id,
        Kind.OBJECTION_DECIDED,
        "异议处理结果",
        f"您对“{listing.title}”成交结果提出的异议经审查{verdict}。"
        f"处理意见：{objection.decision_reason or ''}",
        link=f"/listings/{listing.id}",
        subject=f"objection:{objection.id}",
        now=now,
    )


async def deal_voided(
    session: AsyncSession, deal: Deal, winner: Registration, forfeited_fen: int, now: datetime
) -> None:
    """The winner whose deal was voided: why, and what becomes of the deposit."""
    listing = await _listing(session, deal.listing_id)
    why = VOID_REASONS_ZH.get(deal.void_reason or "", "")
    if forfeited_fen:
        money = f"竞买保证金 {format_yuan(forfeited_fen)} 元按竞买须知不予退还。"
    elif winner.refund_due_at is not None:
        money = f"竞买保证金将于 {deadline_zh(winner.refund_due_at)}前原路退还。"
    else:
        money = ""
    await notify(
        session,
        winner.bidder_id,
        Kind.DEAL_VOIDED,
        "成交已撤销",
        f"您竞得的“{listing.title}”成交已撤销（{why}）。{money}",
        link=f"/listings/{listing.id}",
        subject=f"deal:{listing.id}:{winner.id}",
        now=now,
    )


async def deal_offered(
    session: AsyncSession, deal: Deal, backup: Registration, amount_fen: int, now: datetime
) -> None:
    """The runner-up: the deal at their last accepted bid, to accept or decline in time."""
    listing = await _listing(session, deal.listing_id)
    assert deal.offer_expires_at is not None
    await notify(
        session,
        backup.bidder_id,
        Kind.DEAL_OFFERED,
        "递补成交通知",
        f"“{listing.title}”原成交已撤销，按竞买须知向您递补成交，成交价为您最后一次有效出价 "
        f"{format_yuan(amount_fen)} 元。请在 {deadline_zh(deal.offer_expires_at)}前登录接受或放弃；"
        "逾期未答复视为放弃，保证金原路退还。",
        link=f"/listings/{listing.id}",
        subject=f"deal:{listing.id}:{backup.id}",
        now=now,
    )


async def contract_drafted(session: AsyncSession, contract: Contract, now: datetime) -> None:
    """The village signs first: its officials are told the lease awaits them."""
    listing = await _listing(session, contract.listing_id)
    for official in await _officials(session, contract.village_id):
        await notify(
            session,
            official,
            Kind.CONTRACT_READY,
            "合同待签署",
            f"“{listing.title}”的成交合同（{contract.number}）已生成，请在 "
            f"{deadline_zh(contract.sign_deadline)}前签署；村集体签署后由竞得人签署。",
            link=f"/village/listings/{listing.id}",
            subject=f"contract:{contract.id}",
            now=now,
        )


async def signed_by_village(session: AsyncSession, contract: Contract, now: datetime) -> None:
    """The winner's turn."""
    listing = await _listing(session, contract.listing_id)
    await notify(
        session,
        contract.winner_id,
        Kind.CONTRACT_READY,
        "合同待您签署",
        f"“{listing.title}”的成交合同（{contract.number}）村集体已签署，请在 "
        f"{deadline_zh(contract.sign_deadline)}前登录签署。",
        link="/me/deals",
        subject=f"contract:{contract.id}",
        now=now,
    )


async def signed(session: AsyncSession, contract: Contract, now: datetime) -> None:
    """Both parties signed: a receipt to the winner and to the village's officials."""
    listing = await _listing(session, contract.listing_id)
    body = (
        f"“{listing.title}”的成交合同（{contract.number}）已由双方签署生效，"
        f"租期自 {on_day(contract.lease_start)} 起。"
    )
    subject = f"contract:{contract.id}"
    await notify(
        session,
        contract.winner_id,
        Kind.CONTRACT_SIGNED,
        "合同已签署",
        body,
        link="/me/deals",
        subject=subject,
        now=now,
    )
    for official in await _officials(session, contract.village_id):
        await notify(
            session,
            official,
            Kind.CONTRACT_SIGNED,
            "合同已签署",
            body,
            link=f"/village/listings/{listing.id}",
            subject=subject,
            now=now,
        )


async def refund_paid(session: AsyncSession, registration: Registration, now: datetime) -> None:
    listing = await _listing(session, registration.listing_id)
    await notify(
        session,
        registration.bidder_id,
        Kind.REFUND_PAID,
        "保证金已退还",
        f"您报名“{listing.title}”缴纳的保证金 {format_yuan(registration.deposit_fen)} 元"
        "已原路退还，请留意银行账户入账。",
        link=f"/me/registrations#reg-{registration.id}",
        subject=f"registration:{registration.id}",
        now=now,
    )


async def _rent_notice(session: AsyncSession, item: RentItem, kind: Kind, now: datetime) -> bool:
    """One rent reminder about one item (read under its lock: paid since the sweep looked,
    it is not reminded), marked so that it is written once."""
    status = owed_by(item, local_date(now))
    if status.outstanding_fen == 0 or (
        (status.status is Status.OVERDUE) != (kind is Kind.RENT_OVERDUE)
    ):
        return False
    if not await mark_once(session, kind, f"rent_item:{item.id}", now):
        return False
    contract = await session.get(Contract, item.contract_id)
    listing = await _listing(session, item.listing_id)
    assert contract is not None
    what = f"“{listing.title}”第 {item.number} 期租金"
    if kind is Kind.RENT_DUE:
        title = "租金即将到期"
        body = (
            f"{what}将于 {on_day(item.due_date)} 到期，尚需支付 "
            f"{format_yuan(status.outstanding_fen)} 元，请按期支付。"
        )
    else:
        title = "租金已逾期"
        body = (
            f"{what}已于 {on_day(item.due_date)} 到期，尚欠 "
            f"{format_yuan(status.outstanding_fen)} 元，请尽快支付。"
        )
    return await notify(
        session,
        contract.winner_id,
        kind,
        title,
        body,
        link="/me/deals",
        subject=f"rent_item:{item.id}",
        now=now,
    )


def _marked(kind: Kind) -> Exists:
    """The item's reminder of this kind was written (its sweep mark exists)."""
    subject = literal("rent_item:") + cast(RentItem.id, String)
    return exists().where(NoticeMark.kind == kind.value, NoticeMark.subject == subject)


async def rent_sweep(db: Database, now: datetime) -> int:
    """Open rent items due within 7 days, or overdue, whose lessee was not told yet; each
    item in its own transaction, its mark taken there (so every worker may run this)."""
    today = local_date(now)
    async with db.read() as session:
        items = list(
            await session.scalars(
                select(RentItem).where(
                    RentItem.state == "open",
                    or_(
                        (RentItem.due_date < today) & ~_marked(Kind.RENT_OVERDUE),
                        (RentItem.due_date >= today)
                        & (RentItem.due_date <= today + RENT_DUE_AHEAD)
                        & ~_marked(Kind.RENT_DUE),
                    ),
                )
            )
        )
    sent = 0
    for item in items:
        status = owed_by(item, today)
        if status.status is Status.OVERDUE:
            kind = Kind.RENT_OVERDUE
        elif status.outstanding_fen > 0 and item.due_date >= today:
            kind = Kind.RENT_DUE
        else:
            continue
        async with db.write() as session:
            fresh = await session.get(
                RentItem, item.id, with_for_update=True, populate_existing=True
            )
            assert fresh is not None
            sent += await _rent_notice(session, fresh, kind, now)
    return sent
