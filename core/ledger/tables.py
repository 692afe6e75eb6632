"""Tables of the global Merkle log: its head, its stored subtree roots and signed checkpoints."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, LargeBinary, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, BigId, Json, UTCDateTime
from core.ledger.models import LedgerEntry


class LedgerTree(Base):
    """The one row (id 1) holding the log's size and compact range; its row lock is the
    sequencer's: whoever holds it is the only one assigning leaf indices."""

    __tablename__ = "ledger_tree"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    #: Hex roots of the perfect subtrees covering [0, size), largest first (CompactRange).
    frontier: Mapped[list[str]] = mapped_column(Json)
    root: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LedgerNode(Base):
    """Root of the perfect subtree over leaves [idx·2^level, (idx+1)·2^level); level 0 = leaf."""

    __tablename__ = "ledger_nodes"

    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class LedgerCheckpoint(Base):
    """A signed tree head (C2SP checkpoint note) the exchange published."""

    __tablename__ = "ledger_checkpoints"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger, unique=True)
    root: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(Text)
    #: The verifier key (name+id+key) the note was signed with.
    key: Mapped[str] = mapped_column(String(200))
    #: Why it was signed: interval | auction_end | on_demand | first
    reason: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


#: The sequencer's work queue: only entries not yet in the log are in this (partial) index.
UNSEQUENCED = Index(
    "ix_ledger_entries_unsequenced",
    LedgerEntry.id,
    postgresql_where=LedgerEntry.leaf_index.is_(None),
    sqlite_where=LedgerEntry.leaf_index.is_(None),
)
