"""The rollups of `listing_facts`: per grain, the facts' sums and premium-rate bins for each
combination of the dimensions the grain keeps (docs/oversight.md, "Statistics: speed"); and
the same per day for the grains that keep the month (`listing_day_rollups`), which answer the
days of a period's partial first and last months.

Kept by difference: whoever writes facts removes the old facts' contributions and adds the new
ones in the same transaction (`apply`), under one lock, so both tables always sum the facts;
after a bulk load they are summed afresh in the database (`rebuild`). A statistic reads the
smallest grain that keeps every dimension it groups or filters by.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

from sqlalchemy import (
    Table,
    and_,
    bindparam,
    case,
    delete,
    func,
    insert,
    literal_column,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from core.accounts import Region
from oversight.facts import PREMIUM_BINS, premium_bin, premium_bin_range
from oversight.models import (
    PREMIUM_BIN_COLUMNS,
    ROLLUP_MEASURES,
    ListingFact,
    listing_day_rollups,
    listing_rollups,
)
from oversight.stats.query import StatsQuery

# The dimensions a grain keeps, as bits; without VILLAGE a cell is a county's.
VILLAGE, CATEGORY, MONTH, BUYER = 1, 2, 4, 8
#: The grains kept, smallest first (a statistic takes the first that has what it needs). The
#: village grains with a month and only one of category and buyer type are left out: they
#: would be nearly as large as the full grain, which answers them.
GRAINS: Final = (
    0,
    BUYER,
    CATEGORY,
    CATEGORY | BUYER,
    MONTH,
    MONTH | BUYER,
    CATEGORY | MONTH,
    CATEGORY | MONTH | BUYER,
    VILLAGE,
    VILLAGE | BUYER,
    VILLAGE | CATEGORY,
    VILLAGE | CATEGORY | BUYER,
    VILLAGE | MONTH,
    VILLAGE | CATEGORY | MONTH | BUYER,
)
KEY: Final = (
    "grain",
    "month",
    "category",
    "buyer_type",
    "county_id",
    "town_id",
    "village_id",
    "region_path",
)
#: The grains also kept per day: those with the month (a period's dates need it), so the grain
#: a statistic reads its whole months from also has the days of its partial months.
DAY_GRAINS: Final = tuple(grain for grain in GRAINS if grain & MONTH)
#: A day cell: the month cell's key with the day (the month stays: grouping by month).
DAY_KEY: Final = ("grain", "day", *KEY[1:])
VALUES: Final = (*ROLLUP_MEASURES, *PREMIUM_BIN_COLUMNS)
#: What the rollups read of a fact.
FACT_COLUMNS: Final = (
    "village_id",
    "town_id",
    "county_id",
    "village_path",
    "category",
    "month",
    "announced_on",
    "buyer_type",
    "is_sold",
    "is_failed",
    "listing_total_fen",
    "deal_total_fen",
    "premium_per_year_fen",
    "premium_over_term_fen",
    "contract_value_fen",
    "premium_bucket",
)
#: Segments of a county's path: province/city/county.
COUNTY_DEPTH: Final = 3
_LOCK: Final = 0x726F6C6C  # one writer of facts and rollups at a time (PostgreSQL)
_CHUNK: Final = 5000

Cell = tuple[Any, ...]


def county_path(village_path: str) -> str:
    return "/".join(village_path.split("/")[:COUNTY_DEPTH])


def cell_of(fact: Mapping[str, Any], grain: int) -> Cell:
    """The cell (in KEY order) a fact adds to in a grain."""
    village = grain & VILLAGE
    return (
        grain,
        fact["month"] if grain & MONTH else 0,
        fact["category"] if grain & CATEGORY else "",
        (fact["buyer_type"] or "") if grain & BUYER else "",
        fact["county_id"] or 0,
        (fact["town_id"] or 0) if village else 0,
        fact["village_id"] if village else 0,
        fact["village_path"] if village else county_path(fact["village_path"]),
    )


def day_cell_of(fact: Mapping[str, Any], grain: int) -> Cell:
    """The cell (in DAY_KEY order) a fact adds to in a day grain: its Beijing announcement day."""
    return (grain, fact["announced_on"], *cell_of(fact, grain)[1:])


def contribution(fact: Mapping[str, Any]) -> list[tuple[int, int]]:
    """What a fact adds to its cells: (index in VALUES, amount), the zeros left out."""
    sold = int(fact["is_sold"])
    listing_total = int(fact["listing_total_fen"])
    values = [
        1,
        int(fact["is_failed"]),
        sold,
        listing_total,
        int(fact["deal_total_fen"]),
        listing_total if sold else 0,
        int(fact["premium_per_year_fen"]),
        int(fact["premium_over_term_fen"]),
        int(fact["contract_value_fen"]),
    ]
    out = [(i, value) for i, value in enumerate(values) if value]
    if sold:
        out.append((len(ROLLUP_MEASURES) + premium_bin(int(fact["premium_bucket"])), 1))
    return out


def changes(
    before: Iterable[Mapping[str, Any]], after: Iterable[Mapping[str, Any]]
) -> tuple[dict[Cell, list[int]], dict[Cell, list[int]]]:
    """The cells that change when the facts `before` are replaced by `after`, with the change:
    the month cells (`listing_rollups`) and the day cells (`listing_day_rollups`)."""
    months: dict[Cell, list[int]] = {}
    days: dict[Cell, list[int]] = {}
    width = len(VALUES)
    for facts, sign in ((before, -1), (after, 1)):
        for fact in facts:
            adds = [(i, sign * value) for i, value in contribution(fact)]
            cells = [(months, cell_of(fact, grain)) for grain in GRAINS]
            cells += [(days, day_cell_of(fact, grain)) for grain in DAY_GRAINS]
            for out, cell in cells:
                total = out.get(cell)
                if total is None:
                    total = out[cell] = [0] * width
                for i, value in adds:
                    total[i] += value
    return (
        {cell: delta for cell, delta in months.items() if any(delta)},
        {cell: delta for cell, delta in days.items() if any(delta)},
    )


async def lock(session: AsyncSession) -> None:
    """Serialise the writers of facts (the job, the demo generator) until commit."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK})


