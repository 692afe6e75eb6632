"""Deposits: the bank's signed callback and staff confirmation, each applied once."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from core import ledger
from core.accounts import Actor
from core.clock import CHINA_TZ
from core.db import Database
from core.errors import problem_body
from listings import notices
from listings.models import Listing, Payment, Registration
from listings.registration import (
    DepositState,
    RegState,
    load_registration,
    record_registration,
)
from listings.rules import ListingState
from listings.schemas import ManualDeposit, PaymentCallback


def sign_callback(secret: str, raw: bytes) -> str:
    return hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


def signature_ok(secret: str, raw: bytes, signature: str | None) -> bool:
    if not secret:
        return False  # an unconfigured secret must not make every signature "valid"
    return signature is not None and hmac.compare_digest(
        sign_callback(secret, raw), signature.strip().lower()
    )


@dataclass(frozen=True, slots=True)
class PaymentAnswer:
    """What the bank is told: the same for every replay of one bank transaction."""

    status: int
    body: dict[str, Any]


#: Why a payment could not be credited, as the bank and the reviewer are told.
PAYMENT_PROBLEMS_ZH = {
    "payment.unknown_reference": "付款附言中的报名编号不存在",
    "payment.amount_mismatch": "到账金额与应缴保证金不符",
    "payment.already_paid": "该报名的保证金已缴纳",
    "payment.registration_closed": "报名已截止或项目已不在公告期，款项将原路退回",
}


async def record_payment(
    session: AsyncSession,
    body: PaymentCallback | ManualDeposit,
    *,
    reference: str,
    source: str,
    actor: str,
    now: datetime,
    secret: str,
) -> PaymentAnswer:
    """Apply one deposit payment once; every payment is kept, accepted or not (for refunds).
    `secret` keys the digest of the payer's account in the log (`payer_account_digest`)."""
    earlier = await session.scalar(select(Payment).where(Payment.bank_txn_id == body.bank_txn_id))
    if earlier is not None:
        return PaymentAnswer(earlier.response_status, earlier.response)
    # Lock order everywhere: the listing row, then its registrations (as registration close
    # does), so a payment cannot slip past a running close and the two cannot deadlock.
    listing_id = await session.scalar(
        select(Registration.listing_id).where(Registration.payment_reference == reference)
    )
    if listing_id is not None:
        await session.scalar(select(Listing.id).where(Listing.id == listing_id).with_for_update())
    # Re-read under the lock even if this session loaded the row before (a reviewer's manual
    # confirmation does), or a payment or close committed meanwhile would go unseen.
    registration = await session.scalar(
        select(Registration)
        .where(Registration.payment_reference == reference)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    code = await _payment_problem(session, registration, body.amount_fen, now)
    paid_at = body.paid_at
    if paid_at.tzinfo is None:
        paid_at = paid_at.replace(tzinfo=CHINA_TZ)  # bank statements are in Beijing time
    if code is None:
        assert registration is not None
        registration.state = RegState.DEPOSIT_PAID
        registration.deposit_state = DepositState.PAID
        answer = PaymentAnswer(
            200,
            {
                "status": "accepted",
                "registration_id": registration.id,
                "state": registration.state,
                "deposit_state": registration.deposit_state,
            },
        )
    else:
        answer = PaymentAnswer(
            422,
            problem_body(422, code, PAYMENT_PROBLEMS_ZH[code], "款项未能入账"),
        )
    payment = Payment(
        bank_txn_id=body.bank_txn_id,
        reference=reference,
        amount_fen=body.amount_fen,
        paid_at=paid_at,
        received_at=now,
        registration_id=registration.id if registration else None,
        outcome="accepted" if code is None else "rejected",
        code=code,
        source=source,
        payer_account=body.payer_account,
        response_status=answer.status,
        response=answer.body,
    )
    session.add(payment)
    await session.flush()
    entry = {
        "bank_txn_id": body.bank_txn_id,
        "amount_fen": body.amount_fen,
        "reference": reference,
        "source": source,
        "payment_id": payment.id,
        # The account number itself stays in the payments table; the log proves which, to
        # whoever holds the key (a bare hash of a bank account number is easily reversed).
        "payer_account_hmac": payer_account_digest(secret, body.payer_account)
        if body.payer_account
        else None,
    }
    if registration is not None:
        await record_registration(
            session,
            registration,
            "deposit.paid" if code is None else "payment.rejected",
            actor,
            now,
            **entry,
            code=code,
        )
        if code is None:
            await notices.deposit_received(session, registration, now)
    else:
        await ledger.append(
            session,
            subject="payments",
            type="payment.rejected",
            actor=actor,
            payload={**entry, "code": code},
            at=now,
        )
    return answer


async def _payment_problem(
    session: AsyncSession, registration: Registration | None, amount_fen: int, now: datetime
) -> str | None:
    if registration is None:
        return "payment.unknown_reference"
    if registration.deposit_state != DepositState.PENDING:
        return "payment.already_paid"
    listing = await session.get(Listing, registration.listing_id, populate_existing=True)
    assert listing is not None
    closes = listing.registration_closes_at
    if listing.state != ListingState.ANNOUNCED or closes is None or now >= closes:
        return "payment.registration_closed"
    if amount_fen != registration.deposit_fen:
        return "payment.amount_mismatch"
    return None


def payer_account_digest(secret: str, account: str) -> str:
    """HMAC-SHA256 of a payer's account number under a key derived from the exchange secret."""
    key = hmac.new(secret.encode(), b"payer-account", hashlib.sha256).digest()
    return hmac.new(key, account.encode(), hashlib.sha256).hexdigest()


async def applied_once(
    db: Database, bank_txn_id: str, pay: Callable[[AsyncSession], Awaitable[PaymentAnswer]]
) -> PaymentAnswer:
    """Run a payment once. A retry reads the first answer (`record_payment`); a concurrent
    duplicate loses the race on the unique bank transaction id and reads it too."""
    try:
        async with db.write() as session:
            return await pay(session)
    except IntegrityError:
        async with db.read() as session:
            first = await session.scalar(select(Payment).where(Payment.bank_txn_id == bank_txn_id))
            if first is None:
                raise
            return PaymentAnswer(first.response_status, first.response)


async def receive_callback(
    db: Database, body: PaymentCallback, *, now: datetime, secret: str
) -> PaymentAnswer:
    """The bank reports a deposit (its signature already checked by the caller)."""
    return await applied_once(
        db,
        body.bank_txn_id,
        lambda session: record_payment(
            session,
            body,
            reference=body.reference,
            source="bank",
            actor="bank",
            now=now,
            secret=secret,
        ),
    )


async def confirm_deposit(
    db: Database,
    actor: Actor,
    registration_id: int,
    body: ManualDeposit,
    *,
    now: datetime,
    secret: str,
) -> PaymentAnswer:
    """A reviewer confirms a deposit seen on the bank statement when no callback came."""
    actor.require("reviewer")

    async def pay(session: AsyncSession) -> PaymentAnswer:
        registration = await load_registration(session, actor, registration_id)
        return await record_payment(
            session,
            body,
            reference=registration.payment_reference,
            source="staff",
            actor=actor.name,
            now=now,
            secret=secret,
        )

    return await applied_once(db, body.bank_txn_id, pay)
