"""Tables of the contract, its signatures, the signing certificates and the rent payables."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, BigId, Json, UTCDateTime


class ContractState:
    DRAFTED = "drafted"
    SIGNED_BY_VILLAGE = "signed_by_village"
    SIGNED = "signed"
    CERTIFIED = "certified"
    VOIDED = "voided"  # the deal was voided (default); kept on record, no longer current


class Contract(Base):
    """The lease contract of one deal; `data` is the snapshot its documents are rendered from.

    drafted → signed_by_village → signed → certified. The unsigned PDF is not stored: it is
    rendered from `data` on demand (same bytes every time); each signed version is stored
    under the data directory by its SHA-256 (`pdf_sha256` is the current one).
    """

    __tablename__ = "contracts"
    # A voided contract stays on record; one contract per listing is current.
    __table_args__ = (
        Index(
            "uq_contracts_current",
            "listing_id",
            unique=True,
            postgresql_where=text("state <> 'voided'"),
            sqlite_where=text("state <> 'voided'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listings.id"), index=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    state: Mapped[str] = mapped_column(String(24), index=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("regions.id"), index=True)
    winner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("registrations.id"))
    data: Mapped[dict[str, Any]] = mapped_column(Json)
    template_version: Mapped[str] = mapped_column(String(16))
    lease_start: Mapped[date] = mapped_column(Date)
    #: End of the last day to sign (Beijing), from the exchange setting in force at the deal.
    sign_deadline: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    #: Render time fixed for the documents (the deal's time): deterministic PDFs.
    render_at: Mapped[datetime] = mapped_column(UTCDateTime)
    pdf_sha256: Mapped[str | None] = mapped_column(String(64))
    certificate_number: Mapped[str | None] = mapped_column(String(32))
    certificate_sha256: Mapped[str | None] = mapped_column(String(64))
    drafted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    certified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Signature(Base):
    """One signature applied to a contract (or its certificate), with the exact PDF signed."""

    __tablename__ = "contract_signatures"
    __table_args__ = (UniqueConstraint("contract_id", "role"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id"), index=True)
    #: village | winner | platform (the certificate)
    role: Mapped[str] = mapped_column(String(16))
    signer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    certificate_id: Mapped[int | None] = mapped_column(ForeignKey("signing_certificates.id"))
    field_name: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(512))
    certificate_sha256: Mapped[str] = mapped_column(String(64))
    #: SHA-256 of the exact PDF the signer was shown and signed, and of the result.
    input_sha256: Mapped[str] = mapped_column(String(64))
    output_sha256: Mapped[str] = mapped_column(String(64))
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(256))


class SigningCertificate(Base):
    """A certificate the platform CA issued to a person; the CRL is built from `revoked_at`."""

    __tablename__ = "signing_certificates"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    serial: Mapped[str] = mapped_column(String(48), unique=True)
    subject: Mapped[str] = mapped_column(String(512))
    sha256: Mapped[str] = mapped_column(String(64))
    pem: Mapped[str] = mapped_column(Text)
    #: The encrypted private key, relative to RURALX_DATA_DIR/ca.
    key_path: Mapped[str] = mapped_column(String(256))
    not_before: Mapped[datetime] = mapped_column(UTCDateTime)
    not_after: Mapped[datetime] = mapped_column(UTCDateTime)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revocation_reason: Mapped[str | None] = mapped_column(String(32))


class RentItem(Base):
    """One rent payment of a lease (应付租金), with the part the deposit paid."""

    __tablename__ = "rent_items"
    __table_args__ = (
        UniqueConstraint("contract_id", "number"),
        # Rent is paid in advance: an item is due by the first day it pays for (the schedule
        # makes them equal), so the items covering a day have fallen due by then.
        CheckConstraint("due_date <= period_start", name="paid_in_advance"),
        # The board and the dashboard read the items fallen due from this index alone
        # (index-only on PostgreSQL); on SQLite a plain index on the due date.
        Index(
            "ix_rent_items_due_date",
            "due_date",
            postgresql_include=[
                "contract_id",
                "listing_id",
                "state",
                "amount_fen",
                "credited_fen",
                "paid_fen",
                "period_start",
                "period_end",
            ],
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id"), index=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listings.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    due_date: Mapped[date] = mapped_column(Date)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    #: Planned at drafting; applied (ledger entry) when the contract is signed.
    credited_fen: Mapped[int] = mapped_column(BigInteger)
    #: pending (contract not signed yet) → open → paid | waived; settled (fully covered by
    #: the deposit); void (the contract was voided). Whether an open item is due, partly paid
    #: or overdue depends on the day: contracts.receivables.status.
    state: Mapped[str] = mapped_column(String(16))
    #: Received so far beyond the deposit credit: the sum of the item's `rent_payments`.
    paid_fen: Mapped[int] = mapped_column(BigInteger, server_default="0", default=0)
    #: The reference a lessee writes on a bank transfer for this item (like a deposit's).
    reference: Mapped[str | None] = mapped_column(String(24), unique=True)
    waived_reason: Mapped[str | None] = mapped_column(Text)


class RentPayment(Base):
    """Money received for one rent item: by the bank's callback (idempotent on `bank_txn_id`)
    or recorded by village or exchange staff with a receipt number (and its document)."""

    __tablename__ = "rent_payments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    rent_item_id: Mapped[int] = mapped_column(ForeignKey("rent_items.id"), index=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listings.id"), index=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    #: bank | staff
    channel: Mapped[str] = mapped_column(String(8))
    bank_txn_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    receipt_number: Mapped[str | None] = mapped_column(String(64))
    #: SHA-256 of the receipt's scan in the document store, when staff attached one.
    receipt_sha256: Mapped[str | None] = mapped_column(String(64))
    paid_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ObjectionState:
    FILED = "filed"
    UPHELD = "upheld"
    DISMISSED = "dismissed"
    #: Filed against a deal that was voided on other grounds before a decision: not decided.
    CLOSED = "closed"


class Objection(Base):
    """异议: a registered bidder's objection to a deal during its result publicity, with the
    reviewer's decision. Its evidence (POST /objections/{id}/documents) is kept as the
    objector's registration documents of kind `objection_evidence`."""

    __tablename__ = "objections"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listings.id"), index=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("registrations.id"))
    reasons: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(12))
    filed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decision_reason: Mapped[str | None] = mapped_column(Text)
