"""The statistics from the rollups equal the full scan of `listing_facts`, for random
histories and random questions (SQLite and PostgreSQL).

A history is a few rounds of listings reaching the market, changing state (open → sold or
failed, a deal's price or buyer changing) and leaving it, each round written the way the
oversight job writes facts (`listing_facts.store_facts`, which moves the rollups by the
difference). Then the rollups kept that way (month cells and day cells) equal the rollups
summed afresh from the facts, and every statistic — any grouping, periods with partial months
(whose days the day cells answer), periods inside one month, regions at every depth,
categories, jurisdictions — equals `statistics_by_scan`: the same rows, sums to the fen,
exact medians (ties, bins with several rates, two middle deals in different bins), groups
with a missing town, county or buyer type.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, literal, select, update

from app.cli import main as ruralx
from core.accounts import Region, User, ensure_region
from core.db import Database
from listings import Listing
from listings.schemas import Terms
from oversight.models import ListingFact, listing_day_rollups, listing_rollups
from oversight.stats import rollups
from oversight.stats.compute import statistics
from oversight.stats.listing_facts import (
    RegionIndex,
    fact_values,
    follow_region_rename,
    store_facts,
)
from oversight.stats.query import DIMENSIONS, StatsQuery
from tests.stats_reference import statistics_by_scan
from tests.support import SEED_TERMS

NOW = datetime(2024, 5, 1, tzinfo=UTC)
LISTINGS = 12
#: Villages at the usual depth in two counties and two towns, one under a town-less path
#: (no town) and one directly under a city (no county, no town).
VILLAGES = (
    "福建省/泉州市/惠安县/螺城镇/东村",
    "福建省/泉州市/惠安县/螺城镇/西村",
    "福建省/泉州市/惠安县/黄塘镇/南村",
    "福建省/泉州市/洛江区/河市镇/北村",
    "福建省/泉州市/惠安县/林场",
    "福建省/泉州市/开发区",
)
REGIONS = (
    "福建省",
    "福建省/泉州市",
    "福建省/泉州市/惠安县",
    "福建省/泉州市/惠安县/螺城镇",
    "福建省/泉州市/惠安县/螺城镇/东村",
    "福建省/泉州市/洛江区",
    "福建省/泉州市/惠安县/林场",
    "福建省/泉州市/开发区",
    "福建省/泉州市/惠安",  # a prefix of a name, not of a path
)
CATEGORIES = ("land_management_rights", "forest_rights", "wasteland")
#: final = listing · num // den: equal rates at different prices, several rates in one bin
#: (0 %, 0.1 %, 0.3 %), a negative premium, and rates far apart.
RATIOS = ((1, 1), (1001, 1000), (1003, 1000), (11, 10), (4, 3), (3, 2), (2, 1), (9, 10))
DAYS = st.dates(date(2024, 1, 27), date(2024, 4, 3))  # over three month ends

fact = st.fixed_dictionaries(
    {
        "village": st.sampled_from(VILLAGES),
        "category": st.sampled_from(CATEGORIES),
        "announced": DAYS,
        "state": st.sampled_from(("announced", "auction", "sold", "sold", "failed")),
        "listing_fen": st.sampled_from((10_000, 20_000, 30_000)),
        "ratio": st.sampled_from(RATIOS),
        "buyer": st.sampled_from(("resident_id", "uscc")),
        "years": st.integers(1, 3),
    }
)
#: A round: listings (by index) whose facts become these, or which leave the market (None).
rounds = st.lists(
    st.dictionaries(st.integers(0, LISTINGS - 1), st.none() | fact, min_size=1, max_size=8),
    min_size=1,
    max_size=4,
)
question = st.fixed_dictionaries(
    {
        "group_by": st.lists(st.sampled_from(DIMENSIONS), min_size=1, max_size=2, unique=True),
        "days": st.tuples(st.none() | DAYS, st.none() | DAYS),
        "region": st.none() | st.sampled_from(REGIONS),
        "category": st.none() | st.sampled_from(CATEGORIES),
        "jurisdiction": st.none() | st.sampled_from(REGIONS),
    }
)


@dataclass
class Market:
    db: Database
    listing_ids: list[int]
    villages: dict[str, Region]
    ancestors: dict[str, dict[str, int | None]]


@pytest.fixture
async def market(database_url: str) -> AsyncIterator[Market]:
    db = Database(database_url)
    try:
        async with db.write() as session:
            villages = {path: await ensure_region(session, path) for path in VILLAGES}
            index = RegionIndex()
            ancestors = {p: await index.ancestors(session, r) for p, r in villages.items()}
            owner = User(
                username="village-clerk",
                role="village",
                display_name="村务员",
                password_hash="!",
                active=False,
                created_at=NOW,
            )
            session.add(owner)
            await session.flush()
            listings = [
                Listing(
                    village_id=villages[VILLAGES[0]].id,
                    created_by=owner.id,
                    title=f"统计用挂牌 {n}",
                    category=CATEGORIES[0],
                    location="测试",
                    description="",
                    terms=msgspec.convert(SEED_TERMS, Terms),
                    state="draft",
                    created_at=NOW,
                    updated_at=NOW,
                )
                for n in range(LISTINGS)
            ]
            session.add_all(listings)
            await session.flush()
            ids = [listing.id for listing in listings]
        yield Market(db, ids, villages, ancestors)
    finally:
        await db.dispose()


def fact_row(market: Market, listing_id: int, spec: dict[str, Any]) -> dict[str, Any]:
    listing_fen = spec["listing_fen"]
    num, den = spec["ratio"]
    announced = datetime.combine(spec["announced"], time(3), tzinfo=UTC)
    terms = msgspec.convert(
        SEED_TERMS | {"listing_price_fen": listing_fen, "term_years": spec["years"]}, Terms
    )
    village = market.villages[spec["village"]]
    return fact_values(
        listing_id=listing_id,
        state=spec["state"],
        category=spec["category"],
        terms=terms,
        announced_at=announced,
        village_id=village.id,
        village_path=village.path,
        ancestors=market.ancestors[spec["village"]],
        deal=(listing_fen, listing_fen * num // den, announced + timedelta(days=12))
        if spec["state"] == "sold"
        else None,
        buyer_id_type=spec["buyer"],
        now=NOW,
    )


async def cells(db: Database) -> set[tuple[Any, ...]]:
    """The month cells and the day cells."""
    async with db.read() as session:
        months = set(await session.execute(select(listing_rollups)))
        days = set(await session.execute(select(listing_day_rollups)))
    return {("month", *cell) for cell in months} | {("day", *cell) for cell in days}


@pytest.mark.timeout(600)  # shrinking a failure replays histories many times
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(history=rounds, questions=st.lists(question, min_size=1, max_size=4))
async def test_rollup_statistics_equal_the_full_scan(
    market: Market, history: list[dict[int, dict[str, Any] | None]], questions: list[Any]
) -> None:
    db = market.db
    async with db.write() as session:
        await session.execute(delete(listing_rollups))
        await session.execute(delete(listing_day_rollups))
        await session.execute(delete(ListingFact))
    for changes in history:
        rows = [
            fact_row(market, market.listing_ids[i], spec)
            for i, spec in sorted(changes.items())
            if spec is not None
        ]
        gone = [market.listing_ids[i] for i, spec in changes.items() if spec is None]
        async with db.write() as session:
            await store_facts(session, rows, gone)
    kept = await cells(db)
    async with db.write() as session:
        await rollups.rebuild(session)
    assert kept == await cells(db)
    for asked in questions:
        low, high = asked["days"]
        if low and high and low > high:
            low, high = high, low
        query = StatsQuery.parse(
            ",".join(asked["group_by"]), low, high, asked["region"], asked["category"]
        )
        async with db.read() as session:
            got = await statistics(session, query, asked["jurisdiction"])
        async with db.read() as session:
            expected = await statistics_by_scan(session, query, asked["jurisdiction"])
        assert got.as_dict() == expected.as_dict(), asked


def _one_per_village(first: date, failed_every: int = 0) -> list[dict[str, Any]]:
    """A listing per village, nine days apart from `first`; every `failed_every`-th failed."""
    return [
        {
            "village": village,
            "category": CATEGORIES[n % 2],
            "announced": first + timedelta(days=9 * n),
            "state": "failed" if failed_every and n % failed_every == 0 else "sold",
            "listing_fen": 10_000,
            "ratio": RATIOS[n],
            "buyer": "uscc",
            "years": 2,
        }
        for n, village in enumerate(VILLAGES)
    ]


async def test_the_rebuild_command_sums_the_rollups_afresh(
    market: Market, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`ruralx stats rebuild` repairs rollups that no longer sum the facts."""
    specs = _one_per_village(date(2024, 2, 1), failed_every=3)
    async with market.db.write() as session:
        rows = [fact_row(market, market.listing_ids[n], s) for n, s in enumerate(specs)]
        await store_facts(session, rows)
    kept = await cells(market.db)
    async with market.db.write() as session:
        await session.execute(delete(listing_rollups).where(listing_rollups.c.grain == 0))
        await session.execute(delete(listing_day_rollups).where(listing_day_rollups.c.grain == 5))
    assert await cells(market.db) != kept
    monkeypatch.setenv("RURALX_DATABASE_URL", database_url)
    monkeypatch.setenv("RURALX_DATA_DIR", str(tmp_path))
    assert await asyncio.to_thread(ruralx, ["stats", "rebuild"]) == 0
    assert await cells(market.db) == kept


