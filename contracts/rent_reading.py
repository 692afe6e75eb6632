"""A lease's receivables as its parties and staff read them (GET /contracts/{id}/rent, the
deal's pages): every item with its status on the server's today (Beijing), what it has
received and still owes, its transfer reference and payments, and the lease's totals."""

from __future__ import annotations

from datetime import date

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts import access
from contracts.access import rent_items_of
from contracts.models import RentItem, RentPayment
from contracts.receivables import STATUS_NAMES_ZH, Status, arrears_level, owed_by
from core.accounts import Actor
from core.errors import NotFound
from core.settings import ExchangeSettings


class RentPaymentView(msgspec.Struct, kw_only=True):
    id: int
    amount_fen: int
    #: bank | staff
    channel: str
    paid_at: str
    bank_txn_id: str | None
    receipt_number: str | None
    #: Whether staff attached the receipt's scan (GET /rent-payments/{id}/receipt).
    has_receipt: bool


class RentLine(msgspec.Struct, kw_only=True):
    id: int
    number: int
    period_start: str
    period_end: str
    due_date: str
    amount_fen: int
    #: The winner's deposit applied to this item when the contract was signed.
    credited_fen: int
    #: Received by payments (bank or staff), beyond the deposit credit.
    paid_fen: int
    #: credited_fen + paid_fen
    received_fen: int
    outstanding_fen: int
    #: pending | not_due | partly_paid | paid | overdue | waived | void
    status: str
    status_zh: str
    days_overdue: int
    #: yellow | red when overdue past the exchange's arrears thresholds
    arrears: str | None
    #: What the lessee writes on the bank transfer (while the item takes money).
    reference: str | None
    waived_reason: str | None
    payments: list[RentPaymentView]


class RentTotals(msgspec.Struct, kw_only=True):
    #: Every item of the lease (less void ones).
    scheduled_fen: int
    #: Items due on or before today.
    due_fen: int
    #: Deposit credit and payments, early ones included.
    received_fen: int
    #: Forgiven by waivers.
    waived_fen: int
    #: Still owed on items due on or before today.
    outstanding_fen: int
    #: Still owed on items past their due date.
    overdue_fen: int


class LeaseRent(msgspec.Struct, kw_only=True):
    contract_id: int
    listing_id: int
    #: The day the statuses are as of (the server's today in Beijing).
    today: str
    #: yellow | red: the lease's worst arrears (docs/oversight.md), else None.
    arrears: str | None
    max_days_overdue: int
    #: village | winner | staff
    your_role: str
    items: list[RentLine]
    totals: RentTotals


def lease_view(
    contract_id: int,
    listing_id: int,
    role: str,
    items: list[RentItem],
    payments: list[RentPayment],
    today: date,
    settings: ExchangeSettings,
) -> LeaseRent:
    by_item: dict[int, list[RentPaymentView]] = {}
    for p in payments:
        by_item.setdefault(p.rent_item_id, []).append(
            RentPaymentView(
                id=p.id,
                amount_fen=p.amount_fen,
                channel=p.channel,
                paid_at=p.paid_at.isoformat(),
                bank_txn_id=p.bank_txn_id,
                receipt_number=p.receipt_number,
                has_receipt=p.receipt_sha256 is not None,
            )
        )
    lines, worst = [], 0
    scheduled = due = received = waived = outstanding = overdue = 0
    for item in items:
        o = owed_by(item, today)
        level = arrears_level(
            o.days_overdue, settings.arrears_yellow_days, settings.arrears_red_days
        )
        worst = max(worst, o.days_overdue)
        if o.status is not Status.VOID:
            scheduled += item.amount_fen
            received += item.credited_fen + item.paid_fen
            if item.due_date <= today:
                due += item.amount_fen
                outstanding += o.outstanding_fen
            if o.status is Status.OVERDUE:
                overdue += o.outstanding_fen
            if o.status is Status.WAIVED:
                waived += item.amount_fen - item.credited_fen - item.paid_fen
        lines.append(
            RentLine(
                id=item.id,
                number=item.number,
                period_start=item.period_start.isoformat(),
                period_end=item.period_end.isoformat(),
                due_date=item.due_date.isoformat(),
                amount_fen=item.amount_fen,
                credited_fen=item.credited_fen,
                paid_fen=item.paid_fen,
                received_fen=item.credited_fen + item.paid_fen,
                outstanding_fen=o.outstanding_fen,
                status=o.status.value,
                status_zh=STATUS_NAMES_ZH[o.status],
                days_overdue=o.days_overdue,
                arrears=level,
                reference=item.reference if item.state == "open" else None,
                waived_reason=item.waived_reason,
                payments=by_item.get(item.id, []),
            )
        )
    return LeaseRent(
        contract_id=contract_id,
        listing_id=listing_id,
        today=today.isoformat(),
        arrears=arrears_level(worst, settings.arrears_yellow_days, settings.arrears_red_days),
        max_days_overdue=worst,
        your_role=role,
        items=lines,
        totals=RentTotals(
            scheduled_fen=scheduled,
            due_fen=due,
            received_fen=received,
            waived_fen=waived,
            outstanding_fen=outstanding,
            overdue_fen=overdue,
        ),
    )


async def lease_rent(
    session: AsyncSession,
    who: Actor,
    contract_id: int,
    today: date,
    settings: ExchangeSettings,
) -> LeaseRent:
    """The lease's receivables for its parties and staff (contracts.access; 404 otherwise)."""
    seen = await access.load(session, who, contract_id)
    items = await rent_items_of(session, contract_id)
    payments = list(
        await session.scalars(
            select(RentPayment)
            .where(RentPayment.rent_item_id.in_([i.id for i in items]))
            .order_by(RentPayment.paid_at, RentPayment.id)
        )
    )
    return lease_view(
        contract_id, seen.contract.listing_id, seen.role, items, payments, today, settings
    )


async def receipt_of(session: AsyncSession, who: Actor, payment_id: int) -> str:
    """The SHA-256 of a payment's receipt scan, for whoever may see the lease; else 404."""
    payment = await session.get(RentPayment, payment_id)
    item = await session.get(RentItem, payment.rent_item_id) if payment is not None else None
    if payment is None or item is None or payment.receipt_sha256 is None:
        raise NotFound("rent.receipt_not_found", "收据不存在")
    await access.load(session, who, item.contract_id)
    return payment.receipt_sha256
