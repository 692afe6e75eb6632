"""Settlement of a deal's money: refunds to the losers, the winner's deposit credited to rent.

Deposits move pending → paid → held → refundable → refunded | credited_to_rent | forfeited
(`listings.registration.DepositState`); each move here is a ledger entry on the listing's
chain carrying `amount_fen`, so the deposit account can be rebuilt from the log alone:

    Σ deposits in paid/held/refundable  ==  Σ deposit.paid − Σ deposit.refunded
                                              − Σ deposit.credited_to_rent − Σ deposit.forfeited
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from auction.models import Deal
from contracts import notices
from contracts.access import rent_items_of
from contracts.drafting import current_contract
from contracts.models import Contract
from contracts.schemas import (
    DepositLine,
    Refunded,
    RefundsConfirmed,
    SettlementAccount,
    rent_item_view,
)
from core import ledger
from core.accounts import Actor, users_by_id
from core.db import Database
from core.errors import Conflict
from core.money import format_yuan
from listings import Payment, Registration, policy, reading
from listings.policy import Facet
from listings.reading import record
from listings.registration import DepositState, new_payment_reference, refund, registrations_of

#: The first letters of a rent item's transfer reference.
RENT_PREFIX = "RZ"
#: Deposit states whose money is still in the exchange's deposit account.
IN_ACCOUNT = (DepositState.PAID, DepositState.HELD, DepositState.REFUNDABLE)
#: Ledger entry types that move deposit money, with their sign for the account.
MOVEMENTS = {
    "deposit.paid": 1,
    "deposit.refunded": -1,
    "deposit.credited_to_rent": -1,
    "deposit.forfeited": -1,
}


async def credit_deposit(session: AsyncSession, contract: Contract, now: datetime) -> None:
    """Both parties signed: the winner's held deposit pays the first rent installment(s)."""
    registration = await session.scalar(
        select(Registration).where(Registration.id == contract.registration_id).with_for_update()
    )
    assert registration is not None
    items = await rent_items_of(session, contract.id)
    can_credit = registration.deposit_state == DepositState.HELD and registration.deposit_fen > 0
    if not can_credit:
        for item in items:
            item.credited_fen = 0
    for item in items:
        item.state = "open" if item.amount_fen - item.credited_fen > 0 else "settled"
        if item.state == "open":  # what the lessee writes on the transfer (contracts.rent)
            item.reference = new_rent_reference()
    if not can_credit:
        return
    registration.deposit_state = DepositState.CREDITED_TO_RENT
    credited = [
        {"number": i.number, "credited_fen": i.credited_fen} for i in items if i.credited_fen
    ]
    await record(
        session,
        registration.listing_id,
        "deposit.credited_to_rent",
        "system",
        now,
        registration_id=registration.id,
        deposit_state=registration.deposit_state,
        amount_fen=registration.deposit_fen,
        contract_id=contract.id,
        rent_items=credited,
    )


def new_rent_reference() -> str:
    """A rent item's transfer reference: a deposit's form with its own prefix, so the bank's
    callback tells rent (`RZ…`) from deposits (`RX…`) by the first letters."""
    return RENT_PREFIX + new_payment_reference()[len(RENT_PREFIX) :]


async def release_runner_up(session: AsyncSession, listing_id: int, now: datetime) -> None:
    """The lease is signed (or the deal is gone): the runner-up's deposit, kept as the backup
    (候补), is due back now."""
    deal = await session.get(Deal, listing_id)
    if deal is None or deal.runner_up_id is None:
        return
    backup = await session.get(Registration, deal.runner_up_id, with_for_update=True)
    deal.runner_up_id = None
    if backup is not None and backup.deposit_state == DepositState.HELD:
        await refund(session, backup, now, "system")


async def _staff_listing(session: AsyncSession, who: Actor, listing_id: int) -> bool:
    """Staff of the listing's region only (else 404); whether they may see whose number is
    whose (docs/security.md)."""
    visible = await reading.load(session, who, listing_id)
    state, village = visible.listing.state, visible.village
    policy.require(who, Facet.REGISTRATIONS, state, village)
    return policy.may_see(who, Facet.IDENTITIES, state, village)


