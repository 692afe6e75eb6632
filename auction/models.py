"""Tables of the live auction: its state row, its event history, every bid, and the deal."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from auction import engine
from core.db import Base, BigId, Json, StructJson, UTCDateTime


class Auction(Base):
    """One auction per listing. The row is the lock: every change holds it (one writer)."""

    __tablename__ = "auctions"

    listing_id: Mapped[int] = mapped_column(ForeignKey("listings.id"), primary_key=True)
    #: The engine's rules, fixed when the auction is opened.
    rules: Mapped[engine.Rules] = mapped_column(StructJson(engine.Rules))
    #: The recorded priority draw: seed and resulting order (bidder numbers).
    draw: Mapped[dict[str, Any]] = mapped_column(Json)
    status: Mapped[str] = mapped_column(String(16))
    seq: Mapped[int] = mapped_column(Integer)
    round: Mapped[int] = mapped_column(Integer)
    current_fen: Mapped[int] = mapped_column(BigInteger)
    leader: Mapped[str | None] = mapped_column(String(8))
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    price_seq: Mapped[int] = mapped_column(Integer)
    paused_status: Mapped[str | None] = mapped_column(String(16))
    paused_remaining_ms: Mapped[int | None] = mapped_column(BigInteger)
    #: When the timers must next look at this auction (None: paused or ended).
    next_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    result: Mapped[str | None] = mapped_column(String(8))
    final_fen: Mapped[int | None] = mapped_column(BigInteger)
    winner_number: Mapped[str | None] = mapped_column(String(8))


class AuctionEvent(Base):
    """Every room event as sent on the wire, by `seq`: the source of replay after a reconnect."""

    __tablename__ = "auction_events"

    listing_id: Mapped[int] = mapped_column(ForeignKey("auctions.listing_id"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    type: Mapped[str] = mapped_column(String(16))
    payload: Mapped[dict[str, Any]] = mapped_column(Json)
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class Bid(Base):
    """Every bid with its outcome; (listing, bidder, ref) answers a retry as the first time."""

    __tablename__ = "bids"
    __table_args__ = (UniqueConstraint("listing_id", "bidder_id", "ref"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("auctions.listing_id"), index=True)
    bidder_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    bidder_number: Mapped[str | None] = mapped_column(String(8))
    ref: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(8))  # bid | match
    amount_fen: Mapped[int | None] = mapped_column(BigInteger)
    based_on_seq: Mapped[int | None] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(8))  # accepted | rejected
    code: Mapped[str | None] = mapped_column(String(24))
    seq: Mapped[int | None] = mapped_column(Integer)
    round: Mapped[int | None] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    channel: Mapped[str] = mapped_column(String(8))  # http | ws
    ip: Mapped[str | None] = mapped_column(String(64))
    device: Mapped[str | None] = mapped_column(String(256))


#: How a deal was made: by auction, by agreement with a single bidder, or taken over by the
#: runner-up after the first was voided (contracts.voiding).
DEAL_KINDS = ("auction", "agreement", "runner_up")


class Deal(Base):
    """成交: the winner and price of a listing, by auction or by agreement with a single bidder.

    Facts only; the economics (premium, income over the term) are derived by `contracts`.
    """

    __tablename__ = "deals"

    listing_id: Mapped[int] = mapped_column(ForeignKey("listings.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(12))  # DEAL_KINDS
    registration_id: Mapped[int] = mapped_column(ForeignKey("registrations.id"))
    winner_number: Mapped[str] = mapped_column(String(8))
    listing_fen: Mapped[int] = mapped_column(BigInteger)
    final_fen: Mapped[int] = mapped_column(BigInteger)
    rounds: Mapped[int] = mapped_column(Integer)
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime)
    contract_id: Mapped[int | None] = mapped_column(BigInteger)
    #: publicity → confirmed; voided (objection upheld, default) or offered to the runner-up
    #: (who accepts: publicity again, or declines: voided). docs/domain.md §6. The publicity's
    #: end is the listing's (`Listing.publicity_ends_at`), which bidders' answers show.
    state: Mapped[str] = mapped_column(String(12), index=True, server_default="confirmed")
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: objection_upheld | default | offer_declined
    void_reason: Mapped[str | None] = mapped_column(String(24))
    #: While offered to the runner-up: the last moment to accept.
    offer_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The registration whose deposit is kept as the backup (候补) while the deal stands.
    runner_up_id: Mapped[int | None] = mapped_column(BigId)
