"""The `listing_facts` rows: one narrow row per listing on the market, computed from the
listing, its deal and its contract, and upserted in bulk (by the job that follows the log and
by the demo generator) together with their rollups."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any, Final

from sqlalchemy import String, delete, func, literal, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from auction.models import Deal
from contracts.models import Contract
from core.accounts import Region, User
from core.clock import local_date
from core.db import table_of
from listings import Listing, Registration
from listings.economics import lease_end
from listings.schemas import Terms
from oversight import facts
from oversight.models import ListingFact, listing_day_rollups, listing_rollups
from oversight.stats import rollups

MARKET_STATES: Final = {"announced": "open", "auction": "open", "sold": "sold", "failed": "failed"}
_UPSERT_CHUNK: Final = 5000


def fact_row(
    listing: Listing,
    village: Region,
    ancestors: dict[str, int | None],
    deal: Deal | None,
    buyer_id_type: str | None,
    now: datetime,
) -> dict[str, Any]:
    """The stored facts of one listing that reached the market."""
    assert listing.announced_at is not None
    return fact_values(
        listing_id=listing.id,
        state=listing.state,
        category=listing.category,
        terms=listing.terms,
        announced_at=listing.announced_at,
        village_id=village.id,
        village_path=village.path,
        ancestors=ancestors,
        deal=(deal.listing_fen, deal.final_fen, deal.decided_at) if deal is not None else None,
        buyer_id_type=buyer_id_type,
        now=now,
    )


def fact_values(
    *,
    listing_id: int,
    state: str,
    category: str,
    terms: Terms,
    announced_at: datetime,
    village_id: int,
    village_path: str,
    ancestors: dict[str, int | None],
    deal: tuple[int, int, datetime] | None,
    buyer_id_type: str | None,
    now: datetime,
) -> dict[str, Any]:
    """The same from plain values (the demo generator computes them without ORM objects)."""
    market = MARKET_STATES[state]
    sold = market == "sold" and deal is not None
    listing_fen = deal[0] if deal is not None else terms.listing_price_fen
    final_fen = deal[1] if sold and deal is not None else None
    money = facts.economics(terms, listing_fen, final_fen)
    announced = local_date(announced_at)
    decided = local_date(deal[2]) if sold and deal is not None else None
    years = terms.term_years
    return {
        "listing_id": listing_id,
        "village_id": village_id,
        "town_id": ancestors.get("town"),
        "county_id": ancestors.get("county"),
        "village_path": village_path,
        "category": category,
        "announced_on": announced,
        "month": announced.year * 100 + announced.month,
        "state": market,
        "is_sold": int(sold),
        "is_failed": int(market == "failed"),
        "buyer_type": facts.buyer_type(buyer_id_type) if sold else None,
        "term_years": years,
        "listing_total_fen": money.listing_total_fen,
        "listing_fen": listing_fen,
        "final_fen": final_fen,
        "deal_total_fen": money.deal_total_fen,
        "premium_per_year_fen": money.premium_per_year_fen,
        "premium_over_term_fen": money.premium_over_term_fen,
        "contract_value_fen": money.contract_value_fen,
        "premium_bucket": facts.premium_bucket(listing_fen, final_fen)
        if final_fen is not None
        else None,
        "premium_key": facts.premium_key(listing_fen, final_fen) if final_fen is not None else None,
        "decided_on": decided,
        "lease_ends_on": lease_end(decided, years, terms.term_months) if decided else None,
        "updated_at": now,
    }


class RegionIndex:
    """Region ids by path, loaded as needed (one job run or one demo generation)."""

    def __init__(self) -> None:
        self.by_path: dict[str, int] = {}

    async def ancestors(self, session: AsyncSession, village: Region) -> dict[str, int | None]:
        parts = village.path.split("/")
        wanted = {
            "county": "/".join(parts[:3]) if len(parts) >= 4 else None,
            "town": "/".join(parts[:4]) if len(parts) >= 5 else None,
        }
        missing = [p for p in wanted.values() if p and p not in self.by_path]
        if missing:
            rows = await session.execute(
                select(Region.path, Region.id).where(Region.path.in_(missing))
            )
            self.by_path.update({path: rid for path, rid in rows})
        return {level: self.by_path.get(path) if path else None for level, path in wanted.items()}


async def refresh_facts(
    session: AsyncSession,
    listing_ids: Iterable[int],
    now: datetime,
    regions: RegionIndex | None = None,
) -> int:
    """Recompute the facts of these listings (removing those not on the market)."""
    ids = sorted(set(listing_ids))
    if not ids:
        return 0
    regions = regions or RegionIndex()
    listings = list(await session.scalars(select(Listing).where(Listing.id.in_(ids))))
    deals = {
        d.listing_id: d for d in await session.scalars(select(Deal).where(Deal.listing_id.in_(ids)))
    }
    id_types: dict[int, str | None] = {}
    if deals:
        rows = await session.execute(
            select(Registration.id, User.id_type)
            .join(User, User.id == Registration.bidder_id)
            .where(Registration.id.in_([d.registration_id for d in deals.values()]))
        )
        id_types = {rid: id_type for rid, id_type in rows}
    villages = {
        r.id: r
        for r in await session.scalars(
            select(Region).where(Region.id.in_({li.village_id for li in listings}))
        )
    }
    starts = await _lease_starts(session, list(deals))
    out, gone = [], []
    for listing in listings:
        if listing.state not in MARKET_STATES or listing.announced_at is None:
            gone.append(listing.id)
            continue
        village = villages[listing.village_id]
        deal = deals.get(listing.id)
        row = fact_row(
            listing,
            village,
            await regions.ancestors(session, village),
            deal,
            id_types.get(deal.registration_id) if deal else None,
            now,
        )
        if row["is_sold"] and listing.id in starts:
            terms = listing.terms
            row["lease_ends_on"] = lease_end(
                starts[listing.id], terms.term_years, terms.term_months
            )
        out.append(row)
    await store_facts(session, out, gone)
    return len(out)


async def store_facts(
    session: AsyncSession, rows: Sequence[dict[str, Any]], gone: Sequence[int] = ()
) -> None:
    """Replace the facts of these listings (and remove those of `gone`), moving the rollups
    by the difference in the same transaction."""
    await rollups.lock(session)
    ids = [row["listing_id"] for row in rows] + list(gone)
    if not ids:
        return
    columns = [table_of(ListingFact).c[name] for name in rollups.FACT_COLUMNS]
    stored = await session.execute(select(*columns).where(ListingFact.listing_id.in_(ids)))
    before = [dict(row) for row in stored.mappings()]
    if gone:
        await session.execute(delete(ListingFact).where(ListingFact.listing_id.in_(gone)))
    await upsert_facts(session, rows)
    await rollups.apply(session, before, rows)


async def _lease_starts(session: AsyncSession, listing_ids: list[int]) -> dict[int, date]:
    """The contracts' lease start dates."""
    if not listing_ids:
        return {}
    rows: Any = await session.execute(
        select(Contract.listing_id, Contract.lease_start).where(
            Contract.listing_id.in_(listing_ids)
        )
    )
    return {listing_id: start for listing_id, start in rows if start is not None}


