"""What the contracts package does when the trade produces a deal (wired by the app)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from auction.models import Deal


async def on_deal(session: AsyncSession, deal: Deal, now: datetime) -> None:
    """Called inside the transaction that records a deal (auction end or agreement)."""
