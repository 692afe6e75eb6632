"""What the contracts package does when the trade produces a deal (wired by the app)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from auction.models import Deal
from contracts import publicity


async def on_deal(session: AsyncSession, deal: Deal, now: datetime) -> None:
    """Called inside the transaction that records a deal (auction end or agreement).

    Publishes the result (成交公示); when the announced publicity is 0 working days the deal
    is confirmed at once and the lease drafted (data snapshot, rent payables,
    `deal.contract_id`, ledger entry) in the same transaction. Rendering the PDF is left to
    the first request that needs it: it is deterministic, so rendering later gives the same
    bytes, and the auction's closing transaction (the single SQLite writer) stays short.
    """
    await publicity.open_publicity(session, deal, now)
