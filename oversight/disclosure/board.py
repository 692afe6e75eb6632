"""The income board of a region: one GROUP BY over the rent items of every village under it
(by village, year, and month of the current year), then, on a village's own board, one query
over its leases in force. Towns and counties are the sums of their villages."""

from __future__ import annotations

from datetime import date
from typing import Any, Final

from sqlalchemy import ColumnElement, and_, case, extract, func, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from auction.models import Deal
from contracts.models import Contract, RentItem
from core.accounts import Region, User
from core.errors import InvalidInput, NotFound
from core.ids import mask_name
from core.money import format_percent
from listings import Listing, economics
from listings.schemas import CATEGORY_NAMES_ZH
from oversight.disclosure import rules, schemas
from oversight.disclosure.rules import Sums, Tally

#: Item states of a signed lease (pending: unsigned; void: the contract was voided).
COUNTED: Final = ("open", "paid", "settled", "waived")
LEVEL_NAMES_ZH: Final = {
    "province": "省",
    "city": "市",
    "county": "县（区）",
    "town": "乡镇",
    "village": "村",
}


class _Money:
    """The SQL of the sums (rules module docstring) as of `today`."""

    def __init__(self, today: date) -> None:
        received = RentItem.credited_fen + RentItem.paid_fen
        owing = RentItem.amount_fen - received
        waived = RentItem.state == "waived"
        self.fallen = RentItem.due_date <= today
        self.due = func.sum(
            case((self.fallen, case((waived, received), else_=RentItem.amount_fen)), else_=0)
        )
        self.received = func.sum(case((self.fallen, received), else_=0))
        self.arrears = func.sum(
            case(
                (and_(RentItem.state == "open", RentItem.due_date < today, owing > 0), owing),
                else_=0,
            )
        )
        self.waived = func.sum(case((and_(self.fallen, waived), owing), else_=0))


def _inside(path: str) -> ColumnElement[bool]:
    return or_(Region.path == path, Region.path.startswith(path + "/", autoescape=True))


def region_path(raw: str | None) -> str:
    """The `region` parameter checked: a "/"-separated path of names."""
    path = (raw or "").strip().strip("/")
    if not path or len(path) > 512 or any(not part.strip() for part in path.split("/")):
        raise InvalidInput("disclosure.region", "请指定地区路径，如“福建省/泉州市/惠安县”")
    return path


async def county_paths(session: AsyncSession) -> list[tuple[str, str]]:
    """(path, name) of every county, for the board's index page."""
    rows = await session.execute(
        select(Region.path, Region.name).where(Region.level == "county").order_by(Region.path)
    )
    return [(p, n) for p, n in rows]


async def board(session: AsyncSession, path: str, today: date) -> schemas.Disclosure:
    region = await session.scalar(select(Region).where(Region.path == path))
    if region is None:
        raise NotFound("disclosure.region_not_found", "未找到该地区")
    villages = {
        r.path: r
        for r in await session.scalars(
            select(Region).where(Region.level == "village", _inside(path)).order_by(Region.path)
        )
    }
    tallies = await _tallies(session, [r.id for r in villages.values()], today)
    by_village = {p: tallies.get(r.id, Tally()) for p, r in villages.items()}
    town_of = {p: rules.parent(p) for p in villages}
    towns = rules.rollup(by_village, town_of)
    counties = rules.rollup(towns, {t: rules.parent(t) for t in towns})
    names = await _names(session, [*towns, *counties])
    whole = Tally()
    for tally in by_village.values():
        whole.add(tally)
    leases = await _leases(session, region.id, today) if region.level == "village" else None
    return schemas.Disclosure(
        region=_region(region.path, region.name, region.level, whole, today),
        as_of=today,
        current_year=today.year,
        villages=[
            schemas.VillageBoard(
                **_fields(p, r.name, "village", by_village[p], today),
                leases=leases if p == region.path else None,
            )
            for p, r in villages.items()
        ],
        towns=[_region(p, *names.get(p, (p, "town")), t, today) for p, t in sorted(towns.items())],
        counties=[
            _region(p, *names.get(p, (p, "county")), t, today) for p, t in sorted(counties.items())
        ],
    )