async def refund_instructions(
    session: AsyncSession,
    who: Actor,
    listing_id: int,
) -> list[dict[str, Any]]:
    """Deposits to pay back, each to the account it came from (原路退回)."""
    numbers = await _staff_listing(session, who, listing_id)
    due = [
        r
        for r in await registrations_of(session, listing_id)
        if r.deposit_state == DepositState.REFUNDABLE and r.deposit_fen > 0
    ]
    if not due:
        return []
    ids = [r.id for r in due]
    payments = {
        p.registration_id: p
        for p in await session.scalars(
            select(Payment).where(Payment.registration_id.in_(ids), Payment.outcome == "accepted")
        )
    }
    users = await users_by_id(session, (r.bidder_id for r in due))
    rows = []
    for r in due:
        payment = payments.get(r.id)
        rows.append(
            {
                "listing_id": listing_id,
                "registration_id": r.id,
                "bidder_number": (r.bidder_number or "") if numbers else "",
                "payer_name": users[r.bidder_id].display_name,
                "payment_reference": r.payment_reference,
                "original_bank_txn_id": payment.bank_txn_id if payment else "",
                "paid_at": payment.paid_at.isoformat() if payment else "",
                "amount_fen": r.deposit_fen,
                "amount_yuan": format_yuan(r.deposit_fen),
            }
        )
    return rows


CSV_COLUMNS = (
    "listing_id",
    "registration_id",
    "bidder_number",
    "payer_name",
    "payment_reference",
    "original_bank_txn_id",
    "paid_at",
    "amount_fen",
    "amount_yuan",
)


async def refunds_csv(db: Database, who: Actor, listing_id: int) -> bytes:
    """The refund instruction file for the bank (UTF-8 with BOM, so spreadsheets read it)."""
    async with db.read() as session:
        rows = await refund_instructions(session, who, listing_id)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _safe_cell(row[k]) for k in CSV_COLUMNS})
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _safe_cell(value: Any) -> Any:
    # A cell starting with = + - @ would run as a formula in a spreadsheet.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


async def confirm_refunds(
    db: Database,
    who: Actor,
    listing_id: int,
    *,
    bank_batch: str,
    registration_ids: list[int] | None,
    now: datetime,
) -> RefundsConfirmed:
    """The bank paid the refunds back: refundable → refunded, one ledger entry each."""
    who.require("reviewer")
    async with db.write() as session:
        await _staff_listing(session, who, listing_id)
        query = (
            select(Registration)
            .where(
                Registration.listing_id == listing_id,
                Registration.deposit_state == DepositState.REFUNDABLE,
            )
            .order_by(Registration.id)
        )
        if registration_ids is not None:
            query = query.where(Registration.id.in_(registration_ids))
        rows = list(await session.scalars(query.with_for_update()))
        if registration_ids is not None and len(rows) != len(set(registration_ids)):
            raise Conflict("refund.not_refundable", "所列报名中有保证金不处于待退还状态")
        refunded = []
        for r in rows:
            r.deposit_state = DepositState.REFUNDED
            payment = await session.scalar(
                select(Payment).where(
                    Payment.registration_id == r.id, Payment.outcome == "accepted"
                )
            )
            await record(
                session,
                r.listing_id,
                "deposit.refunded",
                who.name,
                now,
                registration_id=r.id,
                deposit_state=r.deposit_state,
                amount_fen=r.deposit_fen,
                bank_batch=bank_batch,
                original_bank_txn_id=payment.bank_txn_id if payment else None,
            )
            await notices.refund_paid(session, r, now)
            refunded.append(Refunded(registration_id=r.id, amount_fen=r.deposit_fen))
        return RefundsConfirmed(
            listing_id=listing_id,
            bank_batch=bank_batch,
            refunded=refunded,
            count=len(refunded),
            total_fen=sum(x.amount_fen for x in refunded),
        )


async def account(db: Database, who: Actor, listing_id: int) -> SettlementAccount:
    """The deposit account of a listing from the registrations and, independently, the log."""
    async with db.read() as session:
        numbers = await _staff_listing(session, who, listing_id)
        registrations = await registrations_of(session, listing_id)
        totals = dict.fromkeys(MOVEMENTS, 0)
        for entry in await ledger.entries_of(session, reading.subject(listing_id)):
            if entry.type in MOVEMENTS:
                totals[entry.type] += int(entry.payload["amount_fen"])
        contract = await current_contract(session, listing_id)
        items = [] if contract is None else await rent_items_of(session, contract.id)
    in_account = sum(r.deposit_fen for r in registrations if r.deposit_state in IN_ACCOUNT)
    from_ledger = sum(MOVEMENTS[t] * v for t, v in totals.items())
    return SettlementAccount(
        listing_id=listing_id,
        deposits=[
            DepositLine(
                registration_id=r.id,
                bidder_number=r.bidder_number if numbers else None,
                deposit_fen=r.deposit_fen,
                deposit_state=r.deposit_state,
            )
            for r in registrations
        ],
        paid_fen=totals["deposit.paid"],
        refunded_fen=totals["deposit.refunded"],
        credited_fen=totals["deposit.credited_to_rent"],
        forfeited_fen=totals["deposit.forfeited"],
        held_fen=in_account,
        ledger_balance_fen=from_ledger,
        balanced=in_account == from_ledger,
        rent_items=[rent_item_view(i, periods=False) for i in items],
    )
