"""The append-only transaction log: entries hash-chained per subject."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, BigId, Json, UTCDateTime


class LedgerEntry(Base):
    """One fact: a state change or a money movement. Never updated, never deleted.

    Entries of one subject (a listing, a user, the settings) form a hash chain in
    `subject_seq` order; the chain is extended under the subject's head row lock, so
    different subjects append in parallel. `leaf_index` places the entry in the global
    Merkle log once the sequencer has taken it in.
    """

    __tablename__ = "ledger_entries"
    __table_args__ = (UniqueConstraint("subject", "subject_seq"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    subject: Mapped[str] = mapped_column(String(64), index=True)
    subject_seq: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(Json)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    leaf_index: Mapped[int | None] = mapped_column(BigInteger, unique=True)


class LedgerHead(Base):
    """The tip of one subject's chain; its row lock is what serialises appends."""

    __tablename__ = "ledger_heads"

    subject: Mapped[str] = mapped_column(String(64), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))