async def _tallies(session: AsyncSession, village_ids: list[int], today: date) -> dict[int, Tally]:
    """Each village's tally: one GROUP BY (village, year, month of the current year) over the
    items fallen due. Rent is paid in advance (`RentItem` checks due_date <= period_start),
    so the item covering today has fallen due too; the items due later add nothing."""
    year: Any
    month_of: Any
    if session.get_bind().dialect.name == "postgresql":
        # ~10^4 groups from ~10^6 items: hashed in memory, not sorted in temporary files;
        # date_part (a double) groups faster than EXTRACT's numeric.
        await session.execute(text("SET LOCAL work_mem = '64MB'"))
        year, month_of = (func.date_part(f, RentItem.due_date) for f in ("year", "month"))
    else:
        year, month_of = (extract(f, RentItem.due_date) for f in ("year", "month"))
    month = case((RentItem.due_date >= date(today.year, 1, 1), month_of), else_=0)
    # The _Money sums with `fallen` true on every row read (a narrow range of the covering
    # due-date index, index-only on PostgreSQL).
    received = RentItem.credited_fen + RentItem.paid_fen
    owing = RentItem.amount_fen - received
    waived = RentItem.state == "waived"
    late = and_(RentItem.state == "open", RentItem.due_date < today, owing > 0)
    covering = and_(RentItem.period_start <= today, RentItem.period_end >= today)
    query = (
        select(
            Contract.village_id,
            year,
            month,
            func.sum(case((waived, received), else_=RentItem.amount_fen)),
            func.sum(received),
            func.sum(case((late, owing), else_=0)),
            func.sum(case((waived, owing), else_=0)),
            func.sum(case((covering, 1), else_=0)),
        )
        .join(Contract, Contract.id == RentItem.contract_id)
        .where(
            Contract.village_id.in_(village_ids),
            RentItem.state.in_(COUNTED),
            RentItem.due_date <= today,
        )
        .group_by(Contract.village_id, year, month)
    )
    out: dict[int, Tally] = {}
    rows: Any = await session.execute(query)
    for village_id, y, m, due, received, arrears, waived, covering in rows:
        tally = out.setdefault(village_id, Tally())
        # Each lease has one item covering today (the items tile the term).
        tally.leases_in_force += int(covering or 0)
        sums = Sums(int(due or 0), int(received or 0), int(arrears or 0), int(waived or 0))
        if not (sums.due_fen or sums.received_fen or sums.arrears_fen or sums.waived_fen):
            continue  # nothing fell due (a zero amount)
        tally.years.setdefault(int(y), Sums()).add(sums)
        if int(m or 0):
            tally.months.setdefault(int(m), Sums()).add(sums)
    return out


async def _leases(
    session: AsyncSession, village_id: int, today: date
) -> list[schemas.LeaseInForce]:
    """The village's leases in force on `today`, with their own sums."""
    money = _Money(today)
    per_contract = (
        select(
            RentItem.contract_id.label("contract_id"),
            func.min(RentItem.period_start).label("start"),
            func.max(RentItem.period_end).label("end"),
            money.due.label("due"),
            money.received.label("received"),
            money.arrears.label("arrears"),
        )
        .where(
            RentItem.state.in_(COUNTED),
            RentItem.contract_id.in_(select(Contract.id).where(Contract.village_id == village_id)),
        )
        .group_by(RentItem.contract_id)
        .subquery()
    )
    rows: Any = await session.execute(
        select(
            Contract.listing_id,
            Listing.title,
            Listing.category,
            Listing.terms,
            Deal.listing_fen,
            Deal.final_fen,
            User.display_name,
            per_contract.c.start,
            per_contract.c.end,
            per_contract.c.due,
            per_contract.c.received,
            per_contract.c.arrears,
        )
        .join(per_contract, per_contract.c.contract_id == Contract.id)
        .join(Listing, Listing.id == Contract.listing_id)
        .join(Deal, Deal.listing_id == Contract.listing_id)
        .join(User, User.id == Contract.winner_id)
        .where(per_contract.c.start <= today, per_contract.c.end >= today)
        .order_by(per_contract.c.start, Contract.listing_id)
    )
    out = []
    for listing_id, title, category, terms, listing_fen, final_fen, name, *rest in rows:
        start, end, due, received, arrears = rest
        rents = rules.yearly_rents(terms, final_fen)
        year = rules.lease_year(start, today)
        out.append(
            schemas.LeaseInForce(
                listing_id=listing_id,
                asset=title,
                category=category,
                category_name=CATEGORY_NAMES_ZH.get(category, category),
                lessee=mask_name(name),
                lease_start=start,
                lease_end=end,
                term_years=terms.term_years,
                term_months=terms.term_months,
                lease_year=year,
                yearly_rent_fen=rules.rent_in_year(rents, year),
                first_year_rent_fen=rents[0],
                premium_rate=format_percent(economics.premium_rate(listing_fen, final_fen)),
                due_fen=int(due or 0),
                received_fen=int(received or 0),
                arrears_fen=int(arrears or 0),
            )
        )
    return out


async def _names(session: AsyncSession, paths: list[str]) -> dict[str, tuple[str, str]]:
    if not paths:
        return {}
    rows = await session.execute(
        select(Region.path, Region.name, Region.level).where(Region.path.in_(paths))
    )
    return {p: (n, level) for p, n, level in rows}


def _fields(path: str, name: str, level: str, tally: Tally, today: date) -> dict[str, Any]:
    total = tally.total()
    zero = Sums()
    income = schemas.Income(
        leases_in_force=tally.leases_in_force,
        due_fen=total.due_fen,
        received_fen=total.received_fen,
        arrears_fen=total.arrears_fen,
        waived_fen=total.waived_fen,
        collection_rate=total.collection_rate(),
        by_year=[schemas.YearIncome(year=y, **_sums(tally.years[y])) for y in sorted(tally.years)],
        by_month=[
            schemas.MonthIncome(
                month=f"{today.year:04d}-{m:02d}", **_sums(tally.months.get(m, zero))
            )
            for m in range(1, today.month + 1)
        ],
    )
    return {"path": path, "name": name, "level": level, "income": income}


def _region(path: str, name: str, level: str, tally: Tally, today: date) -> schemas.RegionIncome:
    return schemas.RegionIncome(**_fields(path, name, level, tally, today))


def _sums(sums: Sums) -> dict[str, int]:
    return {
        "due_fen": sums.due_fen,
        "received_fen": sums.received_fen,
        "arrears_fen": sums.arrears_fen,
        "waived_fen": sums.waived_fen,
    }
