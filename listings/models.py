"""Tables of entrustments/listings, their documents, registrations and bank payments."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, BigId, Json, StructJson, UTCDateTime
from listings.schemas import AnnouncedRules, Resolution, SiteVisit, Terms


class Listing(Base):
    """An entrustment (委托) that becomes a listing (挂牌项目) once announced."""

    __tablename__ = "listings"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("regions.id"), index=True)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    title: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(40), index=True)
    location: Mapped[str] = mapped_column(String(200))
    area: Mapped[str | None] = mapped_column(String(32))
    area_unit: Mapped[str | None] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(Text, default="")
    #: The terms as validated on the wire; frozen once announced.
    terms: Mapped[Terms] = mapped_column(StructJson(Terms))
    #: The village's resolution (四议两公开), as entered with the entrustment; None if none.
    resolution: Mapped[Resolution | None] = mapped_column(StructJson(Resolution))
    #: Whom bidders call to see the asset (看样、踏勘); None if the village named nobody.
    site_visit: Mapped[SiteVisit | None] = mapped_column(StructJson(SiteVisit))
    #: The auction rules the announcement fixed; None before.
    rules: Mapped[AnnouncedRules | None] = mapped_column(StructJson(AnnouncedRules))
    state: Mapped[str] = mapped_column(String(16), index=True)
    return_reason: Mapped[str | None] = mapped_column(Text)
    announced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    registration_closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    auction_starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    registration_extended: Mapped[bool] = mapped_column(Boolean, default=False)
    #: How the listing ended: auction, agreement (single bidder), no_bidders, …
    outcome: Mapped[str | None] = mapped_column(String(24))
    #: The end of its deal's result publicity (成交公示): objections may be filed until then.
    publicity_ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    relist_of: Mapped[int | None] = mapped_column(ForeignKey("listings.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class StoredFile:
    """The columns of a file kept by content hash under the data directory
    (`listings.documents.DocumentStore`): a listing's documents, a registration's proofs."""

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Document(StoredFile, Base):
    """An attachment of an entrustment, stored by content hash under the data directory."""

    __tablename__ = "listing_documents"

    listing_id: Mapped[int] = mapped_column(ForeignKey("listings.id"), index=True)
    uploaded_by: Mapped[int] = mapped_column(ForeignKey("users.id"))


class ListingViewer(Base):
    """One person or browser that opened a listing's announcement (围观), counted once: the
    key is a keyed digest of the account or of the browser (`listings.viewers`), never the
    account id, so the table does not say who looked at what."""

    __tablename__ = "listing_viewers"

    listing_id: Mapped[int] = mapped_column(ForeignKey("listings.id"), primary_key=True)
    viewer: Mapped[str] = mapped_column(String(32), primary_key=True)
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime)


class Registration(Base):
    """A bidder's application for one listing, with its deposit."""

    __tablename__ = "registrations"
    __table_args__ = (
        UniqueConstraint("listing_id", "bidder_id"),
        UniqueConstraint("listing_id", "bidder_number"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listings.id"), index=True)
    bidder_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    #: pending_deposit → deposit_paid → qualified | rejected
    state: Mapped[str] = mapped_column(String(20))
    deposit_fen: Mapped[int] = mapped_column(BigInteger)
    #: pending → paid → held → refundable → refunded | credited_to_rent | forfeited
    deposit_state: Mapped[str] = mapped_column(String(20))
    payment_reference: Mapped[str] = mapped_column(String(24), unique=True)
    #: Anonymous number for this listing only; identities stay hidden during the auction.
    bidder_number: Mapped[str | None] = mapped_column(String(8))
    #: A confirmed priority right (优先权): what the auction's priority draw uses.
    priority_holder: Mapped[bool] = mapped_column(Boolean, default=False)
    #: The bidder's claim of a priority right: None (no claim) → claimed → confirmed | refused,
    #: or lapsed when registration closed before a reviewer decided (docs/security.md §4).
    priority_claim: Mapped[str | None] = mapped_column(String(12))
    reason: Mapped[str | None] = mapped_column(Text)
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: When a refundable deposit must be back with the bidder (refund_deadline_working_days).
    refund_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RegistrationDocument(StoredFile, Base):
    """A bidder's document for one registration (the proof of a priority right), stored like a
    listing's documents by content hash."""

    __tablename__ = "registration_documents"

    registration_id: Mapped[int] = mapped_column(ForeignKey("registrations.id"), index=True)


class Payment(Base):
    """A deposit payment reported by the bank (or entered by staff), kept whatever its outcome.

    The stored answer makes a replayed callback answer exactly as the first time.
    """

    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    bank_txn_id: Mapped[str] = mapped_column(String(64), unique=True)
    reference: Mapped[str] = mapped_column(String(64))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    paid_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    registration_id: Mapped[int | None] = mapped_column(ForeignKey("registrations.id"))
    #: accepted | rejected
    outcome: Mapped[str] = mapped_column(String(16))
    code: Mapped[str | None] = mapped_column(String(48))
    source: Mapped[str] = mapped_column(String(16))  # bank | staff
    payer_account: Mapped[str | None] = mapped_column(String(40), index=True)
    response_status: Mapped[int] = mapped_column(Integer)
    response: Mapped[dict[str, Any]] = mapped_column(Json)
