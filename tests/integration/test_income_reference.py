"""Issue 18's reference: the reference lease through two years of rent on PostgreSQL, with
the public board (村务公开), the arrears warning and the regulator's figures checked against
one hand calculation (docs/domain.md §7, docs/oversight.md).

The lease: 24,000 yuan a year for 10 years from 2027-02-01, each year due on 1 February; the
winner's 2,000 yuan deposit is credited to year 1. By hand:

* year 1 (due 2027-02-01): 2,000 credited; the bank pays the other 22,000 on 2027-03-03,
  30 days late → received 24,000, nothing outstanding.
* year 2 (due 2028-02-01): the village records 10,000 received on 2028-01-20, on time but
  partial → received 10,000; on 2028-03-02 (30 days after 1 February in a leap year) it is
  14,000 in arrears, 30 days overdue → a yellow arrears warning (threshold 30 days).
* so on 2028-03-02: due 48,000, received 34,000, arrears 14,000, collection 34,000 ÷ 48,000
  = 70.833…% → "70.83"; the board shows the premium rate "100.00" and the lessee masked.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

import pytest

from contracts.models import Contract
from core.accounts import User
from core.clock import CHINA_TZ
from oversight import jobs
from tests.integration.conftest import Exchange, make_exchange
from tests.integration.test_contracts import reach_deal
from tests.support import PASSWORD, XINGTIAN, Http, sign

YEAR, DEPOSIT = 2_400_000, 200_000


@pytest.fixture
async def exchange(pg_url: str, tmp_path: Path) -> AsyncIterator[Exchange]:
    async with make_exchange(pg_url, tmp_path) as ex:
        yield ex


def beijing(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(hour=10, tzinfo=CHINA_TZ)


async def bank_pays(http: Http, reference: str, amount_fen: int, txn: str, day: str) -> None:
    raw = json.dumps(
        {
            "reference": reference,
            "amount_fen": amount_fen,
            "bank_txn_id": txn,
            "paid_at": f"{day}T10:00:00+08:00",
        }
    ).encode()
    paid = await http.call(
        "POST",
        "/api/v1/payments/rent-callback",
        content=raw,
        headers={"X-Signature": sign(raw), "Content-Type": "application/json"},
    )
    assert paid.status_code == 200, paid.text


async def test_two_years_of_rent_agree_on_the_board_the_warnings_and_the_figures(
    exchange: Exchange,
) -> None:
    sold = await reach_deal(exchange, bids=50)
    path = f"/api/v1/contracts/{sold.contract_id}"
    for signer in (sold.village, sold.winner):
        await signer.ok("POST", f"{path}/sign", {"password": PASSWORD})
    items = (await sold.village.ok("GET", f"{path}/rent"))["items"]
    first, second = items[0], items[1]
    assert (first["due_date"], second["due_date"]) == ("2027-02-01", "2028-02-01")

    # Year 1: the bank pays the remainder 30 days late.
    exchange.clock.set(beijing("2027-03-03"))
    await bank_pays(exchange.http, first["reference"], YEAR - DEPOSIT, "BANK-2027", "2027-03-03")
    # Year 2: the village records a partial payment before it is due.
    exchange.clock.set(beijing("2028-01-20"))
    village = await sold.village.relogin()
    await village.ok(
        "POST",
        f"/api/v1/rent-items/{second['id']}/payments",
        data={"amount_fen": "1000000", "paid_at": "2028-01-20", "receipt_number": "XT-2028-01"},
        status=201,
    )

    exchange.clock.set(beijing("2028-03-02"))
    svc = exchange.services
    ctx = jobs.JobContext.of(svc.config, svc.db, svc.clock)
    await jobs.run_all(ctx)
    await jobs.scan_warnings(ctx, force=True)

    # The lease as its parties see it.
    lease = await (await sold.winner.relogin()).ok("GET", f"{path}/rent")
    assert lease["totals"]["due_fen"] == 2 * YEAR
    assert lease["totals"]["received_fen"] == DEPOSIT + (YEAR - DEPOSIT) + 1_000_000
    assert lease["totals"]["overdue_fen"] == YEAR - 1_000_000

    # The public board of the village, without signing in.
    board = await exchange.http.ok("GET", f"/api/v1/disclosure?region={quote(XINGTIAN)}")
    [xingtian] = board["villages"]
    income = xingtian["income"]
    assert (income["due_fen"], income["received_fen"], income["arrears_fen"]) == (
        48 * 100_000,
        34 * 100_000,
        14 * 100_000,
    )
    assert income["collection_rate"] == "70.83"
    by_year = {
        y["year"]: (y["due_fen"], y["received_fen"], y["arrears_fen"]) for y in income["by_year"]
    }
    assert by_year[2027] == (YEAR, YEAR, 0)
    assert by_year[2028] == (YEAR, 1_000_000, YEAR - 1_000_000)
    [shown] = xingtian["leases"]
    assert (shown["listing_id"], shown["premium_rate"], shown["yearly_rent_fen"]) == (
        sold.listing_id,
        "100.00",
        YEAR,
    )
    async with svc.db.read() as session:
        contract = await session.get(Contract, sold.contract_id)
        assert contract is not None
        lessee = await session.get(User, contract.winner_id)
        assert lessee is not None and lessee.phone and lessee.id_number
    page = (await exchange.http.call("GET", f"/disclosure?region={quote(XINGTIAN)}")).text
    shown_json = json.dumps(board, ensure_ascii=False)
    for secret in (lessee.display_name, lessee.phone, lessee.id_number):
        assert secret not in shown_json and secret not in page

    # The regulators' warning and figures say the same.
    regulator = await sold.regulator.relogin()
    found = await regulator.ok("GET", f"/api/v1/warnings?listing_id={sold.listing_id}&state=open")
    [arrears] = [w for w in found["items"] if w["kind"].startswith("arrears_")]
    assert arrears["kind"] == "arrears_yellow"
    assert (arrears["evidence"]["outstanding_fen"], arrears["evidence"]["max_days_overdue"]) == (
        YEAR - 1_000_000,
        30,
    )
    figures = await regulator.ok("GET", "/api/v1/stats/collection")
    assert (figures["due_fen"], figures["received_fen"], figures["arrears_fen"]) == (
        48 * 100_000,
        34 * 100_000,
        14 * 100_000,
    )
    assert figures["collection_rate"] == "70.83"
    [by_village] = figures["villages"]
    assert (by_village["village_path"], by_village["arrears_fen"]) == (XINGTIAN, 14 * 100_000)
