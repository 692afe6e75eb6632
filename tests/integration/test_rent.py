"""Rent as receivables (docs/domain.md §7) on the reference lease, on both databases.

The lease: 24,000 yuan a year for 10 years from 2027-02-01, paid yearly in advance (item n
is due on 1 February of year n); the winner's 2,000 yuan deposit pays part of year 1.

By hand:
* year 1: 24,000 − 2,000 credited = 22,000 owed; the bank pays 22,000 before it is due → paid.
* year 2, due 2028-02-01: on 2028-03-12 (40 days late: 29 days of February 2028 + 11) the
  village records 10,000 received → 14,000 outstanding, overdue 40 days → yellow (≥ 30).
* on 2028-04-30 it is 89 days late (still yellow), on 2028-05-01 90 → red (≥ 90).
* the village waives the remaining 14,000: received 2,000 + 22,000 + 10,000 = 34,000, due so
  far 48,000, waived 14,000, nothing outstanding.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from contracts.models import RentItem, RentPayment
from core.clock import CHINA_TZ
from core.ledger.models import LedgerEntry
from listings import Payment
from oversight import jobs
from tests.integration.conftest import Exchange
from tests.integration.test_contracts import problem, reach_deal
from tests.support import PASSWORD, RESOLUTION_PDF, Http, sign

YEAR = 2_400_000
DEPOSIT = 200_000


async def rent_callback(http: Http, reference: str, amount_fen: int, txn: str) -> Any:
    raw = json.dumps(
        {
            "reference": reference,
            "amount_fen": amount_fen,
            "bank_txn_id": txn,
            "paid_at": "2027-01-20T10:00:00+08:00",
        }
    ).encode()
    return await http.call(
        "POST",
        "/api/v1/payments/rent-callback",
        content=raw,
        headers={"X-Signature": sign(raw), "Content-Type": "application/json"},
    )


def at_beijing(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(hour=10, tzinfo=CHINA_TZ)


async def rows(exchange: Exchange, model: Any, *where: Any) -> int:
    async with exchange.services.db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def warnings_of(http: Http, listing_id: int) -> list[tuple[str, int, int]]:
    found = await http.ok("GET", f"/api/v1/warnings?listing_id={listing_id}&state=open")
    return sorted(
        (w["kind"], w["evidence"]["max_days_overdue"], w["evidence"]["outstanding_fen"])
        for w in found["items"]
        if w["kind"].startswith("arrears_")
    )


async def scan(exchange: Exchange) -> None:
    svc = exchange.services
    await jobs.scan_warnings(jobs.JobContext.of(svc.config, svc.db, svc.clock), force=True)


async def test_reference_lease_two_years_of_rent(exchange: Exchange) -> None:
    sold = await reach_deal(exchange, bids=50)
    path = f"/api/v1/contracts/{sold.contract_id}"
    # Before signing the items are pending and take no money.
    drafted = await sold.village.ok("GET", f"{path}/rent")
    assert {i["status"] for i in drafted["items"]} == {"pending"}
    assert {i["reference"] for i in drafted["items"]} == {None}
    contract = await sold.village.ok("GET", path)
    await sold.village.ok(
        "POST", f"{path}/sign", {"password": PASSWORD, "sha256": contract["pdf_sha256"]}
    )
    await sold.winner.ok("POST", f"{path}/sign", {"password": PASSWORD})

    lease = await sold.winner.ok("GET", f"{path}/rent")
    items = lease["items"]
    assert len(items) == 10 and lease["your_role"] == "winner"
    first, second = items[0], items[1]
    assert (first["due_date"], second["due_date"]) == ("2027-02-01", "2028-02-01")
    assert (first["amount_fen"], first["credited_fen"], first["outstanding_fen"]) == (
        YEAR,
        DEPOSIT,
        YEAR - DEPOSIT,
    )
    assert first["status"] == "partly_paid" and first["status_zh"] == "部分支付"
    assert second["status"] == "not_due" and second["outstanding_fen"] == YEAR
    references = [i["reference"] for i in items]
    assert all(r and r.startswith("RZ") and len(r) == 12 for r in references)
    assert len(set(references)) == 10
    assert lease["totals"] == {
        "scheduled_fen": 10 * YEAR,
        "due_fen": 0,
        "received_fen": DEPOSIT,
        "waived_fen": 0,
        "outstanding_fen": 0,
        "overdue_fen": 0,
    }

    # Year 1 by the bank, early; replayed and sent twice at once: applied once, same answer.
    anon = exchange.http
    bad = await anon.call(
        "POST",
        "/api/v1/payments/rent-callback",
        content=b"{}",
        headers={"X-Signature": "0" * 64, "Content-Type": "application/json"},
    )
    problem(bad, 401, "payment.bad_signature")
    paid = await rent_callback(anon, first["reference"], YEAR - DEPOSIT, "RENT-1")
    assert paid.status_code == 200, paid.text
    answer = paid.json()
    assert answer == {
        "status": "accepted",
        "rent_item_id": first["id"],
        "number": 1,
        "state": "paid",
        "paid_fen": YEAR - DEPOSIT,
        "outstanding_fen": 0,
    }
    again = await asyncio.gather(
        *(rent_callback(anon, first["reference"], YEAR - DEPOSIT, "RENT-1") for _ in range(3))
    )
    assert all(r.status_code == 200 and r.json() == answer for r in again)
    assert await rows(exchange, RentPayment, RentPayment.rent_item_id == first["id"]) == 1
    # Paid: nothing more is taken, an unknown reference neither; both kept for the refund.
    problem(await rent_callback(anon, first["reference"], 1, "RENT-2"), 422, "rent.not_open")
    problem(await rent_callback(anon, "RZ0000000000", 100, "RENT-3"), 422, "rent.unknown_reference")
    # More than year 2 owes: refused, recorded as refused (to send back), nothing applied.
    over = await rent_callback(anon, second["reference"], YEAR + 1, "RENT-4")
    problem(over, 422, "rent.overpaid")
    replay = await rent_callback(anon, second["reference"], YEAR + 1, "RENT-4")
    assert replay.status_code == 422 and replay.json() == over.json()
    assert await rows(exchange, Payment, Payment.bank_txn_id.like("RENT-%")) == 4
    assert (
        await rows(exchange, Payment, Payment.outcome == "rejected", Payment.code.like("rent.%"))
        == 3
    )

    # Year 2 goes unpaid past its due date.
    exchange.clock.set(at_beijing("2028-03-12"))
    village, reviewer = await sold.village.relogin(), await sold.reviewer.relogin()
    winner, regulator = await sold.winner.relogin(), await sold.regulator.relogin()
    await scan(exchange)
    assert await warnings_of(regulator, sold.listing_id) == [("arrears_yellow", 40, YEAR)]

    # The village records 10,000 yuan received in cash, with the receipt's scan.
    record = f"/api/v1/rent-items/{second['id']}/payments"
    fields = {"amount_fen": "1000000", "paid_at": "2028-03-12", "receipt_number": "XT-2028-07"}
    receipt = {"receipt": ("收据.pdf", RESOLUTION_PDF, "application/pdf")}
    problem(await winner.call("POST", record, data=fields, files=receipt), 403, "auth.forbidden")
    problem(
        await village.call("POST", record, data={**fields, "amount_fen": str(YEAR + 1)}),
        422,
        "rent.overpaid",
    )
    problem(
        await village.call("POST", record, data={**fields, "paid_at": "2028-03-13"}),
        400,
        "rent.paid_at_future",
    )
    problem(
        await village.call(
            "POST", record, data={k: v for k, v in fields.items() if k != "receipt_number"}
        ),
        400,
        "request.invalid",
    )
    assert await rows(exchange, RentPayment, RentPayment.rent_item_id == second["id"]) == 0
    line = await village.ok("POST", record, data=fields, files=receipt, status=201)
    assert (line["status"], line["paid_fen"], line["outstanding_fen"], line["days_overdue"]) == (
        "overdue",
        1_000_000,
        1_400_000,
        40,
    )
    assert line["arrears"] == "yellow" and line["status_zh"] == "逾期"
    [staff_paid] = line["payments"]
    assert staff_paid["channel"] == "staff" and staff_paid["has_receipt"] is True
    scan_copy = await winner.call("GET", f"/api/v1/rent-payments/{staff_paid['id']}/receipt")
    assert scan_copy.status_code == 200 and scan_copy.content == RESOLUTION_PDF
    problem(await village.call("POST", record, data=fields), 409, "rent.duplicate_receipt")

    # 89 days late: still yellow; 90: red, with the amounts.
    exchange.clock.set(at_beijing("2028-04-30"))
    regulator = await regulator.relogin()
    await scan(exchange)
    assert await warnings_of(regulator, sold.listing_id) == [("arrears_yellow", 89, 1_400_000)]
    exchange.clock.set(at_beijing("2028-05-01"))
    regulator, winner = await regulator.relogin(), await winner.relogin()
    await scan(exchange)
    found = await warnings_of(regulator, sold.listing_id)
    assert ("arrears_red", 90, 1_400_000) in found
    red = await regulator.ok(
        "GET", f"/api/v1/warnings?kind=arrears_red&listing_id={sold.listing_id}"
    )
    [late] = red["items"][0]["evidence"]["items"]
    assert late == {
        "contract_id": sold.contract_id,
        "number": 2,
        "due_date": "2028-02-01",
        "amount_fen": YEAR,
        "outstanding_fen": 1_400_000,
        "days_overdue": 90,
    }
    before = await winner.ok("GET", f"{path}/rent")
    assert before["arrears"] == "red" and before["max_days_overdue"] == 90
    assert before["totals"]["overdue_fen"] == before["totals"]["outstanding_fen"] == 1_400_000

    # The collective waives the rest of year 2.
    waive = f"/api/v1/rent-items/{second['id']}/waive"
    reviewer = await reviewer.relogin()
    village = await village.relogin()
    problem(await winner.call("POST", waive, {"reason": "x"}), 403, "auth.forbidden")
    problem(await regulator.call("POST", waive, {"reason": "x"}), 403, "auth.forbidden")
    problem(await village.call("POST", waive, {"reason": ""}), 400, "request.invalid")
    reason = "2028年4月村民代表会议决议：因灾减免第2期剩余租金"
    waived = await village.ok("POST", waive, {"reason": reason})
    assert (waived["status"], waived["outstanding_fen"], waived["waived_reason"]) == (
        "waived",
        0,
        reason,
    )
    problem(await reviewer.call("POST", waive, {"reason": reason}), 409, "rent.not_open")
    after = await winner.ok("GET", f"{path}/rent")
    assert after["arrears"] is None
    assert after["totals"] == {
        "scheduled_fen": 10 * YEAR,
        "due_fen": 2 * YEAR,
        "received_fen": DEPOSIT + (YEAR - DEPOSIT) + 1_000_000,
        "waived_fen": 1_400_000,
        "outstanding_fen": 0,
        "overdue_fen": 0,
    }
    # Every movement is in the lease's ledger.
    async with exchange.services.db.read() as session:
        entries = list(
            await session.scalars(
                select(LedgerEntry)
                .where(
                    LedgerEntry.subject == f"listing:{sold.listing_id}",
                    LedgerEntry.type.like("rent.%"),
                )
                .order_by(LedgerEntry.subject_seq)
            )
        )
        stored = await session.get(RentItem, second["id"])
    assert [(e.type, e.payload["amount_fen"]) for e in entries] == [
        ("rent.paid", YEAR - DEPOSIT),
        ("rent.rejected", 1),
        ("rent.rejected", YEAR + 1),
        ("rent.paid", 1_000_000),
        ("rent.waived", 1_400_000),
    ]
    assert entries[0].payload["bank_txn_id"] == "RENT-1" and entries[0].payload["channel"] == "bank"
    assert entries[3].payload["receipt_number"] == "XT-2028-07"
    assert stored is not None and stored.state == "waived" and stored.paid_fen == 1_000_000
