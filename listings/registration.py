"""Bidders' registration, deposits (bank callback or staff), qualification, registration close."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core import ledger
from core.accounts import Actor, User
from core.clock import CHINA_TZ, local_date
from core.errors import Conflict, InvalidInput, NotFound, RuleViolation
from core.settings import ExchangeSettings
from listings import policy
from listings.documents import DocumentStore
from listings.models import Listing, Payment, Registration, RegistrationDocument
from listings.policy import Facet
from listings.rules import ListingState, Outcome, action_for, registration_outcome, transition
from listings.schemas import ManualDeposit, PaymentCallback, RegistrationReviewBody
from listings.service import as_announced, load, subject

# Bank-memo friendly: no I, O (confused with 1, 0).
_REF_ALPHABET = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"


class RegState:
    PENDING_DEPOSIT = "pending_deposit"
    DEPOSIT_PAID = "deposit_paid"
    QUALIFIED = "qualified"
    REJECTED = "rejected"


class PriorityClaim:
    CLAIMED = "claimed"
    CONFIRMED = "confirmed"
    REFUSED = "refused"
    LAPSED = "lapsed"  # registration closed before a reviewer decided: an ordinary bidder


class DepositState:
    PENDING = "pending"
    PAID = "paid"
    HELD = "held"
    REFUNDABLE = "refundable"
    REFUNDED = "refunded"
    CREDITED_TO_RENT = "credited_to_rent"
    FORFEITED = "forfeited"


def new_payment_reference() -> str:
    return "RX" + "".join(secrets.choice(_REF_ALPHABET) for _ in range(10))


async def apply(
    session: AsyncSession,
    actor: Actor,
    listing_id: int,
    now: datetime,
    *,
    ip: str | None = None,
    user_agent: str | None = None,
    claim_priority: bool = False,
) -> Registration:
    """A bidder applies during the notice period, accepting the announced terms; a holder of a
    priority right named in the announcement may claim it, to prove it with a document."""
    actor.require("bidder")
    visible = await load(session, actor, listing_id, lock=True)
    listing = visible.listing
    if listing.state != ListingState.ANNOUNCED:
        raise Conflict("registration.closed", "该项目当前不接受报名")
    assert listing.registration_closes_at is not None
    if now >= listing.registration_closes_at:
        raise Conflict("registration.closed", "报名已截止")
    existing = await session.scalar(
        select(Registration.id).where(
            Registration.listing_id == listing_id, Registration.bidder_id == actor.id
        )
    )
    if existing is not None:
        raise Conflict(
            "registration.duplicate", "您已报名该项目，请勿重复报名", registration_id=existing
        )
    if claim_priority and not named_holder(listing, actor.user):
        raise RuleViolation(
            "registration.not_priority_holder",
            "您的证件号码与公告所列优先权人不符，不能声明优先权",
        )
    registration = Registration(
        listing_id=listing_id,
        bidder_id=actor.id,
        state=RegState.PENDING_DEPOSIT,
        deposit_fen=listing.terms["deposit_fen"],
        deposit_state=DepositState.PENDING,
        payment_reference=new_payment_reference(),
        # A right is confirmed by a reviewer against the proof, never granted on a typed number.
        priority_holder=False,
        priority_claim=PriorityClaim.CLAIMED if claim_priority else None,
        ip=ip,
        user_agent=(user_agent or "")[:256] or None,
        created_at=now,
    )
    if registration.deposit_fen == 0:  # nothing to pay: ready for review at once
        registration.state = RegState.DEPOSIT_PAID
        registration.deposit_state = DepositState.PAID
    session.add(registration)
    await session.flush()
    # Recorded after the zero-deposit shortcut, so the ledger states what the table holds.
    await _record(
        session,
        registration,
        "registration.applied",
        actor.name,
        now,
        deposit_fen=registration.deposit_fen,
        ip=ip,
        payment_reference=registration.payment_reference,
        priority_claim=registration.priority_claim,
    )
    return registration


def named_holder(listing: Listing, user: User) -> dict[str, Any] | None:
    """The announcement's priority holder with this user's identity document, if any."""
    if not user.id_number:
        return None
    for holder in listing.terms.get("priority_holders", []):
        if holder["id_type"] == user.id_type and holder["id_number"].upper() == user.id_number:
            return dict(holder)
    return None


async def attach_proof(
    session: AsyncSession,
    actor: Actor,
    registration_id: int,
    *,
    filename: str,
    content_type: str,
    content: bytes,
    store: DocumentStore,
    now: datetime,
) -> RegistrationDocument:
    """The proof of a claimed priority right (the lease, a resolution), while registration is
    open and before the reviewer has decided. The file is checked (listings.documents.check)
    by the caller; the right to attach is checked here before it touches the disk."""
    actor.require("bidder")
    registration = await proof_attachable(session, actor, registration_id)
    sha256 = store.put(content)
    document = RegistrationDocument(
        registration_id=registration.id,
        kind="priority_proof",
        filename=filename,
        content_type=content_type,
        size=len(content),
        sha256=sha256,
        uploaded_at=now,
    )
    session.add(document)
    await session.flush()
    await _record(session, registration, "registration.proof_added", actor.name, now, sha256=sha256)
    return document


async def proof_attachable(
    session: AsyncSession, actor: Actor, registration_id: int
) -> Registration:
    """The bidder's own registration, if a proof may still be attached (checked before the
    file touches the disk)."""
    unlocked = await load_registration(session, actor, registration_id)
    if unlocked.bidder_id != actor.id:
        raise NotFound("registration.not_found", "报名记录不存在")
    # The listing row first, then the registration: the order registration close uses.
    listing = (await load(session, actor, unlocked.listing_id, lock=True)).listing
    registration = await load_registration(session, actor, registration_id, lock=True)
    if registration.state not in (RegState.PENDING_DEPOSIT, RegState.DEPOSIT_PAID) or (
        listing.state != ListingState.ANNOUNCED
    ):
        raise Conflict("registration.already_reviewed", "报名已审核或已截止，不能再上传材料")
    if registration.priority_claim != PriorityClaim.CLAIMED:
        raise Conflict("registration.no_priority_claim", "该报名未声明优先权，无需上传证明材料")
    return registration


async def documents_of(
    session: AsyncSession, registration_ids: list[int]
) -> dict[int, list[RegistrationDocument]]:
    out: dict[int, list[RegistrationDocument]] = {i: [] for i in registration_ids}
    if registration_ids:
        rows = await session.scalars(
            select(RegistrationDocument)
            .where(RegistrationDocument.registration_id.in_(registration_ids))
            .order_by(RegistrationDocument.id)
        )
        for d in rows:
            out[d.registration_id].append(d)
    return out


async def _record(
    session: AsyncSession,
    registration: Registration,
    type_: str,
    actor: str,
    now: datetime,
    **payload: Any,
) -> None:
    await ledger.append(
        session,
        subject=subject(registration.listing_id),
        type=type_,
        actor=actor,
        payload={
            "registration_id": registration.id,
            "state": registration.state,
            "deposit_state": registration.deposit_state,
            **payload,
        },
        at=now,
    )


async def load_registration(
    session: AsyncSession, actor: Actor, registration_id: int, *, lock: bool = False
) -> Registration:
    """A registration its bidder, or staff with the listing in their jurisdiction, may see."""
    query = select(Registration).where(Registration.id == registration_id)
    if lock:  # re-read under the lock even if this session saw the row before
        query = query.with_for_update().execution_options(populate_existing=True)
    registration = await session.scalar(query)
    if registration is None:
        raise NotFound("registration.not_found", "报名记录不存在")
    if actor.role == "bidder" and registration.bidder_id == actor.id:
        return registration
    if actor.role in ("reviewer", "regulator", "admin"):
        visible = await load(session, actor, registration.listing_id)
        state, village = visible.listing.state, visible.village
        if policy.may_see(actor, Facet.REGISTRATIONS, state, village):
            return registration
    raise NotFound("registration.not_found", "报名记录不存在")


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


_PAYMENT_PROBLEMS = {
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
    registration = await session.scalar(
        select(Registration).where(Registration.payment_reference == reference).with_for_update()
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
            {
                "type": "about:blank",
                "title": "款项未能入账",
                "status": 422,
                "code": code,
                "detail": _PAYMENT_PROBLEMS[code],
            },
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
        await _record(
            session,
            registration,
            "deposit.paid" if code is None else "payment.rejected",
            actor,
            now,
            **entry,
            code=code,
        )
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
    listing = await session.get(Listing, registration.listing_id)
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


async def confirm_manually(
    session: AsyncSession,
    actor: Actor,
    registration_id: int,
    body: ManualDeposit,
    now: datetime,
    *,
    secret: str,
) -> PaymentAnswer:
    actor.require("reviewer")
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


async def _new_bidder_number(session: AsyncSession, listing_id: int) -> str:
    taken = set(
        await session.scalars(
            select(Registration.bidder_number).where(
                Registration.listing_id == listing_id, Registration.bidder_number.is_not(None)
            )
        )
    )
    # Random, not sequential: the order of registration must not be guessable from the number.
    while True:
        number = f"{secrets.randbelow(9000) + 1000}"
        if number not in taken:
            return number


async def review(
    session: AsyncSession,
    actor: Actor,
    registration_id: int,
    body: RegistrationReviewBody,
    now: datetime,
) -> Registration:
    actor.require("reviewer")
    # The listing row first, then the registration: the order registration close uses.
    unlocked = await load_registration(session, actor, registration_id)
    visible = await load(session, actor, unlocked.listing_id, lock=True)
    registration = await load_registration(session, actor, registration_id, lock=True)
    if visible.listing.state != ListingState.ANNOUNCED:
        raise Conflict("registration.listing_not_open", "项目已不在报名阶段，不能再审核报名")
    if registration.state != RegState.DEPOSIT_PAID:
        code, msg = (
            ("registration.deposit_unpaid", "保证金尚未到账，不能审核")
            if registration.state == RegState.PENDING_DEPOSIT
            else ("registration.already_reviewed", "该报名已审核")
        )
        raise Conflict(code, msg)
    if body.decision == "qualify":
        await _decide_priority(session, registration, visible.listing, body)
        await _qualify(session, registration)
    else:
        if not body.reason.strip():
            raise InvalidInput("review.reason_required", "不予通过时必须说明理由")
        registration.state = RegState.REJECTED
        registration.deposit_state = DepositState.REFUNDABLE
        if registration.priority_claim == PriorityClaim.CLAIMED:
            registration.priority_claim = PriorityClaim.REFUSED
    registration.reason = body.reason or None
    registration.decided_at, registration.decided_by = now, actor.id
    await _record_decision(session, registration, actor.name, now, reason=body.reason)
    return registration


async def _decide_priority(
    session: AsyncSession, registration: Registration, listing: Listing, body: Any
) -> None:
    """A claimed priority right is confirmed or refused explicitly, never by default."""
    if registration.priority_claim != PriorityClaim.CLAIMED:
        if body.priority is not None:
            raise InvalidInput("review.no_priority_claim", "该报名未声明优先权")
        return
    if body.priority is None:
        raise InvalidInput(
            "review.priority_required", "该报名人声明了优先权，请确认或不予确认其优先权"
        )
    if body.priority == "refuse":
        if not body.reason.strip():
            raise InvalidInput("review.reason_required", "不予确认优先权时必须说明理由")
        registration.priority_claim = PriorityClaim.REFUSED
        return
    proofs = (await documents_of(session, [registration.id]))[registration.id]
    if not proofs:
        raise Conflict("review.priority_proof_missing", "报名人尚未上传优先权证明材料，不能确认")
    bidder = await session.get(User, registration.bidder_id)
    assert bidder is not None
    if named_holder(listing, bidder) is None:
        raise Conflict("review.not_priority_holder", "报名人与公告所列优先权人不符，不能确认")
    registration.priority_claim = PriorityClaim.CONFIRMED
    registration.priority_holder = True


async def _qualify(session: AsyncSession, registration: Registration) -> None:
    registration.state = RegState.QUALIFIED
    registration.deposit_state = DepositState.HELD
    registration.bidder_number = await _new_bidder_number(session, registration.listing_id)


async def _record_decision(
    session: AsyncSession, registration: Registration, actor: str, now: datetime, **payload: Any
) -> None:
    await _record(
        session,
        registration,
        f"registration.{registration.state}",
        actor,
        now,
        bidder_number=registration.bidder_number,
        priority_claim=registration.priority_claim,
        **payload,
    )


#: What a bidder qualified at registration close is told (docs/security.md §4).
AUTO_QUALIFIED = "报名期满时保证金已按时到账、尚未审核，系统自动确认竞买资格"
PRIORITY_LAPSED = "；优先权声明未在报名期内经审核确认，按普通竞买人参加竞价"


async def _qualify_undecided(
    session: AsyncSession, registrations: list[Registration], now: datetime
) -> None:
    """Nobody can keep a bidder out by doing nothing: at registration close every application
    whose deposit arrived in time and that no reviewer decided is qualified."""
    for r in registrations:
        if r.state != RegState.DEPOSIT_PAID:
            continue
        await _qualify(session, r)
        r.reason = AUTO_QUALIFIED
        if r.priority_claim == PriorityClaim.CLAIMED:
            r.priority_claim = PriorityClaim.LAPSED
            r.reason += PRIORITY_LAPSED
        r.decided_at, r.decided_by = now, None
        await _record_decision(session, r, "system", now, reason=r.reason, automatic=True)


async def registrations_of(session: AsyncSession, listing_id: int) -> list[Registration]:
    rows = await session.scalars(
        select(Registration).where(Registration.listing_id == listing_id).order_by(Registration.id)
    )
    return list(rows)


async def bidders_of(session: AsyncSession, registrations: list[Registration]) -> dict[int, User]:
    ids = {r.bidder_id for r in registrations}
    if not ids:
        return {}
    return {u.id: u for u in await session.scalars(select(User).where(User.id.in_(ids)))}


async def due_closings(session: AsyncSession, now: datetime) -> list[int]:
    rows = await session.scalars(
        select(Listing.id).where(
            Listing.state == ListingState.ANNOUNCED, Listing.registration_closes_at <= now
        )
    )
    return list(rows)


@dataclass(frozen=True, slots=True)
class Closing:
    listing: Listing
    outcome: Outcome
    qualified: list[Registration]


async def close_registration(
    session: AsyncSession, listing_id: int, settings: ExchangeSettings, now: datetime
) -> Closing | None:
    """Close registration once its time has come; None if another process already did."""
    listing = await session.scalar(
        select(Listing).where(Listing.id == listing_id).with_for_update()
    )
    if listing is None or listing.state != ListingState.ANNOUNCED:
        return None
    assert listing.registration_closes_at is not None
    if listing.registration_closes_at > now:
        return None
    settings = as_announced(listing, settings)  # the rules as announced, not as they are now
    registrations = await registrations_of(session, listing_id)
    await _qualify_undecided(session, registrations, now)
    qualified = [r for r in registrations if r.state == RegState.QUALIFIED]
    outcome = registration_outcome(
        len(qualified),
        min_bidders=settings.min_qualified_bidders,
        single_policy=settings.single_bidder_policy,
        already_extended=listing.registration_extended,
    )
    listing.state = transition(ListingState(listing.state), action_for(outcome)).value
    listing.updated_at = now
    payload: dict[str, Any] = {"qualified": len(qualified), "outcome": outcome.value}
    if outcome is Outcome.EXTEND:
        _extend(listing, settings)
        payload["registration_closes_at"] = ledger.timestamp(listing.registration_closes_at)
    elif outcome is Outcome.FAILED:
        listing.outcome = "no_bidders" if not qualified else "too_few_bidders"
    elif outcome is Outcome.AGREEMENT:
        listing.outcome = "agreement"
    await ledger.append(
        session,
        subject=subject(listing.id),
        type="registration.closed",
        actor="system",
        payload={"state": listing.state, **payload},
        at=now,
    )
    if outcome is not Outcome.EXTEND:
        # Whoever cannot bid any more gets their deposit back.
        for r in registrations:
            still_bidding = r.state == RegState.QUALIFIED and outcome is not Outcome.FAILED
            if r.deposit_state in (DepositState.PAID, DepositState.HELD) and not still_bidding:
                r.deposit_state = DepositState.REFUNDABLE
                await _record(
                    session, r, "deposit.refundable", "system", now, amount_fen=r.deposit_fen
                )
    return Closing(listing, outcome, qualified)


def _extend(listing: Listing, settings: ExchangeSettings) -> None:
    assert listing.registration_closes_at and listing.auction_starts_at
    closes = listing.registration_closes_at.astimezone(CHINA_TZ)
    new_day = settings.calendar().add_working_days(
        local_date(closes), settings.single_bidder_extension_working_days
    )
    shift = timedelta(days=(new_day - closes.date()).days)
    listing.registration_closes_at = listing.registration_closes_at + shift
    listing.auction_starts_at = listing.auction_starts_at + shift
    listing.registration_extended = True


async def settle_after_sale(
    session: AsyncSession, listing_id: int, winner_registration_id: int | None, now: datetime
) -> None:
    """At the end of the trade: the winner's deposit stays held, to be credited to the first
    rent payment; everyone else's becomes refundable."""
    for r in await registrations_of(session, listing_id):
        if r.id == winner_registration_id:
            await _record(
                session, r, "deposit.to_be_credited", "system", now, amount_fen=r.deposit_fen
            )
        elif r.deposit_state in (DepositState.PAID, DepositState.HELD):
            r.deposit_state = DepositState.REFUNDABLE
            await _record(session, r, "deposit.refundable", "system", now, amount_fen=r.deposit_fen)


async def qualified_number(session: AsyncSession, listing_id: int, bidder_id: int) -> str | None:
    """The bidder's anonymous number for this listing if qualified, else None."""
    return await session.scalar(
        select(Registration.bidder_number).where(
            Registration.listing_id == listing_id,
            Registration.bidder_id == bidder_id,
            Registration.state == RegState.QUALIFIED,
        )
    )


async def qualified_numbers(
    session: AsyncSession, listing_id: int, bidder_ids: set[int]
) -> dict[int, str]:
    """Bidder numbers of those among `bidder_ids` qualified for this listing, in one query."""
    rows = await session.execute(
        select(Registration.bidder_id, Registration.bidder_number)
        .join(User, User.id == Registration.bidder_id)
        .where(
            Registration.listing_id == listing_id,
            Registration.bidder_id.in_(bidder_ids),
            Registration.state == RegState.QUALIFIED,
            User.active.is_(True),  # a deactivated bidder's open socket bids no more
        )
    )
    return {bidder_id: number for bidder_id, number in rows if number is not None}
