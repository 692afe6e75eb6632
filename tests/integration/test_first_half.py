"""Reference-case steps 1–3 in-process on both databases: entrust → … → qualified → auction."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.scheduler import close_due_registrations
from core import ledger
from core.ledger import LedgerEntry
from tests.integration.conftest import Exchange
from tests.support import entrust_review_announce, sign_up_and_qualify


async def test_reference_case_first_half_reaches_the_auction(exchange: Exchange) -> None:
    anon, now = exchange.http, exchange.clock.now()
    listing_id, _, reviewer = await entrust_review_announce(
        anon, now, closes_in=timedelta(days=10), starts_in=timedelta(days=11)
    )
    _, registrations = await sign_up_and_qualify(anon, reviewer, listing_id)
    numbers = {r["bidder_number"] for r in registrations}
    assert len(numbers) == 2

    # Nothing closes before its time.
    await close_due_registrations(exchange.services)
    assert (await anon.ok("GET", f"/api/v1/listings/{listing_id}"))["state"] == "announced"

    exchange.clock.advance(timedelta(days=10, seconds=1))
    await close_due_registrations(exchange.services)
    await close_due_registrations(exchange.services)  # a second worker finds nothing to do
    listing = await anon.ok("GET", f"/api/v1/listings/{listing_id}")
    assert listing["state"] == "auction"

    async with exchange.services.db.read() as session:
        assert await ledger.verify_subject(session, f"listing:{listing_id}") is None
        types = list(
            await session.scalars(
                select(LedgerEntry.type)
                .where(LedgerEntry.subject == f"listing:{listing_id}")
                .order_by(LedgerEntry.subject_seq)
            )
        )
    assert types[:5] == [
        "listing.created",
        "listing.document_added",
        "listing.submitted",
        "listing.accepted",
        "listing.announced",
    ]
    assert types.count("deposit.paid") == 2
    assert types.count("registration.qualified") == 2
    assert types.count("registration.closed") == 1
