"""When a deal falls through: a winner's default (违约/悔拍) with the deposit forfeited, a deal
voided by an upheld objection, and what follows per the listing's rule (`Terms.on_default`):
the deal offered to the runner-up (候补) at their last accepted bid, or the listing relisted.
docs/domain.md §6.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from auction.deal import runner_up_bid
from auction.models import Deal
from contracts import notices, publicity, settlement
from contracts.deal_rules import (
    DealAction,
    DealState,
    DefaultReason,
    after_void,
    check_default,
    transition,
)
from contracts.drafting import current_contract
from contracts.models import Contract, ContractState, Objection, ObjectionState, RentItem
from contracts.schemas import DealChange
from core import ledger
from core import settings as exchange_settings
from core.accounts import Actor
from core.clock import iso
from core.db import Database
from core.errors import Conflict, PermissionDenied, RuleViolation
from core.workdays import period_end
from listings import Listing, Registration, outcome, policy, reading
from listings.policy import Action
from listings.reading import record
from listings.registration import DepositState, record_registration, refund


async def change(session: AsyncSession, deal: Deal, forfeited_fen: int = 0) -> DealChange:
    listing = await session.get(Listing, deal.listing_id)
    assert listing is not None
    state = DealState(deal.state)
    step = {DealState.OFFERED: "offered", DealState.VOIDED: "relisted"}.get(state, "none")
    return DealChange(
        listing_id=deal.listing_id,
        deal_state=deal.state,
        listing_state=listing.state,
        forfeited_fen=forfeited_fen,
        next_step=step,
        offer_expires_at=iso(deal.offer_expires_at),
    )


async def void(
    session: AsyncSession, deal: Deal, reason: str, actor: str, now: datetime, forfeited: int = 0
) -> DealChange:
    """Void the deal (its contract too, kept on record), give the winner's deposit back unless
    it was forfeited, then offer the deal to the runner-up or end the listing for relisting."""
    deal.state = transition(DealState(deal.state), DealAction.VOID)
    deal.voided_at, deal.void_reason = now, reason
    await _close_objections(session, deal.listing_id, now)
    contract = await current_contract(session, deal.listing_id)
    if contract is not None:
        contract.state, contract.updated_at = ContractState.VOIDED, now
        await session.execute(
            update(RentItem).where(RentItem.contract_id == contract.id).values(state="void")
        )
    winner = await session.get(Registration, deal.registration_id, with_for_update=True)
    assert winner is not None
    if winner.deposit_state == DepositState.HELD:
        await refund(session, winner, now, "system")
    await notices.deal_voided(session, deal, winner, forfeited, now)
    await record(
        session,
        deal.listing_id,
        "deal.voided",
        actor,
        now,
        reason=reason,
        registration_id=deal.registration_id,
        winner_number=deal.winner_number,
        final_fen=deal.final_fen,
        contract_id=contract.id if contract else None,
    )
    deal.contract_id = None
    listing = await session.get(Listing, deal.listing_id)
    assert listing is not None
    backup = (
        await session.get(Registration, deal.runner_up_id, with_for_update=True)
        if deal.runner_up_id is not None
        else None
    )
    available = backup is not None and backup.deposit_state == DepositState.HELD
    if after_void(listing.terms.on_default, available) == "offer":
        assert backup is not None
        return await _offer(session, deal, backup, now, forfeited)
    await settlement.release_runner_up(session, deal.listing_id, now)
    await outcome.void_sale(session, deal.listing_id, reason=reason, actor=actor, now=now)
    return await change(session, deal, forfeited)


async def _close_objections(session: AsyncSession, listing_id: int, now: datetime) -> None:
    """Objections still pending against the voided deal are closed, not decided: a later
    deal of the listing (the runner-up's) is published anew and takes its own objections."""
    pending = await session.scalars(
        select(Objection).where(
            Objection.listing_id == listing_id, Objection.state == ObjectionState.FILED
        )
    )
    for objection in pending:
        objection.state, objection.decided_at = ObjectionState.CLOSED, now
        objection.decision_reason = "原成交已撤销，该异议不再审查"
        await record(
            session,
            listing_id,
            "objection.closed",
            "system",
            now,
            objection_id=objection.id,
            registration_id=objection.registration_id,
        )


async def _offer(
    session: AsyncSession, deal: Deal, backup: Registration, now: datetime, forfeited: int
) -> DealChange:
    found = await runner_up_bid(session, deal.listing_id, deal.winner_number)
    assert found is not None and found[0] == backup.bidder_number
    settings = await exchange_settings.load(session)
    deal.state = transition(DealState(deal.state), DealAction.OFFER)
    deal.offer_expires_at = period_end(
        now,
        settings.runner_up_answer_working_days,
        settings.calendar(),
        day_ends=settings.business_day_ends,
    )
    await record(
        session,
        deal.listing_id,
        "deal.offered",
        "system",
        now,
        registration_id=backup.id,
        bidder_number=backup.bidder_number,
        final_fen=found[1],
        offer_expires_at=ledger.timestamp(deal.offer_expires_at),
    )
    await notices.deal_offered(session, deal, backup, found[1], now)
    return await change(session, deal, forfeited)


async def record_default(
    db: Database,
    who: Actor,
    listing_id: int,
    *,
    reason: DefaultReason,
    note: str,
    now: datetime,
) -> DealChange:
    """A reviewer records that the winner defaulted: the deposit is forfeited as the
    announcement said, the deal and its contract are voided, and the listing's rule follows."""
    async with db.write() as session:
        visible = await reading.load(session, who, listing_id)
        policy.require_to(who, Action.DECIDE, visible.village)
        deal = await publicity.locked_deal(session, listing_id)
        if deal.state != DealState.CONFIRMED:
            raise Conflict(
                "default.deal_not_confirmed", "成交尚未确认（公示中）或已撤销，不能认定违约"
            )
        current = await current_contract(session, listing_id)
        assert current is not None
        # Locked and re-read: a signature racing this default either lands first (and the
        # default is refused as signed) or finds the contract voided (contract.changed).
        contract = await session.get(
            Contract, current.id, with_for_update=True, populate_existing=True
        )
        assert contract is not None
        check_default(contract.state, reason, now, contract.sign_deadline)
        winner = await session.get(
            Registration, deal.registration_id, with_for_update=True, populate_existing=True
        )
        assert winner is not None
        forfeited = 0
        if winner.deposit_state == DepositState.HELD and winner.deposit_fen > 0:
            forfeited = winner.deposit_fen
            winner.deposit_state = DepositState.FORFEITED
            await record_registration(
                session, winner, "deposit.forfeited", who.name, now, amount_fen=forfeited
            )
        await record(
            session,
            listing_id,
            "deal.defaulted",
            who.name,
            now,
            reason=reason,
            note=note.strip() or None,
            registration_id=winner.id,
            forfeited_fen=forfeited,
        )
        return await void(session, deal, "default", who.name, now, forfeited)


async def answer_offer(
    db: Database, who: Actor, listing_id: int, *, accept: bool, now: datetime
) -> DealChange:
    """The runner-up takes the deal at their last accepted bid (published in turn), or
    declines it (their deposit is due back; the listing ends for relisting)."""
    async with db.write() as session:
        await reading.load(session, who, listing_id)
        deal = await publicity.locked_deal(session, listing_id)
        backup = (
            await session.get(Registration, deal.runner_up_id, with_for_update=True)
            if deal.runner_up_id is not None
            else None
        )
        if deal.state != DealState.OFFERED:
            raise Conflict("offer.not_open", "该项目没有待答复的递补成交通知")
        if backup is None or backup.bidder_id != who.id:
            raise PermissionDenied("offer.not_yours", "该项目没有向您发出递补成交通知")
        assert deal.offer_expires_at is not None
        if now >= deal.offer_expires_at:
            raise RuleViolation("offer.expired", "递补成交的答复期限已过")
        if accept:
            await _take_over(session, deal, backup, who.name, now)
        else:
            await _decline(session, deal, "offer_declined", who.name, now)
        return await change(session, deal)


async def _take_over(
    session: AsyncSession, deal: Deal, backup: Registration, actor: str, now: datetime
) -> None:
    found = await runner_up_bid(session, deal.listing_id, deal.winner_number)
    assert found is not None and backup.bidder_number is not None
    deal.state = transition(DealState(deal.state), DealAction.ACCEPT_OFFER)
    deal.kind, deal.registration_id = "runner_up", backup.id
    deal.winner_number, deal.final_fen = backup.bidder_number, found[1]
    deal.decided_at, deal.runner_up_id, deal.offer_expires_at = now, None, None
    deal.voided_at = deal.void_reason = deal.confirmed_at = None
    await record(
        session,
        deal.listing_id,
        "deal.offer_accepted",
        actor,
        now,
        registration_id=backup.id,
        winner_number=deal.winner_number,
        final_fen=deal.final_fen,
    )
    await record_registration(
        session, backup, "deposit.to_be_credited", "system", now, amount_fen=backup.deposit_fen
    )
    await publicity.open_publicity(session, deal, now)


async def _decline(
    session: AsyncSession, deal: Deal, reason: str, actor: str, now: datetime
) -> None:
    deal.state = transition(DealState(deal.state), DealAction.DECLINE_OFFER)
    deal.voided_at, deal.void_reason, deal.offer_expires_at = now, reason, None
    await record(session, deal.listing_id, "deal.offer_declined", actor, now, reason=reason)
    await settlement.release_runner_up(session, deal.listing_id, now)
    await outcome.void_sale(session, deal.listing_id, reason=reason, actor=actor, now=now)


async def expire_offers(db: Database, now: datetime) -> int:
    """The scheduler's sweep: an offer not answered in time lapses as if declined."""
    async with db.read() as session:
        due = list(
            await session.scalars(
                select(Deal.listing_id).where(
                    Deal.state == DealState.OFFERED, Deal.offer_expires_at <= now
                )
            )
        )
    lapsed = 0
    for listing_id in due:
        async with db.write() as session:
            deal = await publicity.locked_deal(session, listing_id)
            expires = deal.offer_expires_at
            if deal.state == DealState.OFFERED and expires is not None and expires <= now:
                await _decline(session, deal, "offer_expired", "system", now)
                lapsed += 1
    return lapsed