@pytest.mark.parametrize("renamed", ["福建省/泉州市/惠安县", "福建省/泉州市/惠安县/螺城镇"])
async def test_the_rollups_follow_a_region_renamed(market: Market, renamed: str) -> None:
    """A county or a town renamed: the cells' paths follow the facts', so the kept rollups
    still equal those summed afresh and a statistic of the new region finds its listings."""
    specs = _one_per_village(date(2024, 2, 10))
    async with market.db.write() as session:
        rows = [fact_row(market, market.listing_ids[n], s) for n, s in enumerate(specs)]
        await store_facts(session, rows)
    new = renamed + "新"
    async with market.db.write() as session:
        # What `core.accounts.rename_region` does to the regions' paths.
        await session.execute(
            update(Region)
            .where((Region.path == renamed) | Region.path.startswith(renamed + "/"))
            .values(path=literal(new) + func.substr(Region.path, len(renamed) + 1))
        )
        await follow_region_rename(session, renamed, new)
    kept = await cells(market.db)
    async with market.db.write() as session:
        await rollups.rebuild(session)
    assert kept == await cells(market.db)
    query = StatsQuery.parse("village", date(2024, 2, 15), date(2024, 3, 20), new, None)
    async with market.db.read() as session:
        got = await statistics(session, query)
        expected = await statistics_by_scan(session, query)
    assert got.as_dict() == expected.as_dict()
    assert got.totals["listings"] > 0
