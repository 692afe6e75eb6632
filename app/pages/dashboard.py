"""What the regulator dashboard shows (app/templates/oversight.html): its filters, the figures
of `oversight.stats` under them, and each figure as a bar chart's labels, values and texts
(drawn by app/templates/_charts.html)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.pages import charts
from app.pages.labels import yuan
from core.accounts import Region
from listings.schemas import CATEGORY_NAMES_ZH
from oversight import stats
from oversight.stats import bands, dashboard
from oversight.stats.query import filters as stats_filters

#: How many villages the arrears chart and table show (the API answers every one).
ARREARS_SHOWN = 20
#: The statistics tables of the dashboard: dimension, heading, the row's name field.
TABLES = (
    ("category", "按资产类别", "category_name"),
    ("town", "按乡镇", "town"),
    ("month", "按公告月份", "month"),
)


@dataclass(frozen=True, slots=True)
class Chart:
    """One bar chart: a name for the image, and per bar its label, value and shown text."""

    title: str
    labels: list[str] = field(default_factory=list)
    values: list[int] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)

    def add(self, label: str, value: int, text: str) -> None:
        self.labels.append(label)
        self.values.append(value)
        self.texts.append(text)

    def drawn(self) -> dict[str, Any]:
        """Its geometry for the `hbar_chart` macro (app/pages/charts.py): one bar a row."""
        rows = zip(self.labels, self.values, self.texts, strict=True)
        return charts.hbars([(label, (v,), (t,)) for label, v, t in rows])


@dataclass(frozen=True, slots=True)
class Filters:
    """The form's values as given (months "YYYY-MM") and the checked query they make."""

    query: stats.StatsQuery
    region: str
    category: str
    month_from: str
    month_to: str

    @classmethod
    def parse(cls, values: dict[str, str]) -> Filters:
        month_from, month_to = values.get("from", "").strip(), values.get("to", "").strip()
        region = values.get("region", "").strip().strip("/")
        category = values.get("category", "").strip()
        query = stats_filters(
            bands.month_bounds(month_from, end=False),
            bands.month_bounds(month_to, end=True),
            region or None,
            category or None,
        )
        return cls(query, region, category, month_from, month_to)

    def query_string(self) -> str:
        """The same filters for the API's exports (dates, as /api/v1/stats takes them)."""
        q = self.query
        pairs = {
            "from": q.date_from.isoformat() if q.date_from else None,
            "to": q.date_to.isoformat() if q.date_to else None,
            "region": q.region,
            "category": q.category,
        }
        return urlencode({k: v for k, v in pairs.items() if v})


async def region_choices(session: AsyncSession, jurisdiction: str | None) -> list[Region]:
    """Counties and towns the regulator may filter by (villages are reached from the table)."""
    statement = select(Region).where(Region.level.in_(("county", "town")))
    if jurisdiction:
        statement = statement.where(
            or_(Region.path == jurisdiction, Region.path.startswith(jurisdiction + "/"))
        )
    return list(await session.scalars(statement.order_by(Region.path)))


async def figures(
    session: AsyncSession, filters: Filters, jurisdiction: str | None, today: date
) -> dict[str, Any]:
    """Every figure of the dashboard under the filters, with its chart."""
    query = filters.query
    groups: dict[str, list[dict[str, Any]]] = {}
    charts: dict[str, Chart] = {}
    totals: dict[str, Any] = {}
    for dim, heading, name in TABLES:
        result = await stats.statistics(session, _grouped(query, dim), jurisdiction)
        groups[dim] = [{**row, "name": row.get(name) or "（未知）"} for row in result.rows]
        charts[dim] = Chart(f"{heading}的成交总额")
        for g in groups[dim]:
            charts[dim].add(
                g["name"], g["deal_total_fen"], f"{yuan(g['deal_total_fen'])}（{g['deals']} 宗）"
            )
        totals = result.totals
    collection = await dashboard.collection(session, query, jurisdiction, today)
    premium = await dashboard.premium_distribution(session, query, jurisdiction)
    monthly = await dashboard.deals_by_month(session, query, jurisdiction)
    return {
        "totals": totals,
        "groups": groups,
        "charts": {
            **charts,
            "collection": _collection_chart(collection),
            "arrears": _arrears_chart(collection["villages"]),
            "premium": _premium_chart(premium["bands"]),
            "monthly": _monthly_chart(monthly["months"]),
        },
        "collection": collection,
        "arrears": [v for v in collection["villages"] if v["arrears_fen"]][:ARREARS_SHOWN],
        "premium": premium,
        "monthly": monthly,
    }


def _grouped(query: stats.StatsQuery, dim: str) -> stats.StatsQuery:
    return stats.StatsQuery((dim,), query.date_from, query.date_to, query.region, query.category)


def _collection_chart(found: dict[str, Any]) -> Chart:
    chart = Chart("截至今日的应收租金、已收租金和逾期欠缴")
    chart.add("应收（已到期）", found["due_fen"], yuan(found["due_fen"]))
    rate = f"（{found['collection_rate']} %）" if found["collection_rate"] else ""
    chart.add("已收", found["received_fen"], yuan(found["received_fen"]) + rate)
    chart.add("逾期欠缴", found["arrears_fen"], yuan(found["arrears_fen"]))
    return chart


def _arrears_chart(villages: list[dict[str, Any]]) -> Chart:
    chart = Chart("按村的逾期欠缴金额")
    for v in [v for v in villages if v["arrears_fen"]][:ARREARS_SHOWN]:
        chart.add(v["village"] or "（未知）", v["arrears_fen"], yuan(v["arrears_fen"]))
    return chart


def _premium_chart(found: list[dict[str, Any]]) -> Chart:
    chart = Chart("成交项目按溢价率分档的宗数")
    for band in found:
        share = f"（{band['share']} %）" if band["share"] else ""
        chart.add(band["name"], band["deals"], f"{band['deals']} 宗{share}")
    return chart


def _monthly_chart(months: list[dict[str, Any]]) -> Chart:
    chart = Chart("按成交月份的成交宗数")
    for m in months:
        chart.add(m["month"], m["deals"], f"{m['deals']} 宗 · {yuan(m['deal_total_fen'])}")
    return chart


def category_choices() -> list[tuple[str, str]]:
    return list(CATEGORY_NAMES_ZH.items())
