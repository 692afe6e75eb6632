"""Statistics for regulators: listing facts kept per listing, grouped sums, CSV and XLSX.

Facts are (re)computed per listing when the log shows it changed (`refresh_facts`), so a
statistic is one GROUP BY over `listing_facts` plus one window query for the median — no
JSON, no Fractions per row at query time. Sums are exact integers; rates are exact fractions
formatted half-up with two decimals only at the end.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from fractions import Fraction
from typing import Any, Final

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    String,
    and_,
    case,
    column,
    delete,
    func,
    or_,
    select,
    text,
    values,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from auction.models import Deal
from contracts.models import Contract
from core.accounts import Region, User
from core.clock import local_date
from core.db import table_of
from core.errors import InvalidInput
from core.money import format_percent
from listings import Listing, Registration
from listings.schemas import CATEGORY_NAMES_ZH
from oversight import facts
from oversight.models import ListingFact

MARKET_STATES: Final = {"announced": "open", "auction": "open", "sold": "sold", "failed": "failed"}
DIMENSIONS: Final = ("county", "town", "village", "category", "month", "buyer_type")
BUYER_TYPE_NAMES: Final = {"individual": "个人", "organisation": "单位", None: "未成交"}
MEASURES: Final = (
    "listings",
    "failed",
    "deals",
    "listing_total_fen",
    "deal_total_fen",
    "premium_rate",
    "premium_rate_median",
    "premium_per_year_fen",
    "premium_over_term_fen",
    "contract_value_fen",
)
MEASURE_NAMES_ZH: Final = {
    "listings": "挂牌宗数",
    "failed": "流拍宗数",
    "deals": "成交宗数",
    "listing_total_fen": "挂牌总额（分）",
    "deal_total_fen": "成交总额（分）",
    "premium_rate": "溢价率（%，按金额加权）",
    "premium_rate_median": "溢价率中位数（%）",
    "premium_per_year_fen": "年增收（分）",
    "premium_over_term_fen": "期内增收（分）",
    "contract_value_fen": "合同总价值（分）",
}
_UPSERT_CHUNK: Final = 5000


# ---------------------------------------------------------------------------------------------
# Facts
# ---------------------------------------------------------------------------------------------


def fact_row(
    listing: Listing,
    village: Region,
    ancestors: dict[str, int | None],
    deal: Deal | None,
    buyer_id_type: str | None,
    now: datetime,
) -> dict[str, Any]:
    """The stored facts of one listing that reached the market."""
    assert listing.announced_at is not None
    return fact_values(
        listing_id=listing.id,
        state=listing.state,
        category=listing.category,
        terms=listing.terms,
        announced_at=listing.announced_at,
        village_id=village.id,
        village_path=village.path,
        ancestors=ancestors,
        deal=(deal.listing_fen, deal.final_fen, deal.decided_at) if deal is not None else None,
        buyer_id_type=buyer_id_type,
        now=now,
    )


def fact_values(
    *,
    listing_id: int,
    state: str,
    category: str,
    terms: dict[str, Any],
    announced_at: datetime,
    village_id: int,
    village_path: str,
    ancestors: dict[str, int | None],
    deal: tuple[int, int, datetime] | None,
    buyer_id_type: str | None,
    now: datetime,
) -> dict[str, Any]:
    """The same from plain values (the demo generator computes them without ORM objects)."""
    market = MARKET_STATES[state]
    sold = market == "sold" and deal is not None
    listing_fen = deal[0] if deal is not None else terms["listing_price_fen"]
    final_fen = deal[1] if sold and deal is not None else None
    money = facts.economics(terms, listing_fen, final_fen)
    announced = local_date(announced_at)
    decided = local_date(deal[2]) if sold and deal is not None else None
    years = int(terms["term_years"])
    return {
        "listing_id": listing_id,
        "village_id": village_id,
        "town_id": ancestors.get("town"),
        "county_id": ancestors.get("county"),
        "village_path": village_path,
        "category": category,
        "announced_on": announced,
        "month": announced.year * 100 + announced.month,
        "state": market,
        "is_sold": int(sold),
        "is_failed": int(market == "failed"),
        "buyer_type": facts.buyer_type(buyer_id_type) if sold else None,
        "term_years": years,
        "listing_total_fen": money.listing_total_fen,
        "listing_fen": listing_fen,
        "final_fen": final_fen,
        "deal_total_fen": money.deal_total_fen,
        "premium_per_year_fen": money.premium_per_year_fen,
        "premium_over_term_fen": money.premium_over_term_fen,
        "contract_value_fen": money.contract_value_fen,
        "premium_bucket": facts.premium_bucket(listing_fen, final_fen)
        if final_fen is not None
        else None,
        "premium_key": facts.premium_key(listing_fen, final_fen) if final_fen is not None else None,
        "decided_on": decided,
        "lease_ends_on": facts.add_years(decided, years) if decided is not None else None,
        "updated_at": now,
    }


class RegionIndex:
    """Region ids by path, loaded as needed (one job run or one demo generation)."""

    def __init__(self) -> None:
        self.by_path: dict[str, int] = {}

    async def ancestors(self, session: AsyncSession, village: Region) -> dict[str, int | None]:
        parts = village.path.split("/")
        wanted = {
            "county": "/".join(parts[:3]) if len(parts) >= 4 else None,
            "town": "/".join(parts[:4]) if len(parts) >= 5 else None,
        }
        missing = [p for p in wanted.values() if p and p not in self.by_path]
        if missing:
            rows = await session.execute(
                select(Region.path, Region.id).where(Region.path.in_(missing))
            )
            self.by_path.update({path: rid for path, rid in rows})
        return {level: self.by_path.get(path) if path else None for level, path in wanted.items()}


async def refresh_facts(
    session: AsyncSession,
    listing_ids: Iterable[int],
    now: datetime,
    regions: RegionIndex | None = None,
) -> int:
    """Recompute the facts of these listings (removing those not on the market)."""
    ids = sorted(set(listing_ids))
    if not ids:
        return 0
    regions = regions or RegionIndex()
    listings = list(await session.scalars(select(Listing).where(Listing.id.in_(ids))))
    deals = {
        d.listing_id: d for d in await session.scalars(select(Deal).where(Deal.listing_id.in_(ids)))
    }
    id_types: dict[int, str | None] = {}
    if deals:
        rows = await session.execute(
            select(Registration.id, User.id_type)
            .join(User, User.id == Registration.bidder_id)
            .where(Registration.id.in_([d.registration_id for d in deals.values()]))
        )
        id_types = {rid: id_type for rid, id_type in rows}
    villages = {
        r.id: r
        for r in await session.scalars(
            select(Region).where(Region.id.in_({li.village_id for li in listings}))
        )
    }
    starts = await _lease_starts(session, list(deals))
    out, gone = [], []
    for listing in listings:
        if listing.state not in MARKET_STATES or listing.announced_at is None:
            gone.append(listing.id)
            continue
        village = villages[listing.village_id]
        deal = deals.get(listing.id)
        row = fact_row(
            listing,
            village,
            await regions.ancestors(session, village),
            deal,
            id_types.get(deal.registration_id) if deal else None,
            now,
        )
        if row["is_sold"] and listing.id in starts:
            row["lease_ends_on"] = facts.add_years(starts[listing.id], row["term_years"])
        out.append(row)
    if gone:
        await session.execute(delete(ListingFact).where(ListingFact.listing_id.in_(gone)))
    await upsert_facts(session, out)
    return len(out)


async def _lease_starts(session: AsyncSession, listing_ids: list[int]) -> dict[int, date]:
    """The contracts' lease start dates."""
    if not listing_ids:
        return {}
    rows: Any = await session.execute(
        select(Contract.listing_id, Contract.lease_start).where(
            Contract.listing_id.in_(listing_ids)
        )
    )
    return {listing_id: start for listing_id, start in rows if start is not None}


