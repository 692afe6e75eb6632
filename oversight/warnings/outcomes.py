"""Detectors about how listings ended: a deal at the listing price (zero premium), and a
failed listing relisting an earlier failed one."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from auction.models import Deal
from listings import Listing
from oversight.warnings.findings import Finding, chunks, cited, only


async def zero_premium(session: AsyncSession, ids: Sequence[int] | None) -> list[Finding]:
    found: list[Finding] = []
    for chunk in chunks(ids):
        rows = await session.execute(
            select(
                Deal.listing_id,
                Deal.kind,
                Deal.listing_fen,
                Deal.final_fen,
                Deal.rounds,
                Deal.winner_number,
            ).where(Deal.final_fen <= Deal.listing_fen, *only(Deal.listing_id, chunk))
        )
        found += await cited(
            session,
            "zero_premium",
            "deal.recorded",
            [
                (
                    listing_id,
                    {
                        "deal_kind": kind,
                        "listing_fen": listing_fen,
                        "final_fen": final_fen,
                        "rounds": rounds,
                        "winner_number": winner,
                    },
                )
                for listing_id, kind, listing_fen, final_fen, rounds, winner in rows
            ],
        )
    return found


async def failed_twice(session: AsyncSession, ids: Sequence[int] | None) -> list[Finding]:
    """A failed listing that relists an earlier failed one (流拍两次及以上)."""
    found: list[Finding] = []
    previous = Listing.__table__.alias("previous")
    for chunk in chunks(ids):
        rows = list(
            await session.execute(
                select(Listing.id, Listing.relist_of)
                .join(previous, previous.c.id == Listing.relist_of)
                .where(
                    Listing.state == "failed",
                    previous.c.state == "failed",
                    *only(Listing.id, chunk),
                )
            )
        )
        for listing_id, _ in rows:
            chain = await _relist_chain(session, listing_id)
            failures = [c for c in chain if c["state"] == "failed"]
            found.append(
                Finding(
                    "failed_twice",
                    f"listing:{listing_id}",
                    listing_id,
                    {"failures": len(failures), "chain": chain},
                )
            )
    return found


async def _relist_chain(session: AsyncSession, listing_id: int) -> list[dict[str, Any]]:
    chain: list[dict[str, Any]] = []
    current: int | None = listing_id
    while current is not None and len(chain) < 50:
        row = (
            await session.execute(
                select(
                    Listing.id,
                    Listing.state,
                    Listing.outcome,
                    Listing.relist_of,
                    Listing.announced_at,
                ).where(Listing.id == current)
            )
        ).first()
        if row is None:
            break
        chain.append(
            {
                "listing_id": row[0],
                "state": row[1],
                "outcome": row[2],
                "announced_at": row[4].isoformat() if row[4] else None,
            }
        )
        current = row[3]
    return chain
