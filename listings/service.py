"""Use cases of entrustment, review and announcement: the only code that writes listings."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from core import ledger
from core.accounts import Actor
from core.clock import local_date
from core.errors import InvalidInput, PermissionDenied
from core.ids import InvalidIdNumber, validate_id
from core.settings import ExchangeSettings
from core.settings import load as load_settings
from listings import policy, resolution
from listings.announced import announced_rules
from listings.documents import CheckedFile, DocumentStore, check_kind
from listings.models import Document, Listing
from listings.policy import Action as Deed
from listings.reading import Visible, load, record, resolution_documents
from listings.rules import (
    Action,
    ListingState,
    check_announced_lease_start,
    check_announcement,
    check_auction_variant,
    check_lease_start,
    check_reserve,
    check_term_length,
    ensure_editable,
    transition,
    unexplained_price,
)
from listings.schemas import (
    AnnounceBody,
    DocumentKind,
    ListingCreate,
    ListingUpdate,
    Resolution,
    ReviewBody,
    Terms,
)


def _require_village_owner(actor: Actor, visible: Visible) -> None:
    policy.require_to(actor, Deed.ENTRUST, visible.village)


def _require_reviewer(actor: Actor, visible: Visible) -> None:
    policy.require_to(actor, Deed.DECIDE, visible.village)


def _check_terms(terms: Terms, category: str, settings: ExchangeSettings) -> None:
    check_term_length(terms.term_years, category, settings)
    for holder in terms.priority_holders:
        try:
            validate_id(holder.id_type, holder.id_number)
        except InvalidIdNumber as exc:
            raise InvalidInput(
                f"terms.priority_holder.{exc.code}",
                f"优先权人“{holder.name}”的证件号码有误：{exc.message}",
            ) from exc
    check_reserve(terms.reserve_fen, terms.listing_price_fen)
    check_auction_variant(
        terms.auction_mode,
        duration_minutes=terms.duration_minutes,
        extension_seconds=terms.extension_seconds,
        hard_cap_minutes=terms.hard_cap_minutes,
        free_bidding_minutes=terms.free_bidding_minutes,
        countdown_seconds=terms.countdown_seconds,
    )


def _check_resolution(facts: Resolution | None, category: str, now: datetime) -> None:
    if facts is not None:
        resolution.check(facts, category=category, today=local_date(now))


async def _record(
    session: AsyncSession, listing: Listing, type_: str, actor: str, now: datetime, **payload: Any
) -> None:
    await record(session, listing.id, type_, actor, now, state=listing.state, **payload)


async def create(
    session: AsyncSession,
    actor: Actor,
    body: ListingCreate,
    settings: ExchangeSettings,
    now: datetime,
) -> Listing:
    actor.require("village")
    assert actor.region is not None  # village officials always belong to a village
    if body.village_id not in (None, actor.region.id):
        raise PermissionDenied("listing.not_your_village", "只能为本村委托资产")
    _check_terms(body.terms, body.category, settings)
    _check_resolution(body.resolution, body.category, now)
    listing = Listing(
        village_id=actor.region.id,
        created_by=actor.id,
        title=body.title,
        category=body.category,
        location=body.location,
        area=body.area,
        area_unit=body.area_unit,
        description=body.description,
        terms=body.terms,
        resolution=body.resolution,
        site_visit=body.site_visit,
        state=ListingState.DRAFT.value,
        created_at=now,
        updated_at=now,
    )
    session.add(listing)
    await session.flush()
    await _record(
        session,
        listing,
        "listing.created",
        actor.name,
        now,
        terms=msgspec.to_builtins(listing.terms),
        resolution=msgspec.to_builtins(listing.resolution),
        title=listing.title,
        category=listing.category,
    )
    return listing


async def update(
    session: AsyncSession,
    actor: Actor,
    listing_id: int,
    patch: ListingUpdate,
    settings: ExchangeSettings,
    now: datetime,
) -> Listing:
    visible = await load(session, actor, listing_id, lock=True)
    _require_village_owner(actor, visible)
    listing = visible.listing
    ensure_editable(ListingState(listing.state))
    changes = {
        f: getattr(patch, f)
        for f in patch.__struct_fields__
        if getattr(patch, f) is not msgspec.UNSET
    }
    if "terms" in changes:
        _check_terms(changes["terms"], changes.get("category", listing.category), settings)
    elif "category" in changes:
        _check_terms(listing.terms, changes["category"], settings)
    if "resolution" in changes or "category" in changes:
        _check_resolution(
            changes.get("resolution", listing.resolution),
            changes.get("category", listing.category),
            now,
        )
    for name, value in changes.items():
        setattr(listing, name, value)
    listing.updated_at = now
    await _record(session, listing, "listing.updated", actor.name, now, changed=sorted(changes))
    return listing


async def submit(session: AsyncSession, actor: Actor, listing_id: int, now: datetime) -> Listing:
    """The village hands its entrustment to the exchange for review, with its resolution
    (facts and document) unless the category is exempt; a price below the appraisal, or far
    below the previous listing's when relisted, must say why."""
    listing = await _village_moves(session, actor, listing_id, Action.SUBMIT, now)
    previous = await session.get(Listing, listing.relist_of) if listing.relist_of else None
    settings = await load_settings(session)
    resolution.require_at_submission(
        listing.resolution,
        documents=await resolution_documents(session, listing.id),
        required=settings.resolution_required(listing.category),
    )
    # Checked again: the meeting must have been held by the day the entrustment goes out.
    _check_resolution(listing.resolution, listing.category, now)
    unexplained_price(
        listing.terms.listing_price_fen,
        appraisal_fen=listing.terms.appraisal_fen,
        previous_price_fen=previous.terms.listing_price_fen if previous else None,
        floor_percent=settings.relist_price_floor_percent,
        reason=listing.terms.price_reason,
    )
    if listing.terms.lease_start is not None:
        check_lease_start(listing.terms.lease_start, now=now, settings=settings)
    listing.return_reason = None
    await _record(session, listing, "listing.submitted", actor.name, now)
    return listing