async def upsert_facts(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Insert or replace facts (one executemany; the statement is compiled once)."""
    if not rows:
        return
    ins = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = ins(table_of(ListingFact))
    excluded = stmt.excluded  # built anew on every access: once, not once per column
    stmt = stmt.on_conflict_do_update(
        index_elements=["listing_id"],
        set_={k: excluded[k] for k in rows[0] if k != "listing_id"},
    )
    connection = await session.connection()
    for start in range(0, len(rows), _UPSERT_CHUNK):
        await connection.execute(stmt, list(rows[start : start + _UPSERT_CHUNK]))


# ---------------------------------------------------------------------------------------------
# Queries
# ---------------------------------------------------------------------------------------------


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
        if date_from and date_to and date_from > date_to:
            raise InvalidInput("stats.period", "统计期间的开始日期晚于结束日期")
        if category is not None and category not in CATEGORY_NAMES_ZH:
            raise InvalidInput("stats.category", "资产类别无效")
        return cls(dims, date_from, date_to, (region or "").strip("/") or None, category)


_COLUMNS: Final[dict[str, Any]] = {
    "county": ListingFact.county_id,
    "town": ListingFact.town_id,
    "village": ListingFact.village_id,
    "category": ListingFact.category,
    "month": ListingFact.month,
    "buyer_type": ListingFact.buyer_type,
}


def _inside(path: str) -> ColumnElement[bool]:
    return or_(
        ListingFact.village_path == path,
        ListingFact.village_path.startswith(path + "/", autoescape=True),
    )


def _conditions(query: StatsQuery, jurisdiction: str | None) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if query.date_from is not None:
        where.append(ListingFact.announced_on >= query.date_from)
    if query.date_to is not None:
        where.append(ListingFact.announced_on <= query.date_to)
    if query.region:
        where.append(_inside(query.region))
    if jurisdiction:
        where.append(_inside(jurisdiction))
    if query.category:
        where.append(ListingFact.category == query.category)
    return where


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
            "filters": {
                "from": self.query.date_from.isoformat() if self.query.date_from else None,
                "to": self.query.date_to.isoformat() if self.query.date_to else None,
                "region": self.query.region,
                "category": self.query.category,
            },
        }


async def statistics(
    session: AsyncSession, query: StatsQuery, jurisdiction: str | None = None
) -> StatsResult:
    if session.get_bind().dialect.name == "postgresql":
        # Sorting ~10^5 narrow rows for the medians: in memory, not in temporary files.
        await session.execute(text("SET LOCAL work_mem = '64MB'"))
    dims = [_COLUMNS[d].label(f"g_{d}") for d in query.group_by]
    where = _conditions(query, jurisdiction)
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
        .group_by(*[_COLUMNS[d] for d in query.group_by])
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
    labels = await _labels(session, query.group_by, groups.keys())
    result = StatsResult(query)
    for key in sorted(groups, key=lambda k: _sort_key(query.group_by, k, labels)):
        fields = _group_fields(query.group_by, key, labels)
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
    columns = [_COLUMNS[d] for d in dims]
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
        # Plain equality (hashable, unlike IS NOT DISTINCT FROM); NULL groups via a sentinel.
        statement = select(*picked, ranked.c.num, ranked.c.den).join(
            middles,
            and_(
                *[
                    _null_safe(ranked.c[f"g{i}"], d) == _null_safe(middles.c[f"m{i}"], d)
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


async def _labels(
    session: AsyncSession, dims: Sequence[str], keys: Iterable[tuple[Any, ...]]
) -> dict[int, Region]:
    region_ids = {
        key[i]
        for key in keys
        for i, d in enumerate(dims)
        if d in ("county", "town", "village") and key[i] is not None
    }
    if not region_ids:
        return {}
    rows = await session.scalars(select(Region).where(Region.id.in_(region_ids)))
    return {r.id: r for r in rows}


def _group_fields(
    dims: Sequence[str], key: tuple[Any, ...], regions: dict[int, Region]
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


def _sort_key(
    dims: Sequence[str], key: tuple[Any, ...], regions: dict[int, Region]
) -> tuple[Any, ...]:
    out: list[Any] = []
    for dim, value in zip(dims, key, strict=True):
        if dim in ("county", "town", "village"):
            region = regions.get(value)
            out.append((region is None, region.path if region else ""))
        else:
            out.append((value is None, value if value is not None else 0))
    return tuple(out)


# ---------------------------------------------------------------------------------------------
# Exports
# ---------------------------------------------------------------------------------------------


def _export_columns(result: StatsResult) -> list[tuple[str, str]]:
    columns: list[tuple[str, str]] = []
    names = {
        "county": "县（区）",
        "town": "乡镇",
        "village": "村",
        "category": "资产类别",
        "month": "月份",
        "buyer_type": "受让方类型",
    }
    for dim in result.query.group_by:
        if dim in ("county", "town", "village"):
            columns += [(dim, names[dim]), (f"{dim}_path", f"{names[dim]}路径")]
        elif dim == "category":
            columns += [("category", "类别代码"), ("category_name", names[dim])]
        elif dim == "buyer_type":
            columns += [("buyer_type_name", names[dim])]
        else:
            columns += [("month", names[dim])]
    return columns + [(m, MEASURE_NAMES_ZH[m]) for m in MEASURES]


def _export_rows(result: StatsResult) -> list[dict[str, Any]]:
    return [*result.rows, result.totals]


def to_csv(result: StatsResult) -> bytes:
    """UTF-8 with BOM (Excel opens it as UTF-8); a header of field names and one of labels."""
    columns = _export_columns(result)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([key for key, _ in columns])
    writer.writerow([label for _, label in columns])
    for row in _export_rows(result):
        writer.writerow(["" if row.get(key) is None else row.get(key) for key, _ in columns])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def to_xlsx(result: StatsResult) -> bytes:
    import xlsxwriter

    columns = _export_columns(result)
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_numbers": False})
    sheet = book.add_worksheet("统计")
    bold = book.add_format({"bold": True})
    for col, (key, label) in enumerate(columns):
        sheet.write_string(0, col, label, bold)
        sheet.write_string(1, col, key)
        sheet.set_column(col, col, max(12, len(label) * 2))
    for r, row in enumerate(_export_rows(result), start=2):
        for col, (key, _) in enumerate(columns):
            value = row.get(key)
            if value is None:
                continue
            if isinstance(value, int) and not isinstance(value, bool):
                sheet.write_number(r, col, value)  # counts and fen: integers, exact below 2^53
            else:
                sheet.write_string(r, col, str(value))
    sheet.freeze_panes(2, 0)
    book.close()
    return buffer.getvalue()
