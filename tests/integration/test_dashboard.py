"""The regulator dashboard's figures (oversight.stats.dashboard) against hand calculations, on
SQLite and PostgreSQL: collection rate, arrears by village, the premium-rate distribution and
deals by month, through the API and on the page, with the filters applied to each.

The leases are written directly (listing, deal, contract, rent items in the states a payment
leaves them in); the facts come from the oversight job's own `refresh_facts`. Today is
Tuesday 2026-12-01 in Beijing (the exchange's clock).

| lease | village (town) | category | final (listing 12,000 yuan/yr) | deal date |
|---|---|---|---|---|
| L1 | 杏田村 (洛阳镇) | 集体经营性资产 | 24,000 (100 %) | 2025-03-10 |
| L2 | 后坑村 (洛阳镇) | 土地经营权 | 12,000 (0 %) | 2026-06-15 |
| L3 | 玉埕村 (张坂镇) | 集体经营性资产 | 13,200 (10 %) | 2026-06-20 |
| L4 | 玉埕村 (张坂镇) | 集体经营性资产 | 12,010 (0.08 %) | 2026-11-20 (unsigned) |
| L6 | 杏田村 (洛阳镇) | 集体经营性资产 | 30,000 (150 %) | 2026-06-05 (no items yet) |
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import msgspec
from sqlalchemy import BigInteger, literal, select, union_all

from auction.models import Deal
from contracts.models import Contract, RentItem
from contracts.receivables import Status, owed
from core.accounts import User, ensure_region
from core.db import Database
from listings import Listing, Registration
from listings.schemas import Terms
from oversight.stats import listing_facts
from oversight.stats.bands import band_of
from oversight.stats.dashboard import band_expression
from tests.integration.conftest import Exchange
from tests.integration.test_pages import Browser
from tests.support import SEED_TERMS, XINGTIAN

LUOYANG = XINGTIAN.rsplit("/", 2)[0] + "/洛阳镇"
HOUKENG = LUOYANG + "/后坑村"
ZHANGBAN = XINGTIAN.rsplit("/", 2)[0] + "/张坂镇"
YUCHENG = ZHANGBAN + "/玉埕村"
ASSETS, LAND = "collective_operating_assets", "land_management_rights"
LISTING_FEN = SEED_TERMS["listing_price_fen"]  # 1,200,000 a year, ten years, annual rent


async def lease(
    db: Database,
    n: int,
    *,
    village: str,
    category: str,
    final_fen: int,
    decided: date,
    contract: str | None = "signed",
    items: Sequence[tuple[str, date, int, int, int]] = (),
) -> int:
    """A sold listing with its deal, and (with `contract`) its contract and rent items
    (state, due date, amount, credited, paid)."""
    at = datetime(decided.year, decided.month, decided.day, 2, 0, tzinfo=UTC)
    async with db.write() as session:
        region = await ensure_region(session, village)
        winner = User(
            username=f"lessee-{n}",
            role="bidder",
            display_name="承租人",
            password_hash="!",
            active=False,
            id_type="resident_id",
            created_at=at,
        )
        session.add(winner)
        await session.flush()
        listing = Listing(
            village_id=region.id,
            created_by=winner.id,
            title=f"测试租赁 {n}",
            category=category,
            location="测试",
            description="",
            terms=msgspec.convert(SEED_TERMS, Terms),
            state="sold",
            announced_at=at - timedelta(days=20),
            registration_closes_at=at - timedelta(days=2),
            auction_starts_at=at - timedelta(days=1),
            outcome="auction",
            created_at=at - timedelta(days=25),
            updated_at=at,
        )
        session.add(listing)
        await session.flush()
        registration = Registration(
            listing_id=listing.id,
            bidder_id=winner.id,
            state="qualified",
            deposit_fen=200_000,
            deposit_state="credited_to_rent",
            payment_reference=f"DASH{n:08d}",
            bidder_number="001",
            created_at=at - timedelta(days=5),
        )
        session.add(registration)
        await session.flush()
        session.add(
            Deal(
                listing_id=listing.id,
                kind="auction",
                registration_id=registration.id,
                winner_number="001",
                listing_fen=LISTING_FEN,
                final_fen=final_fen,
                rounds=1,
                decided_at=at,
                state="confirmed",
            )
        )
        if contract is not None:
            row = Contract(
                listing_id=listing.id,
                number=f"HT-DASH-{n}",
                state=contract,
                village_id=region.id,
                winner_id=winner.id,
                registration_id=registration.id,
                data={},
                template_version="1",
                lease_start=decided + timedelta(days=10),
                sign_deadline=at + timedelta(days=10),
                render_at=at,
                drafted_at=at,
                updated_at=at,
            )
            session.add(row)
            await session.flush()
            for number, (state, due, amount, credited, paid) in enumerate(items, start=1):
                session.add(
                    RentItem(
                        contract_id=row.id,
                        listing_id=listing.id,
                        number=number,
                        period_start=due,
                        period_end=due + timedelta(days=364),
                        due_date=due,
                        amount_fen=amount,
                        credited_fen=credited,
                        paid_fen=paid,
                        state=state,
                    )
                )
        await session.flush()
        await listing_facts.refresh_facts(session, [listing.id], at)
        return listing.id


async def leases(exchange: Exchange) -> None:
    db = exchange.services.db
    await lease(
        db,
        1,
        village=XINGTIAN,
        category=ASSETS,
        final_fen=2_400_000,
        decided=date(2025, 3, 10),
        items=[
            ("paid", date(2025, 3, 20), 2_400_000, 200_000, 2_200_000),
            ("open", date(2026, 3, 20), 2_400_000, 0, 1_000_000),  # partly paid, late
            ("open", date(2027, 3, 20), 2_400_000, 0, 0),  # not due yet
        ],
    )
    await lease(
        db,
        2,
        village=HOUKENG,
        category=LAND,
        final_fen=1_200_000,
        decided=date(2026, 6, 15),
        items=[
            ("paid", date(2026, 6, 30), 1_200_000, 200_000, 1_100_000),  # 1,000 yuan too much
            ("open", date(2026, 12, 1), 1_200_000, 0, 0),  # due today: due, not late
        ],
    )
    await lease(
        db,
        3,
        village=YUCHENG,
        category=ASSETS,
        final_fen=1_320_000,
        decided=date(2026, 6, 20),
        items=[
            ("open", date(2026, 7, 1), 1_320_000, 200_000, 0),  # late: only the deposit
            ("waived", date(2026, 8, 1), 50_000, 0, 0),  # waived: owes nothing, not counted
        ],
    )
    await lease(
        db,
        4,
        village=YUCHENG,
        category=ASSETS,
        final_fen=1_201_000,
        decided=date(2026, 11, 20),
        contract="drafted",
        items=[("pending", date(2026, 11, 25), 1_201_000, 200_000, 0)],  # unsigned
    )
    await lease(
        db, 6, village=XINGTIAN, category=ASSETS, final_fen=3_000_000, decided=date(2026, 6, 5)
    )


def part(row: dict[str, Any], expected: dict[str, Any]) -> dict[str, Any]:
    """The row's values for the keys the expectation names."""
    return {key: row.get(key) for key in expected}


