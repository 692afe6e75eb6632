"""Qualification: a reviewer's decision, a priority claim proven and decided, and the
automatic qualification at registration close that nobody can stall (docs/security.md §4)."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.accounts import Actor, User
from core.errors import Conflict, InvalidInput, NotFound
from listings import notices, policy
from listings.documents import CheckedFile, DocumentStore
from listings.models import Listing, Registration, RegistrationDocument
from listings.policy import Action
from listings.reading import load
from listings.registration import (
    DepositState,
    PriorityClaim,
    RegState,
    load_registration,
    make_refundable,
    named_holder,
    record_registration,
    registrations_of,
)
from listings.rules import ListingState
from listings.schemas import RegistrationReviewBody


async def attach_proof(
    session: AsyncSession,
    actor: Actor,
    registration_id: int,
    *,
    file: CheckedFile,
    store: DocumentStore,
    now: datetime,
) -> RegistrationDocument:
    """The proof of a claimed priority right (the lease, a resolution), while registration is
    open and before the reviewer has decided. The right to attach is checked here before the
    file (checked by `listings.documents.checked_file`) touches the disk."""
    actor.require("bidder")
    registration = await proof_attachable(session, actor, registration_id)
    document = await keep_document(session, registration, "priority_proof", file, store, now)
    await record_registration(
        session, registration, "registration.proof_added", actor.name, now, sha256=document.sha256
    )
    return document


async def keep_document(
    session: AsyncSession,
    registration: Registration,
    kind: str,
    file: CheckedFile,
    store: DocumentStore,
    now: datetime,
) -> RegistrationDocument:
    """A checked file stored by its hash and kept as one of the registration's documents
    (a priority proof, an objection's evidence); the caller has checked the right first."""
    document = RegistrationDocument(
        registration_id=registration.id,
        kind=kind,
        filename=file.filename,
        content_type=file.content_type,
        size=len(file.content),
        sha256=store.put(file.content),
        uploaded_at=now,
    )
    session.add(document)
    await session.flush()
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
        await make_refundable(session, registration, now)
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
    await record_registration(
        session,
        registration,
        f"registration.{registration.state}",
        actor,
        now,
        bidder_number=registration.bidder_number,
        priority_claim=registration.priority_claim,
        **payload,
    )
    await notices.decided(session, registration, now)


#: What a bidder qualified at registration close is told (docs/security.md §4).
AUTO_QUALIFIED = "报名期满时保证金已按时到账、尚未审核，系统自动确认竞买资格"


PRIORITY_LAPSED = "；优先权声明未在报名期内经审核确认，按普通竞买人参加竞价"


async def qualify_undecided(
    session: AsyncSession, registrations: list[Registration], now: datetime
) -> None:
    """Nobody can keep a bidder out by doing nothing: at registration close every application
    whose deposit arrived in time and that no reviewer decided is qualified. A priority claim
    of an application whose deposit never came lapses with it."""
    for r in registrations:
        if r.state == RegState.PENDING_DEPOSIT and r.priority_claim == PriorityClaim.CLAIMED:
            r.priority_claim = PriorityClaim.LAPSED
        if r.state != RegState.DEPOSIT_PAID:
            continue
        await _qualify(session, r)
        r.reason = AUTO_QUALIFIED
        if r.priority_claim == PriorityClaim.CLAIMED:
            r.priority_claim = PriorityClaim.LAPSED
            r.reason += PRIORITY_LAPSED
        r.decided_at, r.decided_by = now, None
        await _record_decision(session, r, "system", now, reason=r.reason, automatic=True)


#: Why the one-click qualification leaves an application with a claimed priority right alone.
PRIORITY_TO_CHECK = "声明了优先权，须核对证明材料后确认或不予确认"

#: The concerns about paid applications that their reviewer should weigh one by one (the
#: regulators' warnings about shared phones, addresses, devices and paying accounts): the
#: application's id → each concern as a sentence. Given by a higher layer (app/pages).
Concerns = Callable[[AsyncSession, list[Registration]], Awaitable[Mapping[int, list[str]]]]


@dataclass(frozen=True, slots=True)
class PaidApplications:
    """The paid applications of an announced listing: those one click may qualify, and those
    left for the reviewer to decide one by one, with why."""

    clean: list[Registration]
    held: dict[int, list[str]]


async def paid_applications(
    session: AsyncSession, listing_id: int, concerns: Concerns
) -> PaidApplications:
    paid = [
        r for r in await registrations_of(session, listing_id) if r.state == RegState.DEPOSIT_PAID
    ]
    held = {key: list(reasons) for key, reasons in (await concerns(session, paid)).items()}
    for r in paid:
        # A claimed right is confirmed or refused explicitly against its proof, never in bulk.
        if r.priority_claim == PriorityClaim.CLAIMED:
            held.setdefault(r.id, []).append(PRIORITY_TO_CHECK)
    paid_ids = {r.id for r in paid}
    return PaidApplications(
        clean=[r for r in paid if r.id not in held],
        held={key: reasons for key, reasons in held.items() if key in paid_ids and reasons},
    )


async def qualify_all_paid(
    session: AsyncSession, actor: Actor, listing_id: int, now: datetime, concerns: Concerns
) -> PaidApplications:
    """A reviewer's one decision for every paid application of an announced listing that
    nothing calls into question: each is qualified by `review`, as if decided alone (its
    bidder number, its ledger entry, its notice). Applications with a concern or a claimed
    priority right stay for the reviewer to decide one by one; returned as `held`."""
    actor.require("reviewer")
    # The listing row first (the order registration close and payments use), so no payment
    # or close slips in between reading the applications and deciding them.
    visible = await load(session, actor, listing_id, lock=True)
    policy.require_to(actor, Action.DECIDE, visible.village)
    if visible.listing.state != ListingState.ANNOUNCED:
        raise Conflict("registration.listing_not_open", "项目已不在报名阶段，不能再审核报名")
    applications = await paid_applications(session, listing_id, concerns)
    decided = [
        await review(session, actor, r.id, RegistrationReviewBody(decision="qualify"), now)
        for r in applications.clean
    ]
    return PaidApplications(clean=decided, held=applications.held)
