"""Computing a statistic from the rollups: one aggregate over the cells of the smallest grain
that has every dimension asked for (whole months; the days of a partial first or last month
from `listing_facts`), then the medians of the premium rate from the groups' bin counts."""

from __future__ import annotations

from datetime import date
from typing import Any, Final

from sqlalchemy import BigInteger, Select, cast, func, or_, select, text, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from oversight.models import ROLLUP_MEASURES, ListingFact, listing_rollups
from oversight.stats import period, rollups
from oversight.stats.medians import medians
from oversight.stats.query import COLUMNS, StatsQuery, conditions
from oversight.stats.shaping import Measures, StatsResult, group_fields, region_labels, sort_key

_CELLS = listing_rollups.c
#: A group's value in a rollup cell (missing town, county and buyer type are kept as 0 and '').
_CELL_DIMENSIONS: Final[dict[str, Any]] = {
    "county": func.nullif(_CELLS.county_id, 0),
    "town": func.nullif(_CELLS.town_id, 0),
    "village": _CELLS.village_id,
    "category": _CELLS.category,
    "month": _CELLS.month,
    "buyer_type": func.nullif(_CELLS.buyer_type, ""),
}


async def statistics(
    session: AsyncSession, query: StatsQuery, jurisdiction: str | None = None
) -> StatsResult:
    if session.get_bind().dialect.name == "postgresql":
        # A few small reads: compiling them (JIT, which the planner's guess of the groups'
        # rows can trigger) would cost more than running them.
        await session.execute(text("SET LOCAL jit = off"))
    groups: dict[tuple[Any, ...], Measures] = {}
    bins: dict[tuple[Any, ...], list[int]] = {}
    width, measures = len(query.group_by), len(ROLLUP_MEASURES)
    for row in await session.execute(_grouped(query, jurisdiction)):
        key = tuple(row[:width])
        sums = list(row[width:])
        groups[key] = Measures(*sums[:measures])
        bins[key] = sums[measures:]
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


def _grouped(query: StatsQuery, jurisdiction: str | None) -> Select[Any]:
    """Per group: the sums and the deals per premium bin, from the rollup cells of the whole
    months and the facts of the remaining days."""
    span = period.split(query.date_from, query.date_to)
    parts: list[Select[Any]] = []
    if span.months is not None:
        parts.append(_from_cells(query, jurisdiction, span.months))
    if span.days:
        parts.append(_from_facts(query, jurisdiction, span.days))
    source = (union_all(*parts) if len(parts) > 1 else parts[0]).subquery()
    dims = [source.c[f"g_{d}"] for d in query.group_by]
    # BIGINT, not PostgreSQL's NUMERIC of a SUM: plain integers, no Decimal per value.
    sums = [cast(func.sum(source.c[name]), BigInteger) for name in rollups.VALUES]
    return select(*dims, *sums).group_by(*dims)


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
    return select(
        *[_CELL_DIMENSIONS[d].label(f"g_{d}") for d in query.group_by],
        *[_CELLS[name] for name in rollups.VALUES],
    ).where(*where)


def _from_facts(
    query: StatsQuery, jurisdiction: str | None, days: tuple[tuple[date, date], ...]
) -> Select[Any]:
    return select(
        *[COLUMNS[d].label(f"g_{d}") for d in query.group_by],
        *[v.label(name) for v, name in zip(rollups.fact_values(), rollups.VALUES, strict=True)],
    ).where(
        or_(*[ListingFact.announced_on.between(low, high) for low, high in days]),
        *conditions(_places(query), jurisdiction),
    )
