"""Shaping a statistic: the measures of a group (exact sums, rates formatted at the end),
the labels of each group (region names and paths, category and buyer-type names) and the
order of the rows."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Final, NamedTuple

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.accounts import Region
from core.money import format_percent
from listings.schemas import CATEGORY_NAMES_ZH
from oversight.stats.query import StatsQuery

BUYER_TYPE_NAMES: Final = {"individual": "个人", "organisation": "单位", None: "未成交"}


@dataclass
class Measures:
    listings: int = 0
    failed: int = 0
    deals: int = 0
    listing_total_fen: int = 0
    deal_total_fen: int = 0
    sold_listing_total_fen: int = 0
    premium_per_year_fen: int = 0
    premium_over_term_fen: int = 0
    contract_value_fen: int = 0
    median: Fraction | None = None

    def add(self, other: Measures) -> None:
        for name in (
            "listings",
            "failed",
            "deals",
            "listing_total_fen",
            "deal_total_fen",
            "sold_listing_total_fen",
            "premium_per_year_fen",
            "premium_over_term_fen",
            "contract_value_fen",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def as_dict(self) -> dict[str, Any]:
        rate = (
            Fraction(self.premium_over_term_fen, self.sold_listing_total_fen)
            if self.sold_listing_total_fen
            else None
        )
        return {
            "listings": self.listings,
            "failed": self.failed,
            "deals": self.deals,
            "listing_total_fen": self.listing_total_fen,
            "deal_total_fen": self.deal_total_fen,
            "premium_rate": format_percent(rate) if rate is not None else None,
            "premium_rate_median": format_percent(self.median) if self.median is not None else None,
            "premium_per_year_fen": self.premium_per_year_fen,
            "premium_over_term_fen": self.premium_over_term_fen,
            "contract_value_fen": self.contract_value_fen,
        }


@dataclass
class StatsResult:
    query: StatsQuery
    rows: list[dict[str, Any]] = field(default_factory=list)
    totals: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "group_by": list(self.query.group_by),
            "rows": self.rows,
            "totals": self.totals,
            "filters": filters_dict(self.query),
        }


def filters_dict(query: StatsQuery) -> dict[str, Any]:
    """The filters as answered (`filters` of every statistic)."""
    return {
        "from": query.date_from.isoformat() if query.date_from else None,
        "to": query.date_to.isoformat() if query.date_to else None,
        "region": query.region,
        "category": query.category,
    }


class Place(NamedTuple):
    """What a row shows of a region."""

    name: str
    path: str


async def region_labels(
    session: AsyncSession, dims: Sequence[str], keys: Iterable[tuple[Any, ...]]
) -> dict[int, Place]:
    region_ids = {
        key[i]
        for key in keys
        for i, d in enumerate(dims)
        if d in ("county", "town", "village") and key[i] is not None
    }
    if not region_ids:
        return {}
    rows = await session.execute(
        select(Region.id, Region.name, Region.path).where(Region.id.in_(region_ids))
    )
    return {rid: Place(name, path) for rid, name, path in rows}


def group_fields(
    dims: Sequence[str], key: tuple[Any, ...], regions: dict[int, Place]
) -> dict[str, Any]:
    row: dict[str, Any] = {}
    labels = []
    for dim, value in zip(dims, key, strict=True):
        if dim in ("county", "town", "village"):
            region = regions.get(value) if value is not None else None
            row[dim] = region.name if region else None
            row[f"{dim}_id"] = value
            row[f"{dim}_path"] = region.path if region else None
            labels.append(region.name if region else "（未知）")
        elif dim == "category":
            row["category"] = value
            row["category_name"] = CATEGORY_NAMES_ZH.get(value, value)
            labels.append(row["category_name"])
        elif dim == "month":
            row["month"] = f"{value // 100:04d}-{value % 100:02d}"
            labels.append(row["month"])
        else:
            row["buyer_type"] = value
            row["buyer_type_name"] = BUYER_TYPE_NAMES.get(value, value)
            labels.append(row["buyer_type_name"])
    row["group"] = " / ".join(labels)
    return row


def sort_key(
    dims: Sequence[str], key: tuple[Any, ...], regions: dict[int, Place]
) -> tuple[Any, ...]:
    out: list[Any] = []
    for dim, value in zip(dims, key, strict=True):
        if dim in ("county", "town", "village"):
            region = regions.get(value)
            out.append((region is None, region.path if region else ""))
        else:
            out.append((value is None, value if value is not None else 0))
    return tuple(out)