async def withdraw(session: AsyncSession, actor: Actor, listing_id: int, now: datetime) -> Listing:
    """The village takes its entrustment back (before it is announced)."""
    listing = await _village_moves(session, actor, listing_id, Action.WITHDRAW, now)
    await _record(session, listing, "listing.withdrawn", actor.name, now)
    return listing


async def _village_moves(
    session: AsyncSession, actor: Actor, listing_id: int, action: Action, now: datetime
) -> Listing:
    """The village's own listing, locked, moved by `action` (listings.rules.transition)."""
    visible = await load(session, actor, listing_id, lock=True)
    _require_village_owner(actor, visible)
    listing = visible.listing
    listing.state = transition(ListingState(listing.state), action).value
    listing.updated_at = now
    return listing


async def review(
    session: AsyncSession, actor: Actor, listing_id: int, body: ReviewBody, now: datetime
) -> Listing:
    visible = await load(session, actor, listing_id, lock=True)
    _require_reviewer(actor, visible)
    listing = visible.listing
    if body.decision == "return" and not body.reason.strip():
        raise InvalidInput("review.reason_required", "退回时必须说明理由")
    action = Action.ACCEPT if body.decision == "accept" else Action.RETURN
    listing.state = transition(ListingState(listing.state), action).value
    if action is Action.ACCEPT and listing.terms.lease_start is not None:
        settings = await load_settings(session)
        check_lease_start(listing.terms.lease_start, now=now, settings=settings)
    listing.return_reason = body.reason if action is Action.RETURN else None
    listing.updated_at = now
    await _record(session, listing, f"listing.{listing.state}", actor.name, now, reason=body.reason)
    return listing


