"""The statistics by a full scan of `listing_facts` (one GROUP BY for the sums, one window
over every deal for the medians): what `oversight.stats.compute` answered before the rollups,
kept as the reference the rollups are held equal to."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    String,
    and_,
    case,
    cast,
    column,
    func,
    select,
    values,
)
from sqlalchemy.ext.asyncio import AsyncSession

from oversight import facts
from oversight.models import ListingFact
from oversight.stats.query import COLUMNS, StatsQuery, conditions
from oversight.stats.shaping import Measures, StatsResult, group_fields, region_labels, sort_key


async def statistics_by_scan(
    session: AsyncSession, query: StatsQuery, jurisdiction: str | None = None
) -> StatsResult:
    dims = [COLUMNS[d].label(f"g_{d}") for d in query.group_by]
    where = conditions(query, jurisdiction)
    sold = ListingFact.is_sold == 1
    aggregate = (
        select(
            *dims,
            func.count(),
            func.sum(ListingFact.is_failed),
            func.sum(ListingFact.is_sold),
            func.sum(ListingFact.listing_total_fen),
            func.sum(ListingFact.deal_total_fen),
            func.sum(case((sold, ListingFact.listing_total_fen), else_=0)),
            func.sum(ListingFact.premium_per_year_fen),
            func.sum(ListingFact.premium_over_term_fen),
            func.sum(ListingFact.contract_value_fen),
        )
        .where(*where)
        .group_by(*[COLUMNS[d] for d in query.group_by])
    )
    groups: dict[tuple[Any, ...], Measures] = {}
    width = len(dims)
    for row in await session.execute(aggregate):
        key = tuple(row[:width])
        groups[key] = Measures(*(int(v or 0) for v in row[width:]))  # type: ignore[arg-type]
    deals = {key: m.deals for key, m in groups.items() if m.deals}
    for key, middle in (await _medians(session, query.group_by, where, deals)).items():
        groups[key].median = facts.median_rate(middle)
    totals = Measures()
    for measures in groups.values():
        totals.add(measures)
    if len(groups) == 1:
        totals.median = next(iter(groups.values())).median
    elif totals.deals:
        overall = await _medians(session, (), where, {(): totals.deals})
        totals.median = facts.median_rate(overall[()])
    labels = await region_labels(session, query.group_by, groups.keys())
    result = StatsResult(query)
    for key in sorted(groups, key=lambda k: sort_key(query.group_by, k, labels)):
        fields = group_fields(query.group_by, key, labels)
        fields.update(groups[key].as_dict())
        result.rows.append(fields)
    result.totals = {"group": "合计", **totals.as_dict()}
    return result


_TYPES: Final[dict[str, Any]] = {
    "county": BigInteger(),
    "town": BigInteger(),
    "village": BigInteger(),
    "month": Integer(),
    "category": String(40),
    "buyer_type": String(16),
}


def _null_safe(expression: Any, dim: str) -> Any:
    return func.coalesce(expression, "" if dim in ("category", "buyer_type") else -1)


async def _medians(
    session: AsyncSession,
    dims: Sequence[str],
    where: list[ColumnElement[bool]],
    deals: dict[tuple[Any, ...], int],
) -> dict[tuple[Any, ...], list[tuple[int, int]]]:
    """The one or two middle deals of each group by premium rate, in exact order.

    The counts come from the aggregate, so one window (row_number over the premium order:
    the BIGINT bucket, ties broken by the exact text key) finds the middle ranks, joined
    against a VALUES list of (group, low rank, high rank).
    """
    if not deals:
        return {}
    columns = [COLUMNS[d] for d in dims]
    ranked = (
        select(
            *[c.label(f"g{i}") for i, c in enumerate(columns)],
            (ListingFact.final_fen - ListingFact.listing_fen).label("num"),
            ListingFact.listing_fen.label("den"),
            func.row_number()
            .over(
                partition_by=columns or None,
                order_by=(ListingFact.premium_bucket, ListingFact.premium_key),
            )
            .label("rn"),
        )
        .where(*where, ListingFact.is_sold == 1)
        .subquery()
    )
    picked = [ranked.c[f"g{i}"] for i in range(len(columns))]
    if columns:
        middles = (
            values(
                *[column(f"m{i}", _TYPES[d]) for i, d in enumerate(dims)],
                column("lo", Integer()),
                column("hi", Integer()),
                name="middles",
                literal_binds=True,
            )
            .data([(*key, (n + 1) // 2, (n + 2) // 2) for key, n in deals.items()])
            .cte("middles")
        )
        # Plain equality (hashable, unlike IS NOT DISTINCT FROM); NULL groups via a sentinel
        # (cast: PostgreSQL types a VALUES column of NULLs as text).
        statement = select(*picked, ranked.c.num, ranked.c.den).join(
            middles,
            and_(
                *[
                    _null_safe(ranked.c[f"g{i}"], d)
                    == _null_safe(cast(middles.c[f"m{i}"], _TYPES[d]), d)
                    for i, d in enumerate(dims)
                ],
                ranked.c.rn >= middles.c.lo,
                ranked.c.rn <= middles.c.hi,
            ),
        )
    else:
        n = deals[()]
        statement = select(ranked.c.num, ranked.c.den).where(
            ranked.c.rn >= (n + 1) // 2, ranked.c.rn <= (n + 2) // 2
        )
    out: dict[tuple[Any, ...], list[tuple[int, int]]] = {}
    for row in await session.execute(statement):
        key = tuple(row[: len(columns)])
        out.setdefault(key, []).append((int(row[-2]), int(row[-1])))
    return out