def by_village(answer: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {v["village"]: v for v in answer["villages"]}


async def test_collection_rate_and_arrears_by_village(exchange: Exchange) -> None:
    await leases(exchange)
    regulator = await exchange.http.login("regulator")
    got = await regulator.ok("GET", "/api/v1/stats/collection")
    # Due up to today (open, paid, settled): L1 #1 24,000 + #2 24,000, L2 #1 12,000 + #2
    # 12,000 (due today), L3 #1 13,200 = 85,200 yuan. Received: 24,000 + 10,000 + 12,000
    # (13,000 paid, counted up to its amount) + 0 + 2,000 (deposit) = 48,000 yuan.
    assert got["today"] == "2026-12-01"
    assert (got["due_fen"], got["received_fen"]) == (8_520_000, 4_800_000)
    assert got["outstanding_fen"] == 3_720_000
    assert got["collection_rate"] == "56.34"  # 48,000 / 85,200 = 0.563380…
    # Arrears: L1 #2 owes 14,000, L3 #1 owes 11,200; L2 #2 is due today, not late.
    assert (got["arrears_fen"], got["overdue_items"], got["leases"]) == (2_520_000, 2, 3)
    assert got["villages_in_arrears"] == 2
    assert [v["village"] for v in got["villages"]] == ["杏田村", "玉埕村", "后坑村"]
    villages = by_village(got)
    expected: dict[str, Any] = {
        "village_path": XINGTIAN,
        "leases": 1,
        "due_fen": 4_800_000,
        "received_fen": 3_400_000,
        "outstanding_fen": 1_400_000,
        "collection_rate": "70.83",  # 34,000 / 48,000
        "arrears_fen": 1_400_000,
        "overdue_items": 1,
        "days_overdue_max": 256,  # 2026-03-20 → 2026-12-01
    }
    assert part(villages["杏田村"], expected) == expected
    assert (villages["玉埕村"]["arrears_fen"], villages["玉埕村"]["days_overdue_max"]) == (
        1_120_000,
        153,  # 2026-07-01 → 2026-12-01
    )
    assert villages["玉埕村"]["collection_rate"] == "15.15"  # 2,000 / 13,200
    expected = {
        "due_fen": 2_400_000,
        "received_fen": 1_200_000,
        "collection_rate": "50.00",
        "arrears_fen": 0,
        "days_overdue_max": 0,
    }
    assert part(villages["后坑村"], expected) == expected

    # The arrears are what contracts.receivables.owed says overdue items owe.
    async with exchange.services.db.read() as session:
        items = list(await session.scalars(select(RentItem)))
    overdue = [
        owed(
            state=i.state,
            due=i.due_date,
            amount_fen=i.amount_fen,
            credited_fen=i.credited_fen,
            paid_fen=i.paid_fen,
            today=date(2026, 12, 1),
        )
        for i in items
    ]
    late = [o for o in overdue if o.status is Status.OVERDUE]
    assert sum(o.outstanding_fen for o in late) == got["arrears_fen"]
    assert len(late) == got["overdue_items"]

    # Filters: a town, a category, a period of due dates.
    town = await regulator.ok("GET", "/api/v1/stats/collection", params={"region": ZHANGBAN})
    assert (town["due_fen"], town["received_fen"], town["collection_rate"]) == (
        1_320_000,
        200_000,
        "15.15",
    )
    assert [v["village"] for v in town["villages"]] == ["玉埕村"]
    assert town["filters"] == {"from": None, "to": None, "region": ZHANGBAN, "category": None}
    land = await regulator.ok("GET", "/api/v1/stats/collection", params={"category": LAND})
    assert (land["due_fen"], land["collection_rate"], land["arrears_fen"]) == (
        2_400_000,
        "50.00",
        0,
    )
    half = await regulator.ok(
        "GET", "/api/v1/stats/collection", params={"from": "2026-01-01", "to": "2026-06-30"}
    )
    # Due in the first half of 2026: L1 #2 (24,000, 10,000 received) and L2 #1 (12,000).
    assert (half["due_fen"], half["received_fen"], half["collection_rate"]) == (
        3_600_000,
        2_200_000,
        "61.11",
    )
    assert half["arrears_fen"] == 1_400_000
    nothing = await regulator.ok("GET", "/api/v1/stats/collection", params={"region": "江苏省"})
    assert nothing["collection_rate"] is None and nothing["villages"] == []

    # Bad filters answer problems, not errors; only regulators and admins may ask.
    bad = await regulator.call("GET", "/api/v1/stats/collection", params={"category": "gold"})
    assert bad.status_code == 400 and bad.json()["code"] == "stats.category"
    bad = await regulator.call(
        "GET", "/api/v1/stats/collection", params={"from": "2026-07-01", "to": "2026-06-01"}
    )
    assert bad.status_code == 400 and bad.json()["code"] == "stats.period"
    village = await exchange.http.login("xingtian")
    assert (await village.call("GET", "/api/v1/stats/collection")).status_code == 403


async def test_premium_distribution_and_deals_by_month(exchange: Exchange) -> None:
    await leases(exchange)
    regulator = await exchange.http.login("regulator")
    got = await regulator.ok("GET", "/api/v1/stats/premium-distribution")
    counts = {b["band"]: b["deals"] for b in got["bands"]}
    # L2 0 %; L3 exactly 10 % and L4 0.08 % in 0–10 %; L1 exactly 100 % in 50–100 %; L6 150 %.
    assert counts == {"below": 0, "zero": 1, "0-10": 2, "10-50": 0, "50-100": 1, "100+": 1}
    assert got["deals"] == 5
    shares = {b["band"]: b["share"] for b in got["bands"]}
    assert shares == {
        "below": "0.00",
        "zero": "20.00",
        "0-10": "40.00",
        "10-50": "0.00",
        "50-100": "20.00",
        "100+": "20.00",
    }
    totals = {b["band"]: b["deal_total_fen"] for b in got["bands"]}
    assert totals["0-10"] == (1_320_000 + 1_201_000) * 10  # ten years of yearly rent
    over = {b["band"]: b["premium_over_term_fen"] for b in got["bands"]}
    assert over["100+"] == (3_000_000 - LISTING_FEN) * 10

    june = {"from": "2026-06-01", "to": "2026-06-30"}
    in_june = await regulator.ok("GET", "/api/v1/stats/premium-distribution", params=june)
    assert {b["band"]: b["deals"] for b in in_june["bands"] if b["deals"]} == {
        "zero": 1,
        "0-10": 1,
        "100+": 1,
    }
    luoyang = await regulator.ok(
        "GET", "/api/v1/stats/premium-distribution", params={"region": LUOYANG}
    )
    assert {b["band"]: b["deals"] for b in luoyang["bands"] if b["deals"]} == {
        "zero": 1,
        "50-100": 1,
        "100+": 1,
    }

    monthly = await regulator.ok("GET", "/api/v1/stats/deals-by-month")
    months = {m["month"]: m for m in monthly["months"]}
    # Every month from the first deal (2025-03) to the last (2026-11), empty ones with zeros.
    keys = list(months)
    assert (keys[0], keys[-1], len(keys)) == ("2025-03", "2026-11", 21)
    assert {k: m["deals"] for k, m in months.items() if m["deals"]} == {
        "2025-03": 1,
        "2026-06": 3,
        "2026-11": 1,
    }
    assert months["2026-06"]["deal_total_fen"] == (1_200_000 + 1_320_000 + 3_000_000) * 10
    assert months["2026-06"]["premium_over_term_fen"] == (120_000 + 1_800_000) * 10
    assert months["2026-01"] == {
        "month": "2026-01",
        "deals": 0,
        "deal_total_fen": 0,
        "premium_over_term_fen": 0,
    }
    assert monthly["totals"]["deals"] == 5
    assets = await regulator.ok(
        "GET", "/api/v1/stats/deals-by-month", params={"category": ASSETS, **june}
    )
    assert [(m["month"], m["deals"]) for m in assets["months"]] == [("2026-06", 2)]


async def test_the_sql_bands_are_the_rules_bands(exchange: Exchange) -> None:
    """band_expression in the database agrees with bands.band_of, at and around every bound."""
    around = [f for bound in (1000, 1100, 1500, 2000) for f in range(bound - 3, bound + 4)]
    pairs = [(1000, f) for f in around] + [(30, 33), (3, 4), (7, 0), (1, 10**9), (1, 2)]
    rows = union_all(
        *[
            select(literal(a, BigInteger).label("listing"), literal(b, BigInteger).label("final"))
            for a, b in pairs
        ]
    ).subquery()
    statement = select(rows.c.listing, rows.c.final, band_expression(rows.c.listing, rows.c.final))
    async with exchange.services.db.read() as session:
        found = list(await session.execute(statement))
    assert len(found) == len(pairs)
    for listing, final, band in found:
        assert band == band_of(int(listing), int(final)), (listing, final)


async def test_the_dashboard_shows_the_charts_and_their_numbers(exchange: Exchange) -> None:
    await leases(exchange)
    regulator = Browser(exchange)
    await regulator.login("regulator")
    html = await regulator.get("/oversight")
    charts = re.findall(r'<svg class="chart"[^>]*role="img" aria-label="([^"]+)"', html)
    for title in ("按村的逾期欠缴金额", "成交项目按溢价率分档的宗数", "按成交月份的成交宗数"):
        assert title in charts
    assert 'data-testid="collection-rate">56.34 %<' in html
    assert 'data-testid="arrears">¥25,200.00<' in html
    assert "¥14,000.00" in html and "¥11,200.00" in html and "256 天" in html
    assert "2 宗（40.00 %）" in html  # the 0–10 % band's bar, and its table row below
    assert "0–10 %" in html and "100 % 以上" in html
    assert "3 宗 · ¥552,000.00" in html  # June 2026
    # No raw codes: the bands, categories and states are named in Chinese.
    text = re.sub(r"<[^>]+>", " ", html)
    for code in ("50-100", "100+", "collective_operating_assets", "land_management_rights"):
        assert code not in text, code
    # The filters apply to every figure on the page.
    html = await regulator.get(f"/oversight?region={ZHANGBAN}&category=&from=2026-06&to=2026-07")
    assert 'data-testid="collection-rate">15.15 %<' in html
    assert "¥11,200.00" in html and "¥14,000.00" not in html
    assert "1 宗（100.00 %）" in html  # L3, the only deal of 张坂镇 in June–July
    assert 'value="2026-06"' in html and f'value="{ZHANGBAN}" selected' in html
    html = await regulator.get("/oversight?from=2026-13", status=400)
    assert "年-月" in html
