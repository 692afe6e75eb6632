"""围观人数: how many distinct people (accounts) and browsers opened a listing's announcement.

A viewer is stored once per listing under a keyed digest (`viewer_key`), so the table counts
without telling who looked at what. The pages ask to record a view at most once per browser,
listing and day (a cookie says which listings were counted today), so reading the
announcement costs no write most of the time, and the write is an insert that does nothing
when the viewer is already counted.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from listings.models import ListingViewer


def viewer_key(secret: str, who: str) -> str:
    """The stored key of a viewer (`user:<id>` or `browser:<token>`): a keyed digest."""
    return hmac.new(secret.encode(), who.encode(), hashlib.sha256).hexdigest()[:32]


async def record_view(session: AsyncSession, listing_id: int, key: str, now: datetime) -> bool:
    """Count the viewer for the listing unless counted before: whether they are new."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    result = await session.execute(
        dialect.insert(ListingViewer)
        .values(listing_id=listing_id, viewer=key, first_seen=now)
        .on_conflict_do_nothing()
    )
    return bool(getattr(result, "rowcount", 0))


async def viewer_count(session: AsyncSession, listing_id: int) -> int:
    """How many distinct viewers the listing has had (its primary key's prefix: an index scan)."""
    count = await session.scalar(
        select(func.count())
        .select_from(ListingViewer)
        .where(ListingViewer.listing_id == listing_id)
    )
    return int(count or 0)
