"""Computing a statistic from the rollups: one aggregate over the cells of the smallest grain
that has every dimension asked for (its month cells for the whole months, its day cells for
the days of a partial first or last month), then the medians of the premium rate from the
groups' bin counts."""

from __future__ import annotations

from typing import Any, Final

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Select,
    cast,
    func,
    literal_column,
    or_,
    select,
    text,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession

from oversight.models import ROLLUP_MEASURES, listing_day_rollups, listing_rollups
from oversight.stats import period, rollups
from oversight.stats.medians import medians
from oversight.stats.query import StatsQuery, conditions
from oversight.stats.shaping import Measures, StatsResult, group_fields, region_labels, sort_key

_CELLS = listing_rollups.c
_DAYS = listing_day_rollups.c
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
    """Per group the sums and the deals per premium bin (VALUES order): one aggregate over the
    month cells of the whole months and the day cells of the remaining days."""
    width = len(query.group_by)
    rows = await session.execute(_from_rollups(query, jurisdiction))
    return {tuple(row[:width]): list(row[width:]) for row in rows}


def _from_rollups(query: StatsQuery, jurisdiction: str | None) -> Select[Any]:
    """The statistic's aggregate: over the cells of one table, or of both (UNION ALL) when the
    period has whole months and partial ones."""
    grain = rollups.grain_for(query, jurisdiction)
    span = period.split(query.date_from, query.date_to)
    places = StatsQuery((), None, None, query.region, query.category)
    parts: list[tuple[Any, list[ColumnElement[bool]]]] = []
    if span.months is not None:
        low, high = span.months
        where = [_CELLS.grain == grain]
        if low is not None:
            where.append(_CELLS.month >= low)
        if high is not None:
            where.append(_CELLS.month <= high)
        parts.append((_CELLS, where))
    if span.days:
        # The period has dates, so its grain keeps the month and is kept per day as well.
        assert grain in rollups.DAY_GRAINS
        in_days = [_DAYS.day.between(low_day, high_day) for low_day, high_day in span.days]
        parts.append((_DAYS, [_DAYS.grain == grain, or_(*in_days)]))
    for cells, where in parts:
        where += conditions(places, jurisdiction, path=cells.region_path, category=cells.category)
    if len(parts) == 1:
        cells, where = parts[0]
        sums = _CELL_SUMS if cells is _CELLS else _sums(cells)
        return (
            select(*_dimensions(cells, query.group_by), *sums)
            .where(*where)
            .group_by(*[cells[_COLUMN_OF[d]] for d in query.group_by])
        )
    names = [*_COLUMN_OF.values(), *rollups.VALUES]
    both = union_all(
        *[select(*[cells[name] for name in names]).where(*where) for cells, where in parts]
    ).subquery("cells")
    return select(*_dimensions(both.c, query.group_by), *_sums(both.c)).group_by(
        *[both.c[_COLUMN_OF[d]] for d in query.group_by]
    )


def _sums(cells: Any) -> list[Any]:
    return [cast(func.sum(cells[name]), BigInteger) for name in rollups.VALUES]


def _dimensions(cells: Any, dims: tuple[str, ...]) -> list[Any]:
    """The groups' values from cells' columns (a missing town, county or buyer type is kept
    as 0 or '')."""
    zero: Any = literal_column("0")
    missing = {"county": zero, "town": zero, "buyer_type": literal_column("''")}
    out = []
    for d in dims:
        value = cells[_COLUMN_OF[d]]
        out.append(func.nullif(value, missing[d]) if d in missing else value)
    return out
