"""The regulator dashboard's figures, each one GROUP BY in the database: the collection rate and
arrears by village over the rent items, the premium-rate distribution and deals by month over
`listing_facts`. The filters are the statistics' (`query.filters`); the period selects rent
items by due date and deals by deal date (docs/oversight.md, "The dashboard")."""

from __future__ import annotations

from datetime import date
from typing import Any, Final

from sqlalchemy import Integer, and_, case, cast, extract, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.models import RentItem
from core.money import format_percent
from oversight.models import ListingFact
from oversight.stats.bands import (
    BANDS,
    collection_rate,
    month_label,
    months_between,
)
from oversight.stats.query import StatsQuery, conditions
from oversight.stats.shaping import region_labels

#: Items that are receivables: not `pending` (unsigned), `void` or `waived` (owes nothing).
RECEIVABLE: Final = ("open", "paid", "settled")


def _percent(received: int, due: int) -> str | None:
    rate = collection_rate(received, due)
    return format_percent(rate) if rate is not None else None


async def collection(
    session: AsyncSession, query: StatsQuery, jurisdiction: str | None, today: date
) -> dict[str, Any]:
    """Received ÷ due over the items due up to `today`, and the arrears (what overdue items
    still owe, as `contracts.receivables.owed` counts it), per village and in total."""
    if session.get_bind().dialect.name == "postgresql":
        # Aggregating ~10^6 rent items per lease: hashed in memory, not sorted on disk.
        await session.execute(text("SET LOCAL work_mem = '64MB'"))
    credit = RentItem.credited_fen + RentItem.paid_fen
    # An item counts at most its amount, so received + outstanding = due for every village.
    received = case((credit > RentItem.amount_fen, RentItem.amount_fen), else_=credit)
    outstanding = RentItem.amount_fen - received
    late = and_(RentItem.due_date < today, outstanding > 0)
    # Two levels: per lease over the rent items alone (a narrow scan by due date), then the
    # leases joined to their facts per village — a tenth of the rows reach the join, and the
    # leases are counted without COUNT(DISTINCT).
    period = conditions(StatsQuery((), query.date_from, query.date_to), None, RentItem.due_date)
    per_lease = (
        select(
            RentItem.listing_id.label("listing_id"),
            func.sum(RentItem.amount_fen).label("due"),
            func.sum(received).label("received"),
            func.sum(case((late, outstanding), else_=0)).label("arrears"),
            func.sum(case((late, 1), else_=0)).label("late_items"),
            func.min(case((late, RentItem.due_date))).label("oldest"),
        )
        .where(RentItem.state.in_(RECEIVABLE), RentItem.due_date <= today, *period)
        .group_by(RentItem.listing_id)
        .subquery()
    )
    places = StatsQuery((), None, None, query.region, query.category)
    statement = (
        select(
            ListingFact.village_id,
            func.count(),
            func.sum(per_lease.c.due),
            func.sum(per_lease.c.received),
            func.sum(per_lease.c.arrears),
            func.sum(per_lease.c.late_items),
            func.min(per_lease.c.oldest),
        )
        .join(ListingFact, ListingFact.listing_id == per_lease.c.listing_id)
        .where(*conditions(places, jurisdiction))
        .group_by(ListingFact.village_id)
    )
    found = list(await session.execute(statement))
    labels = await region_labels(session, ("village",), [(row[0],) for row in found])
    villages: list[dict[str, Any]] = []
    totals = {"leases": 0, "due_fen": 0, "received_fen": 0, "arrears_fen": 0, "overdue_items": 0}
    for village_id, leases, due, got, arrears, items, oldest in found:
        region = labels.get(village_id)
        row = {
            "village_id": village_id,
            "village": region.name if region else None,
            "village_path": region.path if region else None,
            "leases": int(leases),
            "due_fen": int(due or 0),
            "received_fen": int(got or 0),
            "arrears_fen": int(arrears or 0),
            "overdue_items": int(items or 0),
        }
        for key in totals:
            totals[key] += row[key]
        row["outstanding_fen"] = row["due_fen"] - row["received_fen"]
        row["collection_rate"] = _percent(row["received_fen"], row["due_fen"])
        row["days_overdue_max"] = (today - _day(oldest)).days if oldest is not None else 0
        villages.append(row)
    villages.sort(key=lambda r: (-r["arrears_fen"], r["village_path"] or ""))
    return {
        "today": today.isoformat(),
        **totals,
        "outstanding_fen": totals["due_fen"] - totals["received_fen"],
        "collection_rate": _percent(totals["received_fen"], totals["due_fen"]),
        "villages_in_arrears": sum(1 for r in villages if r["arrears_fen"]),
        "villages": villages,
    }