async def upsert_facts(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Insert or replace facts (one executemany; the statement is compiled once); the
    rollups are the caller's (`store_facts`, or `rollups.apply` after a bulk load)."""
    if not rows:
        return
    ins = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = ins(table_of(ListingFact))
    excluded = stmt.excluded  # built anew on every access: once, not once per column
    stmt = stmt.on_conflict_do_update(
        index_elements=["listing_id"],
        set_={k: excluded[k] for k in rows[0] if k != "listing_id"},
    )
    connection = await session.connection()
    for start in range(0, len(rows), _UPSERT_CHUNK):
        await connection.execute(stmt, list(rows[start : start + _UPSERT_CHUNK]))


async def follow_region_rename(session: AsyncSession, old: str, new: str) -> None:
    """A region was renamed (`core.accounts.rename_region`): the village paths the facts copy
    follow it, and so do the paths of the rollups' cells (month and day), for the statistics
    filter on them by prefix."""
    await rollups.lock(session)
    for table, column in (
        (table_of(ListingFact), "village_path"),
        (listing_rollups, "region_path"),
        (listing_day_rollups, "region_path"),
    ):
        path = table.c[column]
        await session.execute(
            update(table)
            .where(or_(path == old, path.startswith(old + "/", autoescape=True)))
            .values({column: literal(new, String) + func.substr(path, len(old) + 1)})
        )
