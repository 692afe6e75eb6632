"""What a statistic asks: the grouping dimensions and the filters, parsed and checked, and
the WHERE clause they make over `listing_facts` (or its rollups)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Final

from sqlalchemy import ColumnElement, or_

from core.errors import InvalidInput
from listings.schemas import CATEGORY_NAMES_ZH
from oversight.models import ListingFact

DIMENSIONS: Final = ("county", "town", "village", "category", "month", "buyer_type")


@dataclass(frozen=True, slots=True)
class StatsQuery:
    group_by: tuple[str, ...] = ("village",)
    date_from: date | None = None
    date_to: date | None = None
    region: str | None = None
    category: str | None = None

    @classmethod
    def parse(
        cls,
        group_by: str,
        date_from: date | None,
        date_to: date | None,
        region: str | None,
        category: str | None,
    ) -> StatsQuery:
        dims = tuple(d.strip() for d in group_by.split(",") if d.strip())
        unknown = [d for d in dims if d not in DIMENSIONS]
        if not dims or unknown or len(set(dims)) != len(dims):
            raise InvalidInput(
                "stats.group_by",
                f"group_by 只能是 {'、'.join(DIMENSIONS)} 之一（可用逗号组合）",
                allowed=list(DIMENSIONS),
            )
        plain = filters(date_from, date_to, region, category)
        return cls(dims, plain.date_from, plain.date_to, plain.region, plain.category)


def filters(
    date_from: date | None, date_to: date | None, region: str | None, category: str | None
) -> StatsQuery:
    """The filters alone, checked (the dashboard's figures group in their own ways)."""
    if date_from and date_to and date_from > date_to:
        raise InvalidInput("stats.period", "统计期间的开始日期晚于结束日期")
    if category is not None and category not in CATEGORY_NAMES_ZH:
        raise InvalidInput("stats.category", "资产类别无效")
    return StatsQuery((), date_from, date_to, (region or "").strip("/") or None, category)


COLUMNS: Final[dict[str, Any]] = {
    "county": ListingFact.county_id,
    "town": ListingFact.town_id,
    "village": ListingFact.village_id,
    "category": ListingFact.category,
    "month": ListingFact.month,
    "buyer_type": ListingFact.buyer_type,
}


def _inside(path_column: Any, path: str) -> ColumnElement[bool]:
    return or_(path_column == path, path_column.startswith(path + "/", autoescape=True))


def conditions(
    query: StatsQuery,
    jurisdiction: str | None,
    period: Any = ListingFact.announced_on,
    *,
    path: Any = ListingFact.village_path,
    category: Any = ListingFact.category,
) -> list[ColumnElement[bool]]:
    """The WHERE of a query; `period` is the date the period selects by (announcement for
    the statistics, the deal date or a rent item's due date on the dashboard); `path` and
    `category` are the columns the region and category select by (the facts' or the
    rollups')."""
    where: list[ColumnElement[bool]] = []
    if query.date_from is not None:
        where.append(period >= query.date_from)
    if query.date_to is not None:
        where.append(period <= query.date_to)
    if query.region:
        where.append(_inside(path, query.region))
    if jurisdiction:
        where.append(_inside(path, jurisdiction))
    if query.category:
        where.append(category == query.category)
    return where