def _day(value: date | str) -> date:
    # MIN over a CASE comes back as text on SQLite.
    return value if isinstance(value, date) else date.fromisoformat(value)


async def _rows(session: AsyncSession, statement: Any) -> list[Any]:
    return list(await session.execute(statement))


def band_expression(
    listing: Any = ListingFact.listing_fen, final: Any = ListingFact.final_fen
) -> Any:
    """The band code of a deal in SQL: exact integer comparisons of (final − listing) · 100
    with listing · bound, the same bands as `bands.band_of`."""
    diff = final - listing
    whens: list[tuple[Any, str]] = [(diff < 0, "below"), (diff == 0, "zero")]
    for band in BANDS[2:]:
        if band.high is not None:
            whens.append((diff * 100 <= listing * band.high, band.code))
    return case(*whens, else_=BANDS[-1].code)


async def premium_distribution(
    session: AsyncSession, query: StatsQuery, jurisdiction: str | None
) -> dict[str, Any]:
    """The deals of the period (by deal date) counted per premium-rate band."""
    sold = (
        select(
            band_expression().label("band"),
            ListingFact.deal_total_fen,
            ListingFact.premium_over_term_fen,
        )
        .where(
            ListingFact.is_sold == 1,
            *conditions(query, jurisdiction, ListingFact.decided_on),
        )
        .subquery()
    )
    # Grouped over a subquery: PostgreSQL would not match a repeated CASE with new parameters.
    statement = select(
        sold.c.band,
        func.count(),
        func.sum(sold.c.deal_total_fen),
        func.sum(sold.c.premium_over_term_fen),
    ).group_by(sold.c.band)
    found = {
        band: (int(n), int(total or 0), int(over or 0))
        for band, n, total, over in await _rows(session, statement)
    }
    deals = sum(n for n, _, _ in found.values())
    bands = []
    for band in BANDS:
        n, total, over = found.get(band.code, (0, 0, 0))
        bands.append(
            {
                "band": band.code,
                "name": band.name,
                "low_percent": band.low,
                "high_percent": band.high,
                "deals": n,
                "share": _percent(n, deals),
                "deal_total_fen": total,
                "premium_over_term_fen": over,
            }
        )
    return {"deals": deals, "bands": bands}


async def deals_by_month(
    session: AsyncSession, query: StatsQuery, jurisdiction: str | None
) -> dict[str, Any]:
    """Deals per month of the deal date (Beijing); months without a deal between the first
    and the last are listed with zeros, so the bars keep the calendar's shape."""
    month = cast(extract("year", ListingFact.decided_on), Integer) * 100 + cast(
        extract("month", ListingFact.decided_on), Integer
    )
    sold = (
        select(
            month.label("month"),
            ListingFact.deal_total_fen,
            ListingFact.premium_over_term_fen,
        )
        .where(
            ListingFact.is_sold == 1,
            ListingFact.decided_on.is_not(None),
            *conditions(query, jurisdiction, ListingFact.decided_on),
        )
        .subquery()
    )
    statement = select(
        sold.c.month,
        func.count(),
        func.sum(sold.c.deal_total_fen),
        func.sum(sold.c.premium_over_term_fen),
    ).group_by(sold.c.month)
    found = {
        int(m): (int(n), int(t or 0), int(o or 0)) for m, n, t, o in await _rows(session, statement)
    }
    months = months_between(min(found), max(found)) if found else []
    rows = []
    totals = {"deals": 0, "deal_total_fen": 0, "premium_over_term_fen": 0}
    for m in months:
        n, total, over = found.get(m, (0, 0, 0))
        row: dict[str, Any] = {
            "month": month_label(m),
            "deals": n,
            "deal_total_fen": total,
            "premium_over_term_fen": over,
        }
        for key in totals:
            totals[key] += row[key]
        rows.append(row)
    return {"months": rows, "totals": totals}
