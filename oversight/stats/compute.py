"""Computing a statistic from the rollups: one aggregate over the cells of the smallest grain
that has every dimension asked for (whole months; the days of a partial first or last month
from `listing_facts`), then the medians of the premium rate from the groups' bin counts."""

from __future__ import annotations

from datetime import date
from typing import Any, Final

from sqlalchemy import BigInteger, Select, cast, func, literal_column, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from oversight.models import ROLLUP_MEASURES, ListingFact, listing_rollups
from oversight.stats import period, rollups
from oversight.stats.medians import medians
from oversight.stats.query import COLUMNS, StatsQuery, conditions
from oversight.stats.shaping import Measures, StatsResult, group_fields, region_labels, sort_key

_CELLS = listing_rollups.c
#: A group's value in a rollup cell (missing town, county and buyer type are kept as 0 and '').
_CELL_DIMENSIONS: Final[dict[str, Any]] = {
    "county": func.nullif(_CELLS.county_id, literal_column("0")),
    "town": func.nullif(_CELLS.town_id, literal_column("0")),
    "village": _CELLS.village_id,
    "category": _CELLS.category,
    "month": _CELLS.month,
    "buyer_type": func.nullif(_CELLS.buyer_type, literal_column("''")),
}
_COLUMN_OF: Final = {
    "county": "county_id",
    "town": "town_id",
    "village": "village_id",
    "category": "category",
    "month": "month",
    "buyer_type": "buyer_type",
}
# Built once (the expressions are immutable): BIGINT, not PostgreSQL's NUMERIC of a SUM.
_CELL_SUMS: Final = [cast(func.sum(_CELLS[name]), BigInteger) for name in rollups.VALUES]
_FACT_SUMS: Final = [cast(func.sum(value), BigInteger) for value in rollups.fact_values()]


async def statistics(
    session: AsyncSession, query: StatsQuery, jurisdiction: str | None = None
) -> StatsResult:
    if session.get_bind().dialect.name == "postgresql":
        # A few small reads: compiling them (JIT, which the planner's guess of the groups'
        # rows can trigger) would cost more than running them.
        await session.execute(text("SET LOCAL jit = off"))
    summed = await _summed(session, query, jurisdiction)
    measures = len(ROLLUP_MEASURES)
    groups = {key: Measures(*sums[:measures]) for key, sums in summed.items()}
    bins = {key: sums[measures:] for key, sums in summed.items()}
    where = conditions(query, jurisdiction)
    for key, median in (await medians(session, query.group_by, where, bins)).items():
        groups[key].median = median
    totals = Measures()
    for group in groups.values():
        totals.add(group)
    if len(groups) == 1:
        totals.median = next(iter(groups.values())).median
    elif totals.deals:
        overall = [sum(counts) for counts in zip(*bins.values(), strict=True)]
        totals.median = (await medians(session, (), where, {(): overall}))[()]
    labels = await region_labels(session, query.group_by, groups.keys())
    result = StatsResult(query)
    for key in sorted(groups, key=lambda k: sort_key(query.group_by, k, labels)):
        fields = group_fields(query.group_by, key, labels)
        fields.update(groups[key].as_dict())
        result.rows.append(fields)
    result.totals = {"group": "合计", **totals.as_dict()}
    return result


async def _summed(
    session: AsyncSession, query: StatsQuery, jurisdiction: str | None
) -> dict[tuple[Any, ...], list[Any]]:
    """Per group the sums and the deals per premium bin (VALUES order): from the rollup cells
    of the whole months, plus the facts of the remaining days."""
    span = period.split(query.date_from, query.date_to)
    parts = []
    if span.months is not None:
        parts.append(_from_cells(query, jurisdiction, span.months))
    if span.days:
        parts.append(_from_facts(query, jurisdiction, span.days))
    width = len(query.group_by)
    summed: dict[tuple[Any, ...], list[Any]] = {}
    for part in parts:
        for row in await session.execute(part):
            key, sums = tuple(row[:width]), list(row[width:])
            if key in summed:
                sums = [a + b for a, b in zip(summed[key], sums, strict=True)]
            summed[key] = sums
    return summed


def _places(query: StatsQuery) -> StatsQuery:
    return StatsQuery((), None, None, query.region, query.category)


def _from_cells(
    query: StatsQuery, jurisdiction: str | None, months: tuple[int | None, int | None]
) -> Select[Any]:
    grain = rollups.grain_for(query, jurisdiction)
    where = [_CELLS.grain == grain]
    if months[0] is not None:
        where.append(_CELLS.month >= months[0])
    if months[1] is not None:
        where.append(_CELLS.month <= months[1])
    where += conditions(
        _places(query), jurisdiction, path=_CELLS.region_path, category=_CELLS.category
    )
    return (
        select(*[_CELL_DIMENSIONS[d] for d in query.group_by], *_CELL_SUMS)
        .where(*where)
        .group_by(*[_CELLS[_COLUMN_OF[d]] for d in query.group_by])
    )


def _from_facts(
    query: StatsQuery, jurisdiction: str | None, days: tuple[tuple[date, date], ...]
) -> Select[Any]:
    dims = [COLUMNS[d] for d in query.group_by]
    return (
        select(*dims, *_FACT_SUMS)
        .where(
            or_(*[ListingFact.announced_on.between(low, high) for low, high in days]),
            *conditions(_places(query), jurisdiction),
        )
        .group_by(*dims)
    )
