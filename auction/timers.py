"""Timed transitions (start, free → countdown, countdown expiry → end), run by every worker.

The state lives in the database, so a restarted worker finds what is due; each transition
happens once because `BidBook.advance` holds the auction row and the pure engine emits
nothing when the state is already advanced.
"""

from __future__ import annotations

import logging

from auction import queries
from auction.book import BidBook
from auction.frames import kind
from core.clock import Clock
from core.db import Database

log = logging.getLogger("ruralx.timers")


async def advance_due(db: Database, bids: BidBook, clock: Clock) -> int:
    """Advance every auction whose deadline has passed; returns how many moved."""
    async with db.read() as session:
        due = await queries.due(session, clock.now())
    moved = 0
    for listing_id in due:
        try:
            outcome = await bids.advance(listing_id)
        except Exception:
            log.exception("auction %s: advancing failed; retrying next tick", listing_id)
            continue
        if outcome.frames:
            moved += 1
            log.info("auction %s: %s", listing_id, [kind(f) for f in outcome.frames])
    return moved
