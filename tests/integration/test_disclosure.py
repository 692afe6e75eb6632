"""The public income board (村务公开, docs/oversight.md "Income disclosure"): the reference
lease signed, then two years and a bit of rent — the first paid on time, the second late, the
third partly — and the board, its rollups, files and page agree with a hand calculation."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import UTC, date, datetime, timedelta
from urllib.parse import quote

from sqlalchemy import select

from contracts.models import Contract, RentItem, RentPayment
from core.accounts import User
from tests.integration.conftest import Exchange
from tests.integration.test_contracts import Sold, reach_deal
from tests.support import PASSWORD, XINGTIAN
from tests.unit.test_exports import read_csv, read_xlsx

TOWN = XINGTIAN.rsplit("/", 1)[0]
COUNTY = TOWN.rsplit("/", 1)[0]
# 2029-03-15 10:00 in Beijing: the lease (from 2027-02-01) is in its third year.
TODAY = datetime(2029, 3, 15, 2, 0, tzinfo=UTC)


async def signed_reference_lease(exchange: Exchange) -> Sold:
    sold = await reach_deal(exchange, bids=50)
    path = f"/api/v1/contracts/{sold.contract_id}"
    contract = await sold.village.ok("GET", path)
    await sold.village.ok(
        "POST", f"{path}/sign", {"password": PASSWORD, "sha256": contract["pdf_sha256"]}
    )
    assert (await sold.winner.ok("POST", f"{path}/sign", {"password": PASSWORD}))[
        "state"
    ] == "signed"
    return sold


async def pay(exchange: Exchange, item: RentItem, amount_fen: int, on: date, n: int) -> None:
    """A bank payment of the item, with the item kept in step (as the payment service does)."""
    at = datetime(on.year, on.month, on.day, 3, 0, tzinfo=UTC)
    async with exchange.services.db.write() as session:
        row = await session.get(RentItem, item.id)
        assert row is not None
        session.add(
            RentPayment(
                rent_item_id=row.id,
                listing_id=row.listing_id,
                amount_fen=amount_fen,
                channel="bank",
                bank_txn_id=f"TXN-DISC-{row.id}-{n}",
                paid_at=at,
                recorded_at=at,
            )
        )
        row.paid_fen += amount_fen
        if row.amount_fen - row.credited_fen - row.paid_fen == 0:
            row.state = "paid"


async def test_the_reference_lease_on_the_board(exchange: Exchange) -> None:
    sold = await signed_reference_lease(exchange)
    async with exchange.services.db.read() as session:
        contract = await session.get(Contract, sold.contract_id)
        assert contract is not None and contract.lease_start == date(2027, 2, 1)
        items = list(
            await session.scalars(
                select(RentItem)
                .where(RentItem.contract_id == contract.id)
                .order_by(RentItem.number)
            )
        )
        winner = await session.get(User, contract.winner_id)
        assert winner is not None and winner.phone and winner.id_number
    # Ten yearly items of 24,000 yuan; the 2,000 yuan deposit credited against the first.
    assert [(i.due_date, i.amount_fen) for i in items[:3]] == [
        (date(2027, 2, 1), 2_400_000),
        (date(2028, 2, 1), 2_400_000),
        (date(2029, 2, 1), 2_400_000),
    ]
    assert items[0].credited_fen == 200_000 and {i.state for i in items} == {"open"}
    await pay(exchange, items[0], 2_200_000, date(2027, 1, 25), 1)  # on time
    await pay(exchange, items[1], 2_400_000, date(2028, 4, 10), 1)  # 69 days late
    await pay(exchange, items[2], 1_000_000, date(2029, 2, 1), 1)  # partly
    exchange.clock.set(TODAY)

    # By hand: 2027 due 24,000 received 2,000 + 22,000; 2028 due 24,000 received 24,000 (late);
    # 2029 due 24,000 received 10,000, 14,000 overdue since 2029-02-02. Total 72,000 due,
    # 58,000 received (80.555…% → "80.56"), 14,000 in arrears.
    answer = await exchange.http.ok("GET", f"/api/v1/disclosure?region={quote(XINGTIAN)}")
    assert answer["as_of"] == "2029-03-15" and answer["current_year"] == 2029
    (village,) = answer["villages"]
    assert village["path"] == XINGTIAN and village["name"] == "杏田村"
    income = village["income"]
    assert [
        (y["year"], y["due_fen"], y["received_fen"], y["arrears_fen"]) for y in income["by_year"]
    ] == [
        (2027, 2_400_000, 2_400_000, 0),
        (2028, 2_400_000, 2_400_000, 0),
        (2029, 2_400_000, 1_000_000, 1_400_000),
    ]
    assert (income["due_fen"], income["received_fen"], income["arrears_fen"]) == (
        7_200_000,
        5_800_000,
        1_400_000,
    )
    assert income["collection_rate"] == "80.56" and income["leases_in_force"] == 1
    assert income["waived_fen"] == 0
    assert [(m["month"], m["due_fen"], m["received_fen"]) for m in income["by_month"]] == [
        ("2029-01", 0, 0),
        ("2029-02", 2_400_000, 1_000_000),
        ("2029-03", 0, 0),
    ]
    (lease,) = village["leases"]
    assert lease == {
        "listing_id": sold.listing_id,
        "asset": "杏田村杏秀路口水泥地面公开招租",
        "category": "collective_operating_assets",
        "category_name": lease["category_name"],
        "lessee": "竞***",
        "lease_start": "2027-02-01",
        "lease_end": "2037-01-31",
        "term_years": 10,
        "term_months": 0,
        "lease_year": 3,
        "yearly_rent_fen": 2_400_000,
        "first_year_rent_fen": 2_400_000,
        "premium_rate": "100.00",
        "due_fen": 7_200_000,
        "received_fen": 5_800_000,
        "arrears_fen": 1_400_000,
    }
    assert answer["region"]["income"] == income
    text = json.dumps(answer, ensure_ascii=False)
    for secret in (winner.display_name, winner.phone, winner.id_number):
        assert secret not in text

    # Rollups: the town's and the county's figures are the sums of their villages'.
    for path in (TOWN, COUNTY):
        up = await exchange.http.ok("GET", f"/api/v1/disclosure?region={quote(path)}")
        assert all(v["leases"] is None for v in up["villages"])
        assert {v["path"] for v in up["villages"]} >= {XINGTIAN, TOWN + "/后坑村"}
        for field in ("due_fen", "received_fen", "arrears_fen", "leases_in_force"):
            total = sum(v["income"][field] for v in up["villages"])
            assert up["region"]["income"][field] == total
            assert sum(t["income"][field] for t in up["towns"]) == total
            assert sum(c["income"][field] for c in up["counties"]) == total
        (town,) = [t for t in up["towns"] if t["path"] == TOWN]
        assert town["name"] == "洛阳镇" and town["income"]["by_year"] == income["by_year"]
        assert town["income"]["received_fen"] == 5_800_000
    county = await exchange.http.ok("GET", f"/api/v1/disclosure?region={quote(COUNTY)}")
    assert [c["path"] for c in county["counties"]] == [COUNTY]

    # A year on, the lease's fourth year; nothing more paid: 2030's 24,000 is overdue too.
    exchange.clock.set(TODAY + timedelta(days=365))
    later = await exchange.http.ok("GET", f"/api/v1/disclosure?region={quote(XINGTIAN)}")
    assert later["region"]["income"]["arrears_fen"] == 1_400_000 + 2_400_000
    assert later["villages"][0]["leases"][0]["lease_year"] == 4
    exchange.clock.set(TODAY)

    # The files for programs (csv_fen: income by year, or the leases, in fen), for people
    # (csv: Chinese headers, yuan) and the XLSX with both sheets.
    board = f"/api/v1/disclosure?region={quote(XINGTIAN)}"
    raw = await exchange.http.call("GET", f"{board}&format=csv_fen")
    assert raw.status_code == 200 and raw.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(raw.content.decode("utf-8-sig"))))[1:]
    mine = [r for r in rows if r["path"] == XINGTIAN]
    assert [(r["year"], r["due_fen"], r["received_fen"], r["arrears_fen"]) for r in mine] == [
        ("2027", "2400000", "2400000", "0"),
        ("2028", "2400000", "2400000", "0"),
        ("2029", "2400000", "1000000", "1400000"),
        ("合计", "7200000", "5800000", "1400000"),
    ]
    assert mine[-1]["collection_rate"] == "80.56" and mine[-1]["leases_in_force"] == "1"
    (town_total,) = [r for r in rows if r["path"] == TOWN and r["year"] == "合计"]
    assert town_total["received_fen"] == "5800000"
    leases_csv = await exchange.http.call("GET", f"{board}&format=csv_fen&table=leases")
    (row,) = list(csv.DictReader(io.StringIO(leases_csv.content.decode("utf-8-sig"))))[1:]
    assert (row["lessee"], row["premium_rate"], row["yearly_rent_fen"]) == (
        "竞***",
        "100.00",
        "2400000",
    )
    assert (row["lease_start"], row["lease_end"]) == ("2027-02-01", "2037-01-31")
    people = read_csv((await exchange.http.call("GET", f"{board}&format=csv")).content)
    head = people[0]
    assert "应收租金（元）" in head and "path" not in head
    mine_people = [dict(zip(head, r, strict=True)) for r in people[1:] if r[1] == XINGTIAN]
    assert [(r["年度"], r["实收租金（元）"]) for r in mine_people][-1] == ("合计", "58000.00")
    people_leases = read_csv(
        (await exchange.http.call("GET", f"{board}&format=csv&table=leases")).content
    )
    assert dict(zip(people_leases[0], people_leases[1], strict=True))["当年年租金（元）"] == (
        "24000.00"
    )
    xlsx = await exchange.http.call("GET", f"{board}&format=xlsx")
    with zipfile.ZipFile(io.BytesIO(xlsx.content)) as book:
        assert len([n for n in book.namelist() if n.startswith("xl/worksheets/sheet")]) == 2
        shared = book.read("xl/sharedStrings.xml").decode()
    income, leases = read_xlsx(xlsx.content).values()
    assert "杏田村杏秀路口水泥地面公开招租" in shared and "竞***" in shared
    assert ("58000.00", "#,##0.00") in income[-1] and ("0.8056", "0.00%") in income[-1]
    assert ("1.0000", "0.00%") in leases[1]
    for blob in (raw.content.decode("utf-8-sig"), leases_csv.content.decode("utf-8-sig"), shared):
        for secret in (winner.display_name, winner.phone, winner.id_number):
            assert secret not in blob

    # The page: the lease, its premium rate and the income received; nobody's name.
    page = await exchange.http.call("GET", f"/disclosure?region={quote(XINGTIAN)}")
    assert page.status_code == 200
    html = page.text
    assert "杏田村杏秀路口水泥地面公开招租" in html and "竞***" in html
    assert 'data-testid="premium-rate"><span class="cell-label">溢价率 </span>100.00 %' in html
    assert 'data-testid="received">¥58,000.00<' in html
    assert 'data-testid="arrears">¥14,000.00<' in html
    assert "<caption>" in html and '<svg class="chart"' in html and "@media print" not in html
    for secret in (winner.display_name, winner.phone, winner.id_number):
        assert secret not in html
    town_page = await exchange.http.call("GET", f"/disclosure?region={quote(TOWN)}")
    assert town_page.status_code == 200 and f"/disclosure?region={quote(XINGTIAN)}" in (
        town_page.text
    )
    index = await exchange.http.call("GET", "/disclosure")
    assert index.status_code == 200 and "泉州台商投资区" in index.text


async def test_bad_and_unknown_regions(exchange: Exchange) -> None:
    http = exchange.http
    for query, status, code in (
        ("", 400, "disclosure.region"),
        ("?region=", 400, "disclosure.region"),
        ("?region=%2F%2F", 400, "disclosure.region"),
        ("?region=" + quote("福建省//惠安县"), 400, "disclosure.region"),
        ("?region=" + quote("福建省/泉州市/无此县"), 404, "disclosure.region_not_found"),
        ("?region=" + quote(COUNTY) + "&format=pdf", 400, None),
        ("?region=" + quote(COUNTY) + "&table=people", 400, None),
    ):
        response = await http.call("GET", f"/api/v1/disclosure{query}")
        assert response.status_code == status, (query, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        if code:
            assert response.json()["code"] == code
    # No signed lease yet: every village is listed with zeros.
    empty = await http.ok("GET", f"/api/v1/disclosure?region={quote(TOWN)}")
    assert empty["region"]["income"]["due_fen"] == 0
    assert empty["region"]["income"]["collection_rate"] is None
    assert len(empty["region"]["income"]["by_month"]) == 12  # 2026-12: January to December
    page = await http.call("GET", "/disclosure?region=" + quote("福建省/泉州市/无此县"))
    assert page.status_code == 404 and "未找到该地区" in page.text
