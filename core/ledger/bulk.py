"""Appending many entries to one subject at once (jobs that record findings in bulk).

Same documents and hashes as `chain.append`, one head lock and one INSERT for the batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from core.ledger.chain import _lock_head, entry_document, entry_hash
from core.ledger.models import LedgerEntry


async def append_many(
    session: AsyncSession,
    *,
    subject: str,
    items: Sequence[tuple[str, dict[str, Any]]],
    actor: str,
    at: datetime,
) -> list[str]:
    """Append (type, payload) items to `subject`'s chain in order; returns their hashes."""
    if not items:
        return []
    head = await _lock_head(session, subject)
    seq, prev = head.seq, head.hash
    rows, hashes = [], []
    for type_, payload in items:
        seq += 1
        document = entry_document(
            subject=subject, seq=seq, type=type_, actor=actor, payload=payload, at=at, prev=prev
        )
        digest = entry_hash(document)
        rows.append(
            {
                "subject": subject,
                "subject_seq": seq,
                "type": type_,
                "actor": actor,
                "payload": payload,
                "at": at,
                "prev_hash": prev,
                "hash": digest,
            }
        )
        hashes.append(digest)
        prev = digest
    await session.execute(insert(LedgerEntry), rows)
    head.seq, head.hash = seq, prev
    await session.flush()
    return hashes
