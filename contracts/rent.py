"""Rent as receivables (docs/domain.md §7): money received for a lease's rent items, by the
bank's signed callback or recorded by staff with a receipt, and waivers. Every movement is an
entry of the listing's chain in the ledger (`rent.paid`, `rent.waived`, `rent.rejected`).

An item takes money while it is `open`, at most what it still owes (partial and early
payments are fine); at nothing owed it becomes `paid`. Bank transactions of rent are kept in
the exchange's `payments` table beside the deposits, with the answer given: a replay (or a
concurrent duplicate) of one `bank_txn_id` gets the same answer and moves nothing, and money
refused (an unknown reference, more than owed) stays on record to be sent back.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts import access
from contracts.models import Contract, RentItem, RentPayment
from contracts.receivables import owed
from core import ledger
from core.accounts import Actor
from core.clock import CHINA_TZ, local_date
from core.db import Database
from core.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
    RuleViolation,
    problem_body,
)
from listings import Payment
from listings.documents import CheckedFile, DocumentStore
from listings.payments import PaymentAnswer, applied_once, payer_account_digest
from listings.reading import record
from listings.schemas import PaymentCallback

OPEN, PAID, WAIVED = "open", "paid", "waived"

PROBLEMS = {
    "rent.unknown_reference": "付款附言中的租金识别码不存在",
    "rent.not_open": "该期租金不在待收状态（合同未生效、已付清或已减免）",
    "rent.overpaid": "付款金额超过该期租金尚欠金额",
}


def outstanding(item: RentItem) -> int:
    """What the item still owes: its amount less the deposit credit and the payments."""
    return max(item.amount_fen - item.credited_fen - item.paid_fen, 0)


def refusal(item: RentItem | None, amount_fen: int) -> str | None:
    """Why money for this item cannot be taken (a code of PROBLEMS), or None."""
    if item is None:
        return "rent.unknown_reference"
    if item.state != OPEN:
        return "rent.not_open"
    if amount_fen > outstanding(item):
        return "rent.overpaid"
    return None


async def _locked(session: AsyncSession, where: ColumnElement[bool]) -> RentItem | None:
    # Re-read under the lock even if this session loaded it: a payment committed meanwhile
    # would otherwise go unseen and the item be paid twice over.
    return await session.scalar(
        select(RentItem).where(where).with_for_update().execution_options(populate_existing=True)
    )


async def _take(
    session: AsyncSession,
    item: RentItem,
    payment: RentPayment,
    actor: str,
    now: datetime,
) -> None:
    """Apply an accepted payment to its (locked, open) item and ledger it."""
    item.paid_fen += payment.amount_fen
    if outstanding(item) == 0:
        item.state = PAID
    session.add(payment)
    await session.flush()
    await record(
        session,
        item.listing_id,
        "rent.paid",
        actor,
        now,
        contract_id=item.contract_id,
        rent_item_id=item.id,
        number=item.number,
        amount_fen=payment.amount_fen,
        channel=payment.channel,
        bank_txn_id=payment.bank_txn_id,
        receipt_number=payment.receipt_number,
        receipt_sha256=payment.receipt_sha256,
        paid_at=payment.paid_at.isoformat(),
        paid_fen=item.paid_fen,
        outstanding_fen=outstanding(item),
        state=item.state,
    )


async def record_bank_payment(
    session: AsyncSession, body: PaymentCallback, *, now: datetime, secret: str
) -> PaymentAnswer:
    """Apply one bank transaction of rent once, answering as the first time on a replay."""
    earlier = await session.scalar(select(Payment).where(Payment.bank_txn_id == body.bank_txn_id))
    if earlier is not None:
        return PaymentAnswer(earlier.response_status, earlier.response)
    item = await _locked(session, RentItem.reference == body.reference)
    code = refusal(item, body.amount_fen)
    paid_at = body.paid_at if body.paid_at.tzinfo else body.paid_at.replace(tzinfo=CHINA_TZ)
    if code is None:
        assert item is not None
        await _take(
            session,
            item,
            RentPayment(
                rent_item_id=item.id,
                listing_id=item.listing_id,
                amount_fen=body.amount_fen,
                channel="bank",
                bank_txn_id=body.bank_txn_id,
                paid_at=paid_at,
                recorded_at=now,
            ),
            "bank",
            now,
        )
        answer = PaymentAnswer(
            200,
            {
                "status": "accepted",
                "rent_item_id": item.id,
                "number": item.number,
                "state": item.state,
                "paid_fen": item.paid_fen,
                "outstanding_fen": outstanding(item),
            },
        )
    else:
        answer = PaymentAnswer(422, problem_body(422, code, PROBLEMS[code], "款项未能入账"))
    session.add(
        Payment(
            bank_txn_id=body.bank_txn_id,
            reference=body.reference,
            amount_fen=body.amount_fen,
            paid_at=paid_at,
            received_at=now,
            registration_id=None,
            outcome="accepted" if code is None else "rejected",
            code=code,
            source="bank",
            payer_account=body.payer_account,
            response_status=answer.status,
            response=answer.body,
        )
    )
    await session.flush()
    if code is not None:
        entry = {
            "bank_txn_id": body.bank_txn_id,
            "amount_fen": body.amount_fen,
            "reference": body.reference,
            "code": code,
            "payer_account_hmac": payer_account_digest(secret, body.payer_account)
            if body.payer_account
            else None,
        }
        if item is not None:  # refused money is sent back: the lease's chain says why
            await record(session, item.listing_id, "rent.rejected", "bank", now, **entry)
        else:
            await ledger.append(
                session,
                subject="payments",
                type="payment.rejected",
                actor="bank",
                payload=entry,
                at=now,
            )
    return answer


async def receive_callback(
    db: Database, body: PaymentCallback, *, now: datetime, secret: str
) -> PaymentAnswer:
    """The bank reports a rent payment (its signature already checked by the caller)."""
    return await applied_once(
        db,
        body.bank_txn_id,
        lambda session: record_bank_payment(session, body, now=now, secret=secret),
    )


async def staff_item(session: AsyncSession, who: Actor, item_id: int) -> RentItem:
    """The item, locked, for the lessor village's officials and the reviewers of its region
    (who record payments and waivers); 404 for whoever may not see the contract, 403 for a
    party or staff member who may see but not act."""
    item = await session.get(RentItem, item_id)
    if item is None:
        raise NotFound("rent.not_found", "租金期次不存在")
    seen = await access.load(session, who, item.contract_id)
    if not (seen.role == access.VILLAGE or (seen.role == access.STAFF and who.role == "reviewer")):
        raise PermissionDenied("auth.forbidden", "当前角色无权执行此操作")
    locked = await _locked(session, RentItem.id == item_id)
    assert locked is not None
    return locked


async def record_staff_payment(
    db: Database,
    who: Actor,
    item_id: int,
    *,
    amount_fen: int,
    paid_at: datetime,
    receipt_number: str,
    receipt: CheckedFile | None,
    store: DocumentStore,
    now: datetime,
) -> RentItem:
    """Rent received outside the bank's callback (cash at the village, a transfer seen on the
    statement), recorded with its receipt number and, optionally, the receipt's scan."""
    receipt_number = receipt_number.strip()
    if not receipt_number:
        raise InvalidInput("rent.receipt_required", "请填写收据编号")
    if amount_fen <= 0:
        raise InvalidInput("rent.amount_invalid", "收款金额应大于零")
    if paid_at.tzinfo is None:
        paid_at = paid_at.replace(tzinfo=CHINA_TZ)
    if local_date(paid_at) > local_date(now):
        raise InvalidInput("rent.paid_at_future", "收款日期不能晚于今天")
    async with db.write() as session:
        item = await staff_item(session, who, item_id)
        code = refusal(item, amount_fen)
        if code == "rent.not_open":
            raise Conflict(code, PROBLEMS[code])
        if code is not None:
            raise RuleViolation(code, PROBLEMS[code])
        # The lease's contract locked: two clerks recording one receipt number against two
        # items of the lease at once are taken one after the other, so the check holds.
        await session.get(Contract, item.contract_id, with_for_update=True)
        duplicate = await session.scalar(
            select(func.count())
            .select_from(RentPayment)
            .where(
                RentPayment.listing_id == item.listing_id,
                RentPayment.receipt_number == receipt_number,
            )
        )
        if duplicate:
            raise Conflict("rent.duplicate_receipt", "该收据编号已登记过收款")
        await _take(
            session,
            item,
            RentPayment(
                rent_item_id=item.id,
                listing_id=item.listing_id,
                amount_fen=amount_fen,
                channel="staff",
                receipt_number=receipt_number,
                receipt_sha256=store.put(receipt.content) if receipt is not None else None,
                paid_at=paid_at,
                recorded_by=who.id,
                recorded_at=now,
            ),
            who.name,
            now,
        )
        return item


async def waive(db: Database, who: Actor, item_id: int, *, reason: str, now: datetime) -> RentItem:
    """减免: what an open item still owes is forgiven, as the collective decided (the reason
    names the decision); the village records it, or the exchange's reviewer on its behalf."""
    reason = reason.strip()
    if not reason:
        raise InvalidInput("rent.waive_reason_required", "请填写减免理由（村集体的决定）")
    async with db.write() as session:
        item = await staff_item(session, who, item_id)
        if item.state != OPEN:
            raise Conflict("rent.not_open", PROBLEMS["rent.not_open"])
        forgiven = outstanding(item)
        item.state, item.waived_reason = WAIVED, reason
        await record(
            session,
            item.listing_id,
            "rent.waived",
            who.name,
            now,
            contract_id=item.contract_id,
            rent_item_id=item.id,
            number=item.number,
            amount_fen=forgiven,
            reason=reason,
            owed_on=local_date(now).isoformat(),
            days_overdue=owed(
                state=OPEN,
                due=item.due_date,
                amount_fen=item.amount_fen,
                credited_fen=item.credited_fen,
                paid_fen=item.paid_fen,
                today=local_date(now),
            ).days_overdue,
        )
        return item
