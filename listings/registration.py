"""Bidders' applications: the states of a registration, applying, reading registrations.

Deposits are in `listings.payments`, decisions in `listings.qualification`, registration close in
`listings.closing`."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from core import ledger
from core import settings as exchange_settings
from core.accounts import Actor, User, users_by_id
from core.db import table_of
from core.errors import Conflict, NotFound, RuleViolation
from listings import policy
from listings.announced import as_announced
from listings.models import Listing, Registration
from listings.policy import Facet
from listings.reading import load, record
from listings.rules import ListingState, refund_due
from listings.schemas import PriorityHolder

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
        deposit_fen=listing.terms.deposit_fen,
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
    try:
        await session.flush()
    except IntegrityError:  # the same application submitted twice at once (API or page)
        raise Conflict("registration.duplicate", "您已报名该项目，请勿重复报名") from None
    # Recorded after the zero-deposit shortcut, so the ledger states what the table holds.
    await record_registration(
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


def named_holder(listing: Listing, user: User) -> PriorityHolder | None:
    """The announcement's priority holder with this user's identity document, if any."""
    if not user.id_number:
        return None
    for holder in listing.terms.priority_holders:
        if holder.id_type == user.id_type and holder.id_number.upper() == user.id_number:
            return holder
    return None


async def record_registration(
    session: AsyncSession, r: Registration, type_: str, actor: str, now: datetime, **payload: Any
) -> None:
    """A registration's event in its listing's chain, with its state and deposit's state."""
    await record(
        session,
        r.listing_id,
        type_,
        actor,
        now,
        registration_id=r.id,
        state=r.state,
        deposit_state=r.deposit_state,
        **payload,
    )


async def make_refundable(session: AsyncSession, r: Registration, now: datetime) -> None:
    """The deposit is to be paid back: refundable, due within the refund period the listing's
    announcement fixed (docs/domain.md §6), counted in working days from now."""
    listing = await session.get(Listing, r.listing_id)
    assert listing is not None
    settings = as_announced(listing, await exchange_settings.load(session))
    days = settings.refund_deadline_working_days
    r.deposit_state = DepositState.REFUNDABLE
    r.refund_due_at = refund_due(now, days, settings.calendar(), settings.business_day_ends)


async def refund(session: AsyncSession, r: Registration, now: datetime, actor: str) -> None:
    """`make_refundable`, recorded as `deposit.refundable` with its due date."""
    await make_refundable(session, r, now)
    assert r.refund_due_at is not None
    await record_registration(
        session,
        r,
        "deposit.refundable",
        actor,
        now,
        amount_fen=r.deposit_fen,
        refund_due_at=ledger.timestamp(r.refund_due_at),
    )


async def load_registration(
    session: AsyncSession, actor: Actor, registration_id: int, *, lock: bool = False
) -> Registration:
    """A registration its bidder, or staff with the listing in their jurisdiction, may see."""
    # Locked, it is re-read under the lock even if this session saw the row before.
    registration = await session.get(
        Registration, registration_id, with_for_update=lock, populate_existing=lock
    )
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


async def registrations_of(session: AsyncSession, listing_id: int) -> list[Registration]:
    rows = await session.scalars(
        select(Registration).where(Registration.listing_id == listing_id).order_by(Registration.id)
    )
    return list(rows)


async def bidders_of(session: AsyncSession, registrations: list[Registration]) -> dict[int, User]:
    return await users_by_id(session, (r.bidder_id for r in registrations))


async def own_registration(
    session: AsyncSession, actor: Actor | None, listing_id: int
) -> Registration | None:
    """The signed-in bidder's registration for this listing (None for anyone else): what the
    policy asks of a bidder's own standing (`policy.may_see(..., registration=state)`)."""
    if actor is None or actor.role != "bidder":
        return None
    registration: Registration | None = await session.scalar(
        select(Registration).where(
            Registration.listing_id == listing_id, Registration.bidder_id == actor.id
        )
    )
    return registration


async def qualified_number(session: AsyncSession, listing_id: int, bidder_id: int) -> str | None:
    """The bidder's anonymous number for this listing if qualified, else None."""
    return await session.scalar(
        select(Registration.bidder_number).where(
            Registration.listing_id == listing_id,
            Registration.bidder_id == bidder_id,
            Registration.state == RegState.QUALIFIED,
        )
    )


def may_bid(registrations: Any = None, users: Any = None) -> ColumnElement[bool]:
    """Who may bid, as SQL: qualified, numbered, and an active account (a deactivated
    bidder's open socket bids no more). The one definition: the ORM path below and the raw
    batch of `auction.pg_batch` (which compiles it over its table aliases) both use it."""
    r = registrations if registrations is not None else table_of(Registration)
    u = users if users is not None else table_of(User)
    return and_(
        r.c.state == RegState.QUALIFIED,
        r.c.bidder_number.is_not(None),
        u.c.active.is_(True),
    )


async def qualified_numbers(
    session: AsyncSession, listing_id: int, bidder_ids: set[int]
) -> dict[int, str]:
    """Bidder numbers of those among `bidder_ids` who may bid on this listing, in one query."""
    rows: Any = await session.execute(
        select(Registration.bidder_id, Registration.bidder_number)
        .join(User, User.id == Registration.bidder_id)
        .where(
            Registration.listing_id == listing_id,
            Registration.bidder_id.in_(bidder_ids),
            may_bid(),
        )
    )
    return dict(rows.all())
