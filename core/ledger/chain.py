"""Appending to and verifying the per-subject hash chains of the transaction log."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from core.db import table_of
from core.ledger.canonical import canonical_json
from core.ledger.models import LedgerEntry, LedgerHead

GENESIS = "0" * 64


def timestamp(at: datetime) -> str:
    """The one textual form of a time inside hashed entries (UTC, microseconds, 'Z')."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def entry_document(
    *,
    subject: str,
    seq: int,
    type: str,
    actor: str,
    payload: dict[str, Any],
    at: datetime,
    prev: str,
) -> dict[str, Any]:
    """The object whose canonical bytes are hashed and exported to regulators."""
    return {
        "subject": subject,
        "seq": seq,
        "type": type,
        "actor": actor,
        "payload": payload,
        "at": timestamp(at),
        "prev": prev,
    }


def entry_hash(document: dict[str, Any]) -> str:
    return canonical_hash(canonical_json(document))


def canonical_hash(canonical: bytes) -> str:
    """An entry's hash from its canonical bytes (for callers that need the bytes too)."""
    return hashlib.sha256(canonical).hexdigest()


def document_of(entry: LedgerEntry) -> dict[str, Any]:
    return entry_document(
        subject=entry.subject,
        seq=entry.subject_seq,
        type=entry.type,
        actor=entry.actor,
        payload=entry.payload,
        at=entry.at,
        prev=entry.prev_hash,
    )


async def append(
    session: AsyncSession,
    *,
    subject: str,
    type: str,
    actor: str,
    payload: dict[str, Any],
    at: datetime,
) -> str:
    """Append one entry in the caller's transaction; it commits or rolls back with the change.

    Returns the entry's hash.
    """
    chain = await Chain.open(session, subject)
    digest = chain.append(type=type, actor=actor, payload=payload, at=at)
    await chain.flush()
    return digest


class Entries:
    """One subject's next entries, hashed on append from a known head, waiting to be written.

    Pure: no session, no lock. `Chain` keeps one under the head's row lock; the bid book's
    PostgreSQL path keeps one under the lock it took itself and writes `pending` its own way.
    """

    def __init__(self, subject: str, seq: int, hash: str) -> None:
        self.subject, self.seq, self.hash = subject, seq, hash
        self.pending: list[dict[str, Any]] = []

    def append(self, *, type: str, actor: str, payload: dict[str, Any], at: datetime) -> str:
        """Hash the next entry (rejecting floats in the payload) and queue it; returns the hash."""
        seq, prev = self.seq + 1, self.hash
        document = entry_document(
            subject=self.subject, seq=seq, type=type, actor=actor, payload=payload, at=at, prev=prev
        )
        digest = entry_hash(document)
        self.pending.append(
            {
                "subject": self.subject,
                "subject_seq": seq,
                "type": type,
                "actor": actor,
                "payload": payload,
                "at": at,
                "prev_hash": prev,
                "hash": digest,
            }
        )
        self.seq, self.hash = seq, digest
        return digest

    def take(self) -> list[dict[str, Any]]:
        """The pending rows, which are no longer pending."""
        rows, self.pending = self.pending, []
        return rows


class Chain(Entries):
    """One subject's chain, its head locked for the caller's transaction: many appends, one lock.

    Entries are hashed as they are appended and written together by `flush` (one INSERT for
    all of them; the bid book appends a whole batch of bids this way). A transaction has one
    `Chain` per subject: `open` hands the same one to every caller in the session, so
    appends from different modules in one transaction stay in order on one head. Whatever
    is still pending is written before the transaction commits.
    """

    def __init__(self, session: AsyncSession, head: LedgerHead) -> None:
        super().__init__(head.subject, head.seq, head.hash)
        self.session, self.head = session, head

    @classmethod
    async def open(cls, session: AsyncSession, subject: str) -> Chain:
        chains: dict[str, Chain] = session.info.setdefault(_CHAINS, {})
        chain = chains.get(subject)
        if chain is None:
            chain = chains[subject] = cls(session, await _lock_head(session, subject))
        return chain

    def append(self, *, type: str, actor: str, payload: dict[str, Any], at: datetime) -> str:
        digest = super().append(type=type, actor=actor, payload=payload, at=at)
        self.head.seq, self.head.hash = self.seq, self.hash  # the head row follows the chain
        return digest

    async def flush(self) -> None:
        """Write the pending entries, in chain order (ids ascend with `subject_seq`)."""
        if self.pending:
            await self.session.execute(insert(table_of(LedgerEntry)), self.take())


_CHAINS = "ruralx.ledger.chains"


@event.listens_for(Session, "before_commit")
def _write_pending(session: Session) -> None:
    for chain in session.info.get(_CHAINS, {}).values():
        if chain.pending:
            session.execute(insert(table_of(LedgerEntry)), chain.take())


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _forget_chains(session: Session) -> None:
    # The head locks end with the transaction; the next one must lock and read them afresh.
    session.info.pop(_CHAINS, None)


async def _lock_head(session: AsyncSession, subject: str) -> LedgerHead:
    query = (
        select(LedgerHead)
        .where(LedgerHead.subject == subject)
        .with_for_update()
        .execution_options(populate_existing=True)  # a head loaded earlier may be stale
    )
    head = await session.scalar(query)
    if head is not None:
        return head
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    await session.execute(
        insert(LedgerHead).values(subject=subject, seq=0, hash=GENESIS).on_conflict_do_nothing()
    )
    head = await session.scalar(query)
    assert head is not None
    return head


def verify_chain(entries: Sequence[LedgerEntry]) -> LedgerEntry | None:
    """Recompute one subject's chain in order; return the first entry that does not fit."""
    prev = GENESIS
    for expected_seq, entry in enumerate(entries, start=1):
        if entry.subject_seq != expected_seq or entry.prev_hash != prev:
            return entry
        if entry_hash(document_of(entry)) != entry.hash:
            return entry
        prev = entry.hash
    return None


async def entries_of(session: AsyncSession, subject: str) -> list[LedgerEntry]:
    rows = await session.scalars(
        select(LedgerEntry).where(LedgerEntry.subject == subject).order_by(LedgerEntry.subject_seq)
    )
    return list(rows)


async def verify_subject(session: AsyncSession, subject: str) -> LedgerEntry | None:
    return verify_chain(await entries_of(session, subject))
