"""Appending many entries to one subject at once (jobs that record findings in bulk).

Same documents and hashes as `chain.append`, one head lock and one INSERT for the batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from core.ledger.chain import Chain


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
    chain = await Chain.open(session, subject)
    hashes = [
        chain.append(type=type_, actor=actor, payload=payload, at=at) for type_, payload in items
    ]
    await chain.flush()
    return hashes
