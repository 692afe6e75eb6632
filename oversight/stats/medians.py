"""Exact medians of the premium rate from the groups' bin counts: the counts say which bin
holds each group's middle deal(s) and at which rank inside it, so only the facts of that bin
are read, in exact rate order (the BIGINT bucket, ties broken by the exact text key)."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from itertools import accumulate
from typing import Any, Final

import msgspec
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    String,
    and_,
    column,
    func,
    select,
    text,
    true,
)
from sqlalchemy.ext.asyncio import AsyncSession

from oversight import facts
from oversight.models import ListingFact
from oversight.stats.query import COLUMNS

_PG_TYPES: Final = {BigInteger: "bigint", Integer: "integer", String: "text"}
_TYPES: Final[dict[str, Any]] = {
    "county": BigInteger(),
    "town": BigInteger(),
    "village": BigInteger(),
    "month": Integer(),
    "category": String(40),
    "buyer_type": String(16),
}


@dataclass(frozen=True, slots=True)
class Middle:
    """Where a group's middle deals are: premium buckets [low, high) and their ranks (from 1)
    among the group's deals in that range."""

    low: int
    high: int
    first: int
    last: int


def middle(bins: Sequence[int]) -> Middle:
    """The range and ranks of the one (odd count) or two (even) middle deals."""
    running = list(accumulate(bins))  # deals up to and including each bin
    n = running[-1]
    ranks = ((n + 1) // 2, (n + 2) // 2)
    first_bin, last_bin = (bisect_left(running, rank) for rank in ranks)
    below = running[first_bin] - bins[first_bin]
    low = facts.premium_bin_range(first_bin)[0]
    high = facts.premium_bin_range(last_bin)[1]
    return Middle(low, high, ranks[0] - below, ranks[1] - below)


async def medians(
    session: AsyncSession,
    dims: Sequence[str],
    where: list[ColumnElement[bool]],
    bins: Mapping[tuple[Any, ...], Sequence[int]],
) -> dict[tuple[Any, ...], Fraction]:
    """The median premium rate of each group with deals (`where` selects the statistic's
    facts; `bins` are the groups' deals per premium bin under the same filters)."""
    wanted = {key: middle(counts) for key, counts in bins.items() if sum(counts)}
    # One statement per pattern of missing (NULL) group values: plain equality on the others,
    # so each group's range is one index range scan.
    patterns: dict[tuple[bool, ...], list[tuple[Any, ...]]] = {}
    for key in wanted:
        patterns.setdefault(tuple(v is None for v in key), []).append(key)
    found: dict[tuple[Any, ...], list[tuple[int, int]]] = {}
    postgresql = session.get_bind().dialect.name == "postgresql"
    for pattern, keys in patterns.items():
        statement = _statement(postgresql, dims, pattern, where, [(k, wanted[k]) for k in keys])
        rows: Any = await session.execute(statement)
        for index, num, den in rows:
            found.setdefault(keys[index], []).append((int(num), int(den)))
    return {key: facts.median_rate(middle) for key, middle in found.items()}


def _statement(
    postgresql: bool,
    dims: Sequence[str],
    pattern: tuple[bool, ...],
    where: list[ColumnElement[bool]],
    groups: list[tuple[tuple[Any, ...], Middle]],
) -> Any:
    present = [(i, d) for i, d in enumerate(dims) if not pattern[i]]
    wanted = _table(
        postgresql,
        [(f"g{i}", d) for i, d in present],
        [
            (gid, *[key[i] for i, _ in present], m.low, m.high, m.first, m.last)
            for gid, (key, m) in enumerate(groups)
        ],
    )
    fact = ListingFact
    in_group = [
        *[COLUMNS[d] == wanted.c[f"g{i}"] for i, d in present],
        *[COLUMNS[d].is_(None) for i, d in enumerate(dims) if pattern[i]],
        fact.premium_bucket >= wanted.c.low,
        fact.premium_bucket < wanted.c.high,
        fact.is_sold == 1,
        *where,
    ]
    order = (fact.premium_bucket, fact.premium_key)
    rate = ((fact.final_fen - fact.listing_fen).label("num"), fact.listing_fen.label("den"))
    if postgresql:
        # Per group an index range scan in rate order that stops at the middle.
        middle = (
            select(*rate)
            .where(*in_group)
            .order_by(*order)
            .offset(wanted.c.from_rank - 1)
            .limit(wanted.c.to_rank - wanted.c.from_rank + 1)
            .lateral("middle")
        )
        return select(wanted.c.gid, middle.c.num, middle.c.den).join(middle, true())
    # SQLite has no LATERAL: the groups' ranges joined, ranked by a window.
    ranked = (
        select(
            wanted.c.gid,
            wanted.c.from_rank,
            wanted.c.to_rank,
            *rate,
            func.row_number().over(partition_by=wanted.c.gid, order_by=order).label("rn"),
        )
        .select_from(wanted)
        .join(fact, and_(*in_group))
        .subquery()
    )
    return select(ranked.c.gid, ranked.c.num, ranked.c.den).where(
        ranked.c.rn >= ranked.c.from_rank, ranked.c.rn <= ranked.c.to_rank
    )


def _table(postgresql: bool, dims: list[tuple[str, str]], rows: list[tuple[Any, ...]]) -> Any:
    """The wanted groups as a table: one JSON parameter read by the database (the statement
    stays the same whatever the groups, so it is compiled once)."""
    names = ["gid", *[name for name, _ in dims], "low", "high", "from_rank", "to_rank"]
    types = [Integer(), *[_TYPES[d] for _, d in dims], BigInteger(), BigInteger(), Integer()]
    types.append(Integer())
    if postgresql:
        spec = ", ".join(f"{n} {_PG_TYPES[type(t)]}" for n, t in zip(names, types, strict=True))
        sql = f"SELECT * FROM json_to_recordset(CAST(:wanted AS json)) AS w({spec})"
    else:
        picks = ", ".join(f"json_extract(value, '$.{n}') AS {n}" for n in names)
        sql = f"SELECT {picks} FROM json_each(:wanted)"
    data = [dict(zip(names, row, strict=True)) for row in rows]
    return (
        text(sql)
        .bindparams(wanted=msgspec.json.encode(data).decode())
        .columns(*[column(n, t) for n, t in zip(names, types, strict=True)])
        .subquery("wanted")
    )
