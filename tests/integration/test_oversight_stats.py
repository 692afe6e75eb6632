"""Statistics over a generated county equal a brute-force recomputation, to the fen; the job's
facts and rollups equal the generator's; warnings are found on it (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from fractions import Fraction
from typing import Any

import pytest
from sqlalchemy import select

from auction.models import Deal
from contracts.deals import income_of
from core.accounts import Region, User
from core.clock import local_date
from core.db import Database
from core.money import format_percent
from core.settings import ExchangeSettings
from listings import Listing, Registration, economics
from oversight.demo.generator import populate
from oversight.models import ListingFact, WarningRow, listing_day_rollups, listing_rollups
from oversight.stats import compute, listing_facts
from oversight.stats.query import StatsQuery
from oversight.warnings import scan as warnings

NOW = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)


@pytest.fixture
async def county(database_url: str) -> AsyncIterator[Database]:
    db = Database(database_url)
    try:
        await populate(db, 300, seed=7, now=NOW)
        yield db
    finally:
        await db.dispose()


async def brute_force(
    db: Database, dims: tuple[str, ...], **filters: Any
) -> dict[tuple[Any, ...], dict[str, Any]]:
    """Every measure from listings, deals and users with contracts' own economics."""
    async with db.read() as session:
        listings = list(await session.scalars(select(Listing)))
        deals = {d.listing_id: d for d in await session.scalars(select(Deal))}
        regions = {r.id: r for r in await session.scalars(select(Region))}
        by_path = {r.path: r for r in regions.values()}
        registrations = {r.id: r for r in await session.scalars(select(Registration))}
        users = {u.id: u for u in await session.scalars(select(User))}
    groups: dict[tuple[Any, ...], dict[str, Any]] = {}
    for listing in listings:
        if listing.state not in ("announced", "auction", "sold", "failed"):
            continue
        announced = local_date(listing.announced_at)  # type: ignore[arg-type]
        village = regions[listing.village_id]
        if filters.get("date_from") and announced < filters["date_from"]:
            continue
        if filters.get("category") and listing.category != filters["category"]:
            continue
        if filters.get("region") and not (village.path + "/").startswith(filters["region"] + "/"):
            continue
        deal = deals.get(listing.id)
        parts = village.path.split("/")
        buyer = None
        if deal is not None:
            buyer = (
                "organisation"
                if users[registrations[deal.registration_id].bidder_id].id_type == "uscc"
                else "individual"
            )
        values = {
            "county": by_path["/".join(parts[:3])].id,
            "town": by_path["/".join(parts[:4])].id,
            "village": village.id,
            "category": listing.category,
            "month": announced.year * 100 + announced.month,
            "buyer_type": buyer,
        }
        key = tuple(values[d] for d in dims)
        g = groups.setdefault(
            key,
            {
                "listings": 0,
                "failed": 0,
                "deals": 0,
                "listing_total_fen": 0,
                "deal_total_fen": 0,
                "premium_per_year_fen": 0,
                "premium_over_term_fen": 0,
                "contract_value_fen": 0,
                "_sold_listing_total": 0,
                "_rates": [],
            },
        )
        g["listings"] += 1
        g["failed"] += listing.state == "failed"
        terms = listing.terms
        listing_total = economics.contract_value_fen(
            economics.schedule_of(terms, deal.listing_fen if deal else terms.listing_price_fen)
        )
        g["listing_total_fen"] += listing_total
        if deal is not None and listing.state == "sold":
            income = income_of(listing, deal)
            g["deals"] += 1
            g["deal_total_fen"] += income.contract_value_fen
            g["premium_per_year_fen"] += income.premium_per_year_fen
            g["premium_over_term_fen"] += income.premium_over_term_fen
            g["contract_value_fen"] += income.contract_value_fen
            g["_sold_listing_total"] += listing_total
            g["_rates"].append(Fraction(deal.final_fen - deal.listing_fen, deal.listing_fen))
    for g in groups.values():
        total = g.pop("_sold_listing_total")
        rates = sorted(g.pop("_rates"))
        g["premium_rate"] = (
            format_percent(Fraction(g["premium_over_term_fen"], total)) if total else None
        )
        n = len(rates)
        g["premium_rate_median"] = (
            format_percent((rates[(n - 1) // 2] + rates[n // 2]) / 2) if n else None
        )
    return groups


MEASURES = [
    "listings",
    "failed",
    "deals",
    "listing_total_fen",
    "deal_total_fen",
    "premium_rate",
    "premium_rate_median",
    "premium_per_year_fen",
    "premium_over_term_fen",
    "contract_value_fen",
]


CASES: list[tuple[str, dict[str, Any]]] = [
    ("village", {}),
    ("county", {}),
    ("town,category", {}),
    ("month", {}),
    ("buyer_type", {}),
    ("category", {"category": "land_management_rights"}),
    ("village", {"region": "福建省/泉州市/惠安县/螺城镇", "date_from": date(2024, 1, 1)}),
    ("town,buyer_type", {"date_from": date(2023, 6, 20)}),  # a partial first month
]


async def test_stats_equal_a_brute_force_recomputation(county: Database) -> None:
    for group_by, filters in CASES:
        query = StatsQuery.parse(
            group_by, filters.get("date_from"), None, filters.get("region"), filters.get("category")
        )
        async with county.read() as session:
            result = await compute.statistics(session, query)
        expected = await brute_force(county, query.group_by, **filters)
        got = {}
        for row in result.rows:
            key = tuple(
                row.get(f"{d}_id", row.get(d))
                if d in ("county", "town", "village")
                else (int(row["month"].replace("-", "")) if d == "month" else row[d])
                for d in query.group_by
            )
            got[key] = {m: row[m] for m in MEASURES}
        assert got == expected, group_by
        assert result.totals["listings"] == sum(g["listings"] for g in expected.values())
        assert result.totals["deal_total_fen"] == sum(
            g["deal_total_fen"] for g in expected.values()
        )
    await facts_and_warnings(county)


async def facts_and_warnings(county: Database) -> None:
    """The job's facts and rollups equal the generator's; warnings are found on the county."""
    async with county.read() as session:
        before = {f.listing_id: f for f in await session.scalars(select(ListingFact))}
        cells = set(await session.execute(select(listing_rollups)))
        day_cells = set(await session.execute(select(listing_day_rollups)))
    columns = [c.name for c in ListingFact.__table__.columns if c.name != "updated_at"]
    snapshot = {i: {c: getattr(f, c) for c in columns} for i, f in before.items()}
    async with county.write() as session:
        await listing_facts.refresh_facts(session, list(snapshot), NOW)
    async with county.read() as session:
        assert set(await session.execute(select(listing_rollups))) == cells
        assert set(await session.execute(select(listing_day_rollups))) == day_cells
        after = {
            f.listing_id: {c: getattr(f, c) for c in columns}
            for f in await session.scalars(select(ListingFact))
        }
        kinds: dict[str, int] = defaultdict(int)
        for w in await session.scalars(select(WarningRow)):
            kinds[w.kind] += 1
            assert w.evidence
    assert after == snapshot
    assert {"single_bidder", "zero_premium"} <= set(kinds)
    # Tighter rules raise term warnings; finding the same again adds nothing.
    strict = ExchangeSettings(max_term_years={"*": 8})
    async with county.read() as session:
        found = await warnings.detect(session, strict, NOW)
    assert "contract_unsigned" not in {f.kind for f in found.findings}  # demo deals: no contracts
    assert found.skipped == []  # every detector runs (bank accounts come with deposits)
    long_terms = [f for f in found.findings if f.kind == "term_too_long"]
    assert long_terms and all(f.evidence["term_years"] > 8 for f in long_terms)
    async with county.write() as session:
        assert await warnings.store(session, found.findings, NOW) == len(long_terms)
    async with county.write() as session:
        assert await warnings.store(session, found.findings, NOW) == 0
