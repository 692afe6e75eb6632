"""异议: during the result publicity a bidder of the listing objects to its deal, with reasons
(and evidence uploaded as their registration's `objection` documents); a reviewer of the
listing's region upholds it (the deal is voided: contracts.voiding) or dismisses it, with
reasons. Every step is in the listing's ledger (docs/domain.md §6).

Filing, deciding and the publicity's confirmation all lock the deal row first, so an
objection filed in the last second either stops the confirmation or is refused as late.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from contracts import notices, publicity, voiding
from contracts.deal_rules import DealState, check_objection
from contracts.models import Objection, ObjectionState
from contracts.schemas import DealChange, ObjectionPage, ObjectionView
from core.accounts import Actor
from core.clock import iso
from core.db import Database
from core.errors import Conflict, InvalidInput, NotFound
from listings import Listing, Registration, policy, reading
from listings.api import document_view
from listings.documents import CheckedFile, DocumentStore
from listings.models import RegistrationDocument
from listings.policy import Action, Facet
from listings.qualification import keep_document
from listings.reading import record
from listings.schemas import DocumentOut


def _view(
    o: Objection, number: str | None = None, documents: list[DocumentOut] | None = None
) -> ObjectionView:
    return ObjectionView(
        id=o.id,
        listing_id=o.listing_id,
        registration_id=o.registration_id,
        state=o.state,
        reasons=o.reasons,
        filed_at=o.filed_at.isoformat(),
        decided_at=iso(o.decided_at),
        decision_reason=o.decision_reason,
        bidder_number=number,
        documents=documents or [],
    )


async def file(
    db: Database, who: Actor, listing_id: int, *, reasons: str, now: datetime
) -> ObjectionView:
    """A bidder who registered for the listing objects to its deal while it is published."""
    if not reasons.strip():
        raise InvalidInput("objection.reasons_required", "请写明异议的事实和理由")
    async with db.write() as session:
        await reading.load(session, who, listing_id)
        registration = await session.scalar(
            select(Registration).where(
                Registration.listing_id == listing_id, Registration.bidder_id == who.id
            )
        )
        if registration is None:
            raise Conflict("objection.not_a_bidder", "只有报名参加该项目的竞买人可以提出异议")
        deal = await publicity.locked_deal(session, listing_id)
        listing = await session.get(Listing, listing_id)
        assert listing is not None
        check_objection(DealState(deal.state), now, listing.publicity_ends_at)
        objection = Objection(
            listing_id=listing_id,
            registration_id=registration.id,
            reasons=reasons.strip(),
            state=ObjectionState.FILED,
            filed_at=now,
        )
        session.add(objection)
        await session.flush()
        await record(
            session,
            listing_id,
            "objection.filed",
            who.name,
            now,
            objection_id=objection.id,
            registration_id=registration.id,
            reasons=objection.reasons,
        )
        await notices.objection_filed(session, objection, now)
        return _view(objection)


async def decide(
    db: Database,
    who: Actor,
    objection_id: int,
    *,
    uphold: bool,
    reason: str,
    now: datetime,
) -> DealChange:
    """A reviewer of the listing's region decides an objection, giving reasons. Upheld, the
    deal is voided and the listing's rule decides what follows; dismissed with no other
    objection pending after the publicity, the deal is confirmed at once."""
    if not reason.strip():
        raise InvalidInput("objection.decision_reason_required", "请写明处理意见和理由")
    async with db.write() as session:
        found = await session.get(Objection, objection_id)
        if found is None:
            raise NotFound("objection.not_found", "异议不存在")
        visible = await reading.load(session, who, found.listing_id)
        policy.require_to(who, Action.DECIDE, visible.village)
        deal = await publicity.locked_deal(session, found.listing_id)
        objection = await session.get(
            Objection, objection_id, with_for_update=True, populate_existing=True
        )
        assert objection is not None
        if objection.state != ObjectionState.FILED:
            raise Conflict("objection.already_decided", "该异议已处理")
        objection.state = ObjectionState.UPHELD if uphold else ObjectionState.DISMISSED
        objection.decided_at, objection.decided_by = now, who.id
        objection.decision_reason = reason.strip()
        await record(
            session,
            objection.listing_id,
            "objection.decided",
            who.name,
            now,
            objection_id=objection.id,
            decision=objection.state,
            reason=objection.decision_reason,
        )
        await notices.objection_decided(session, objection, now)
        if uphold and deal.state == DealState.PUBLICITY:
            return await voiding.void(session, deal, "objection_upheld", who.name, now)
        await publicity.confirm_if_due(session, objection.listing_id, now)
        return await voiding.change(session, deal)


#: The kind of a registration document that supports its bidder's objection.
EVIDENCE = "objection_evidence"


async def attach_evidence(
    db: Database,
    who: Actor,
    objection_id: int,
    *,
    file: CheckedFile,
    store: DocumentStore,
    now: datetime,
) -> DocumentOut:
    """The objector adds evidence (a checked file) to their objection until it is decided; it
    is kept as a document of their registration, visible to them and to the staff who may see
    the applicants. The right is checked before the file touches the disk."""
    async with db.write() as session:
        found = await session.get(Objection, objection_id)
        registration = (
            await session.get(Registration, found.registration_id) if found is not None else None
        )
        if found is None or registration is None or registration.bidder_id != who.id:
            raise NotFound("objection.not_found", "异议不存在")
        await publicity.locked_deal(session, found.listing_id)
        objection = await session.get(Objection, objection_id, populate_existing=True)
        assert objection is not None
        if objection.state != ObjectionState.FILED:
            raise Conflict("objection.already_decided", "该异议已处理，不能再补充材料")
        document = await keep_document(session, registration, EVIDENCE, file, store, now)
        await record(
            session,
            objection.listing_id,
            "objection.evidence_added",
            who.name,
            now,
            objection_id=objection.id,
            registration_id=registration.id,
            sha256=document.sha256,
        )
        return document_view(document)


async def list_for(db: Database, who: Actor, listing_id: int) -> ObjectionPage:
    """Staff inside the listing's region see every objection; a bidder sees their own."""
    async with db.read() as session:
        visible = await reading.load(session, who, listing_id)
        state, village = visible.listing.state, visible.village
        query = select(Objection, Registration.bidder_number).join(
            Registration, Registration.id == Objection.registration_id
        )
        query = query.where(Objection.listing_id == listing_id).order_by(Objection.id)
        if not policy.may_see(who, Facet.REGISTRATIONS, state, village):
            query = query.where(Registration.bidder_id == who.id)
        numbers = policy.may_see(who, Facet.IDENTITIES, state, village)
        rows = (await session.execute(query)).all()
        evidence: dict[int, list[DocumentOut]] = {}
        for d in await session.scalars(
            select(RegistrationDocument)
            .where(
                RegistrationDocument.registration_id.in_({o.registration_id for o, _ in rows}),
                RegistrationDocument.kind == EVIDENCE,
            )
            .order_by(RegistrationDocument.id)
        ):
            evidence.setdefault(d.registration_id, []).append(document_view(d))
        return ObjectionPage(
            items=[
                _view(o, n if numbers else None, evidence.get(o.registration_id)) for o, n in rows
            ]
        )