async def announce(
    session: AsyncSession,
    actor: Actor,
    listing_id: int,
    body: AnnounceBody,
    settings: ExchangeSettings,
    now: datetime,
) -> Listing:
    visible = await load(session, actor, listing_id, lock=True)
    _require_reviewer(actor, visible)
    listing = visible.listing
    new_state = transition(ListingState(listing.state), Action.ANNOUNCE)
    closes, starts = _aware(body.registration_closes_at), _aware(body.auction_starts_at)
    check_announcement(
        now=now,
        registration_closes_at=closes,
        auction_starts_at=starts,
        notice_working_days=settings.notice_period_working_days,
        calendar=settings.calendar(),
        day_ends=settings.business_day_ends,
        qualification_window=timedelta(minutes=settings.qualification_window_minutes),
    )
    if listing.terms.lease_start is not None:
        check_announced_lease_start(
            listing.terms.lease_start,
            auction_starts_at=starts,
            sign_deadline_working_days=settings.contract_sign_deadline_working_days,
            calendar=settings.calendar(),
            publicity_working_days=settings.result_publicity_working_days,
        )
    listing.state = new_state.value
    listing.announced_at = now
    listing.registration_closes_at = closes
    listing.auction_starts_at = starts
    listing.rules = announced_rules(listing.terms, settings)
    listing.updated_at = now
    await _record(
        session,
        listing,
        "listing.announced",
        actor.name,
        now,
        registration_closes_at=ledger.timestamp(closes),
        auction_starts_at=ledger.timestamp(starts),
        terms=msgspec.to_builtins(listing.terms),
        resolution=msgspec.to_builtins(listing.resolution),
        rules=msgspec.to_builtins(listing.rules),
    )
    return listing


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise InvalidInput(
            "time.timezone_required", "时间必须带时区，例如 2026-12-01T10:00:00+08:00"
        )
    return value


async def relist(session: AsyncSession, actor: Actor, listing_id: int, now: datetime) -> Listing:
    """A failed listing starts over as a new draft with the same asset and terms, to be changed."""
    visible = await load(session, actor, listing_id, lock=True)
    _require_village_owner(actor, visible)
    old = visible.listing
    if old.state != ListingState.FAILED:
        raise InvalidInput("listing.not_failed", "只有流拍或成交已撤销的项目才能重新挂牌")
    new = Listing(
        village_id=old.village_id,
        created_by=actor.id,
        title=old.title,
        category=old.category,
        location=old.location,
        area=old.area,
        area_unit=old.area_unit,
        description=old.description,
        terms=msgspec.structs.replace(old.terms),
        # The facts are carried over to be confirmed or replaced; documents are not.
        resolution=old.resolution,
        site_visit=old.site_visit,
        state=ListingState.DRAFT.value,
        relist_of=old.id,
        created_at=now,
        updated_at=now,
    )
    session.add(new)
    await session.flush()
    await _record(
        session,
        new,
        "listing.created",
        actor.name,
        now,
        relist_of=old.id,
        terms=msgspec.to_builtins(new.terms),
        resolution=msgspec.to_builtins(new.resolution),
        title=new.title,
        category=new.category,
    )
    await _record(session, old, "listing.relisted", actor.name, now, new_listing_id=new.id)
    return new


async def attachable(session: AsyncSession, actor: Actor, listing_id: int) -> Visible:
    """The listing, locked, if this actor may attach documents to it now."""
    visible = await load(session, actor, listing_id, lock=True)
    _require_village_owner(actor, visible)
    ensure_editable(ListingState(visible.listing.state))
    return visible


async def add_document(
    session: AsyncSession,
    actor: Actor,
    listing_id: int,
    *,
    kind: DocumentKind,
    file: CheckedFile,
    store: DocumentStore,
    now: datetime,
) -> Document:
    """Attach a checked file to an entrustment, only while it is editable by its village. The
    right is checked (the listing row locked) before the file touches the disk."""
    check_kind(kind, file)
    visible = await attachable(session, actor, listing_id)
    sha256, size = store.put(file.content), len(file.content)
    document = Document(
        listing_id=listing_id,
        kind=kind,
        filename=file.filename,
        content_type=file.content_type,
        size=size,
        sha256=sha256,
        uploaded_by=actor.id,
        uploaded_at=now,
    )
    session.add(document)
    await session.flush()
    await _record(
        session,
        visible.listing,
        "listing.document_added",
        actor.name,
        now,
        document_id=document.id,
        kind=kind,
        filename=file.filename,
        sha256=sha256,
        size=size,
    )
    return document
