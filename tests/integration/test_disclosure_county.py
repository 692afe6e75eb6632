"""The income board over a generated county (`ruralx demo`'s leases and payment histories)
equals a brute-force recomputation from the rent items with `contracts.receivables.owed`,
village by village, to the fen; towns and the county are the sums of their villages
(SQLite and PostgreSQL)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from contracts.models import Contract, RentItem, RentPayment
from contracts.receivables import Status, owed
from core.accounts import Region, User
from core.db import Database
from core.ids import mask_name
from oversight.demo.county import COUNTY
from oversight.demo.generator import populate
from oversight.disclosure import board

NOW = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
TODAY = date(2026, 12, 1)


@pytest.fixture
async def county(database_url: str) -> AsyncIterator[Database]:
    db = Database(database_url)
    try:
        summary = await populate(db, 400, seed=11, now=NOW)
        assert summary["leases_signed"] > 200 and summary["rent_payments"] > 500
        yield db
    finally:
        await db.dispose()


async def brute_force(db: Database) -> dict[str, dict[str, Any]]:
    """Per village path: in force, due/received/arrears/waived by year and in all."""
    async with db.read() as session:
        contracts = {c.id: c for c in await session.scalars(select(Contract))}
        regions = {r.id: r.path for r in await session.scalars(select(Region))}
        items = list(await session.scalars(select(RentItem)))
        paid = dict(
            (
                await session.execute(
                    select(RentPayment.rent_item_id, func.sum(RentPayment.amount_fen)).group_by(
                        RentPayment.rent_item_id
                    )
                )
            ).all()
        )
    out: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"in_force": set(), "years": defaultdict(lambda: [0, 0, 0, 0])}
    )
    for item in items:
        assert item.paid_fen == int(paid.get(item.id, 0))  # kept in step with the payments
        if item.state in ("pending", "void"):
            continue
        village = out[regions[contracts[item.contract_id].village_id]]
        if item.period_start <= TODAY <= item.period_end:
            village["in_force"].add(item.contract_id)
        if item.due_date > TODAY:
            continue
        money = owed(
            state=item.state,
            due=item.due_date,
            amount_fen=item.amount_fen,
            credited_fen=item.credited_fen,
            paid_fen=item.paid_fen,
            today=TODAY,
        )
        received = item.credited_fen + item.paid_fen
        sums = village["years"][item.due_date.year]
        sums[0] += received if item.state == "waived" else item.amount_fen
        sums[1] += received
        sums[2] += money.outstanding_fen if money.status is Status.OVERDUE else 0
        sums[3] += item.amount_fen - received if item.state == "waived" else 0
    return out


async def test_the_county_board_equals_a_brute_force_recomputation(county: Database) -> None:
    expected = await brute_force(county)
    async with county.read() as session:
        found = await board(session, COUNTY, TODAY)
    assert len(found.villages) == 300 and len(found.towns) == 15
    assert [c.path for c in found.counties] == [COUNTY]
    shapes = {"arrears": 0, "waived": 0, "late_or_partial": 0}
    for village in found.villages:
        want = expected.get(village.path, {"in_force": set(), "years": {}})
        income = village.income
        assert village.leases is None
        assert income.leases_in_force == len(want["in_force"])
        got = {
            y.year: [y.due_fen, y.received_fen, y.arrears_fen, y.waived_fen] for y in income.by_year
        }
        assert got == {y: s for y, s in want["years"].items() if any(s)}, village.path
        assert income.due_fen == sum(s[0] for s in got.values())
        assert sum(m.due_fen for m in income.by_month) == got.get(2026, [0])[0]
        shapes["arrears"] += income.arrears_fen > 0
        shapes["waived"] += income.waived_fen > 0
        shapes["late_or_partial"] += 0 < income.received_fen < income.due_fen
    # The demo's histories have shape: arrears in many villages, some waivers.
    assert shapes["arrears"] > 30 and shapes["late_or_partial"] > 30, shapes
    for field in ("due_fen", "received_fen", "arrears_fen", "waived_fen", "leases_in_force"):
        total = sum(getattr(v.income, field) for v in found.villages)
        assert getattr(found.region.income, field) == total
        assert sum(getattr(t.income, field) for t in found.towns) == total
        assert getattr(found.counties[0].income, field) == total

    # A village's own board lists its leases in force, each lessee masked.
    busiest = max(found.villages, key=lambda v: v.income.leases_in_force)
    async with county.read() as session:
        mine = await board(session, busiest.path, TODAY)
        names = {u.id: u.display_name for u in await session.scalars(select(User))}
        contracts = {
            c.listing_id: c
            for c in await session.scalars(select(Contract).where(Contract.state == "signed"))
        }
    (village,) = mine.villages
    assert village.income == busiest.income
    assert village.leases is not None and len(village.leases) == busiest.income.leases_in_force
    for lease in village.leases:
        contract = contracts[lease.listing_id]
        assert lease.lease_start == contract.lease_start <= TODAY <= lease.lease_end
        assert lease.lessee == mask_name(names[contract.winner_id])
        assert lease.lessee != names[contract.winner_id]
        assert lease.yearly_rent_fen >= lease.first_year_rent_fen > 0
    assert sum(lease.arrears_fen for lease in village.leases) <= village.income.arrears_fen