async def apply(
    session: AsyncSession,
    before: Iterable[Mapping[str, Any]],
    after: Iterable[Mapping[str, Any]],
) -> int:
    """Move the rollups (month and day cells) from the facts `before` to `after` (same
    transaction, under `lock`); cells left without a listing are removed. Returns the number
    of cells changed."""
    months, days = changes(before, after)
    for table, key, delta in ((listing_rollups, KEY, months), (listing_day_rollups, DAY_KEY, days)):
        await _move(session, table, key, delta)
    return len(months) + len(days)


async def _move(
    session: AsyncSession, table: Table, key: tuple[str, ...], delta: dict[Cell, list[int]]
) -> None:
    """Add the changes to the cells of one table (upserts), removing the emptied cells."""
    if not delta:
        return
    ins = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = ins(table)
    excluded = stmt.excluded
    stmt = stmt.on_conflict_do_update(
        index_elements=list(key),
        set_={name: table.c[name] + excluded[name] for name in VALUES},
    )
    rows = [
        dict(zip(key, cell, strict=True)) | dict(zip(VALUES, d, strict=True))
        for cell, d in delta.items()
    ]
    connection = await session.connection()
    for start in range(0, len(rows), _CHUNK):
        await connection.execute(stmt, rows[start : start + _CHUNK])
    emptied = [dict(zip(key, cell, strict=True)) for cell, d in delta.items() if d[0] < 0]
    if emptied:
        c = table.c
        await connection.execute(
            delete(table).where(
                and_(*[c[name] == bindparam(name) for name in key]), c.listings == 0
            ),
            emptied,
        )


def fact_values() -> list[Any]:
    """What one fact adds to its cells, as SQL over `listing_facts` (VALUES order)."""
    fact = ListingFact
    sold = fact.is_sold == 1
    out: list[Any] = [
        literal_column("1"),
        fact.is_failed,
        fact.is_sold,
        fact.listing_total_fen,
        fact.deal_total_fen,
        case((sold, fact.listing_total_fen), else_=0),
        fact.premium_per_year_fen,
        fact.premium_over_term_fen,
        fact.contract_value_fen,
    ]
    for index in range(PREMIUM_BINS):
        low, high = premium_bin_range(index)
        inside = and_(sold, fact.premium_bucket >= low, fact.premium_bucket < high)
        out.append(case((inside, 1), else_=0))
    return out


async def rebuild(session: AsyncSession) -> None:
    """The rollups summed afresh from all the facts, in the database (after the demo
    generator's bulk load; a repair; what the tests compare the kept rollups with)."""
    await lock(session)
    await session.execute(delete(listing_rollups))
    await session.execute(delete(listing_day_rollups))
    for grain in GRAINS:
        await session.execute(_summed(grain))
    for grain in DAY_GRAINS:
        await session.execute(_summed(grain, by_day=True))


def _summed(grain: int, *, by_day: bool = False) -> Any:
    """INSERT … SELECT of a grain's cells: `cell_of` (`day_cell_of` by day) in SQL (a county's
    path is its region's; without a county the village's path has at most three segments)."""
    fact = ListingFact
    county = aliased(Region)
    # Literals, not parameters: PostgreSQL groups by them only if they are the same text.
    zero: Any = literal_column("0")
    blank: Any = literal_column("''")
    village = grain & VILLAGE
    kept: dict[str, Any] = {
        "county_id": func.coalesce(fact.county_id, zero),
        "region_path": fact.village_path
        if village
        else func.coalesce(county.path, fact.village_path),
    }
    if grain & MONTH:
        kept["month"] = fact.month
    if by_day:
        kept["day"] = fact.announced_on
    if grain & CATEGORY:
        kept["category"] = fact.category
    if grain & BUYER:
        kept["buyer_type"] = func.coalesce(fact.buyer_type, blank)
    if village:
        kept["town_id"] = func.coalesce(fact.town_id, zero)
        kept["village_id"] = fact.village_id
    absent = {"grain": literal_column(str(grain)), "category": blank, "buyer_type": blank}
    names = DAY_KEY if by_day else KEY
    key = [kept.get(name, absent.get(name, zero)) for name in names]
    cells = select(*key, *[func.sum(value) for value in fact_values()]).select_from(fact)
    if not village:
        cells = cells.outerjoin(county, county.id == fact.county_id)
    cells = cells.group_by(*kept.values())
    table = listing_day_rollups if by_day else listing_rollups
    return insert(table).from_select([*names, *VALUES], cells)


def grain_for(query: StatsQuery, jurisdiction: str | None) -> int:
    """The smallest grain with every dimension the statistic groups or filters by."""
    dims = set(query.group_by)
    needed = 0
    deep = [p for p in (query.region, jurisdiction) if p and p.count("/") >= COUNTY_DEPTH]
    if dims & {"village", "town"} or deep:
        needed |= VILLAGE
    if "category" in dims or query.category:
        needed |= CATEGORY
    if "month" in dims or query.date_from or query.date_to:
        needed |= MONTH
    if "buyer_type" in dims:
        needed |= BUYER
    return next(grain for grain in GRAINS if grain & needed == needed)
