"""The regulator side after the reference case: bundle + offline verify, timeline, ladder,
statistics and warnings, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from app.cli import main as ruralx
from core.ledger import LedgerCheckpoint, LedgerEntry, sequencer
from core.ledger.audit import audit
from core.ledger.merkle import verify_consistency
from core.ledger.notes import verify_note
from oversight import jobs
from tests.integration.conftest import Exchange
from tests.support import (
    SEED_TERMS,
    attach_resolution,
    entrust_review_announce,
    sign_up_and_qualify,
)
from tests.unit.test_exports import read_csv, read_xlsx

XINGTIAN_PATH = "福建省/泉州市/泉州台商投资区/洛阳镇/杏田村"


def _jobs(exchange: Exchange) -> jobs.JobContext:
    svc = exchange.services
    return jobs.JobContext.of(svc.config, svc.db, svc.clock)


async def reference_case(exchange: Exchange, rounds: int = 50) -> tuple[int, list[dict[str, Any]]]:
    """The reference case: two bidders, `rounds` alternating one-step bids, sold at the end."""
    anon, clock = exchange.http, exchange.clock
    admin = await anon.login("admin")
    await admin.ok("PUT", "/api/v1/settings", {"free_bidding_minutes": 0, "countdown_seconds": 300})
    listing_id, _, reviewer = await entrust_review_announce(
        anon, clock.now(), closes_in=timedelta(days=10), starts_in=timedelta(days=11)
    )
    bidders, registrations = await sign_up_and_qualify(anon, reviewer, listing_id)
    clock.advance(timedelta(days=10, seconds=1))
    await exchange.tick()
    clock.advance(timedelta(days=1))
    await exchange.tick()
    for bidder in bidders:
        await bidder.relogin()
    price = SEED_TERMS["listing_price_fen"]
    # One refused bid first (not a multiple of the step): the ladder shows rejections too.
    refused = await bidders[0].call(
        "POST", f"/api/v1/auctions/{listing_id}/bids", {"amount_fen": price + 1000, "ref": "bad"}
    )
    assert refused.status_code == 422
    for n in range(rounds):
        price += SEED_TERMS["increment_fen"]
        await bidders[n % 2].ok(
            "POST", f"/api/v1/auctions/{listing_id}/bids", {"amount_fen": price, "ref": f"b{n}"}
        )
        clock.advance(timedelta(seconds=30))
        await exchange.tick()
        if n == rounds // 2:
            await jobs.sequence_log(_jobs(exchange))  # a worker's tick mid-auction
    clock.advance(timedelta(seconds=300))
    await exchange.tick()
    snap = await anon.ok("GET", f"/api/v1/auctions/{listing_id}")
    assert snap["status"] == "ended" and snap["result"]["result"] == "sold"
    return listing_id, registrations


async def test_reference_case_for_regulators(exchange: Exchange, tmp_path: Path) -> None:
    listing_id, registrations = await reference_case(exchange)
    svc = exchange.services
    regulator = await exchange.http.login("regulator")
    anon = exchange.http

    # The sequencer ran mid-auction; the auction end is checkpointed at once.
    await jobs.run_all(_jobs(exchange))
    async with svc.db.read() as session:
        latest = await sequencer.latest_checkpoint(session)
        ended = await session.scalar(
            select(LedgerEntry).where(
                LedgerEntry.subject == f"listing:{listing_id}", LedgerEntry.type == "auction.ended"
            )
        )
        unsequenced = await session.scalar(
            select(LedgerEntry.id).where(LedgerEntry.leaf_index.is_(None)).limit(1)
        )
    assert latest is not None and latest.reason == "auction_end"
    assert ended is not None and ended.leaf_index is not None and ended.leaf_index < latest.size
    assert unsequenced is None

    # Public: the checkpoint note and the key; the note verifies under the key.
    key = (await anon.call("GET", "/api/v1/ledger/key")).text.strip()
    note = (await anon.call("GET", "/api/v1/ledger/checkpoint")).text
    assert verify_note(note, key).size == latest.size

    # The regulator exports the listing's bundle; bidders and the public may not.
    export = f"/api/v1/ledger/bundle?listing_id={listing_id}"
    assert (await anon.call("GET", export)).status_code == 401
    village = await anon.login("xingtian")
    assert (
        await village.call("GET", f"/api/v1/ledger/bundle?listing_id={listing_id}")
    ).status_code == 403
    bundle = await regulator.ok("GET", f"/api/v1/ledger/bundle?listing_id={listing_id}")
    docs = [e["entry"] for e in bundle["entries"]]
    assert [d["seq"] for d in docs] == list(range(1, len(docs) + 1))
    assert sum(d["type"] == "auction.bid" for d in docs) == 50
    assert (
        docs[-1]["type"]
        in ("deal.recorded", "deposit.to_be_credited", "deposit.refundable", "contract.drafted")
        or docs
    )
    assert bundle["pending"] == 0 and "head" in bundle

    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle, ensure_ascii=False), encoding="utf-8")
    key_file = tmp_path / "exchange.vkey"
    key_file.write_text(key + "\n", encoding="utf-8")
    assert ruralx(["ledger", "verify", str(path), "--key", key]) == 0
    assert ruralx(["ledger", "verify", str(path), "--key", str(key_file)]) == 0

    # A tampered export is refused: the deal price changed in the file.
    tampered = json.loads(json.dumps(bundle))
    deal = next(e for e in tampered["entries"] if e["entry"]["type"] == "deal.recorded")
    deal["entry"]["payload"]["final_fen"] = 1_800_000
    bad = tmp_path / "tampered.json"
    bad.write_text(json.dumps(tampered, ensure_ascii=False), encoding="utf-8")
    assert ruralx(["ledger", "verify", str(bad), "--key", key]) == 1

    # Consistency: an earlier checkpoint is a prefix of the latest, as served publicly.
    async with svc.db.read() as session:
        checkpoints = list(
            await session.scalars(select(LedgerCheckpoint).order_by(LedgerCheckpoint.size))
        )
    assert len(checkpoints) >= 2
    first, last = checkpoints[0], checkpoints[-1]
    proof = await anon.ok(
        "GET", f"/api/v1/ledger/consistency?first={first.size}&second={last.size}"
    )
    assert verify_consistency(
        first.size,
        last.size,
        bytes.fromhex(first.root),
        bytes.fromhex(last.root),
        [bytes.fromhex(h) for h in proof["proof"]],
    )
    # ... and a bundle with known_size verifies against the older trusted checkpoint offline.
    bundle2 = await regulator.ok(
        "GET", f"/api/v1/ledger/bundle?listing_id={listing_id}&known_size={first.size}"
    )
    path2 = tmp_path / "bundle2.json"
    path2.write_text(json.dumps(bundle2), encoding="utf-8")
    trusted = tmp_path / "trusted.checkpoint"
    trusted.write_text(first.note, encoding="utf-8")
    assert ruralx(["ledger", "verify", str(path2), "--key", key, "--checkpoint", str(trusted)]) == 0

    report = await audit(svc.db, key)
    assert report.ok, report.problems
    assert report.sequenced + report.unsequenced == report.entries
    assert report.checkpoints == len(checkpoints)

    # Statistics: 1 deal, premium 100.00 %, +120,000.00 yuan over the term for 杏田村 / 洛阳镇.
    answer = await regulator.ok("GET", "/api/v1/stats?group_by=village")
    (row,) = [r for r in answer["rows"] if r["village_path"] == XINGTIAN_PATH]
    assert row["village"] == "杏田村" and row["deals"] == 1 and row["listings"] == 1
    assert row["premium_rate"] == "100.00" and row["premium_rate_median"] == "100.00"
    assert row["premium_over_term_fen"] == 12_000_000
    assert row["premium_per_year_fen"] == 1_200_000
    assert row["listing_total_fen"] == 12_000_000 and row["deal_total_fen"] == 24_000_000
    assert row["contract_value_fen"] == 24_000_000
    town = await regulator.ok(
        "GET", "/api/v1/stats?group_by=town&category=collective_operating_assets"
    )
    assert [(r["town"], r["deals"], r["premium_over_term_fen"]) for r in town["rows"]] == [
        ("洛阳镇", 1, 12_000_000)
    ]
    by_month = await regulator.ok("GET", "/api/v1/stats?group_by=month,buyer_type&from=2026-12-01")
    assert [(r["month"], r["buyer_type"], r["deals"]) for r in by_month["rows"]] == [
        ("2026-12", "individual", 1)
    ]
    empty = await regulator.ok("GET", "/api/v1/stats?group_by=county&to=2026-11-30")
    assert empty["rows"] == [] and empty["totals"]["listings"] == 0
    # For programs (csv_fen): field names, a row of labels, integer fen, the totals last.
    raw = await regulator.call("GET", "/api/v1/stats?group_by=village&format=csv_fen")
    assert raw.headers["content-type"].startswith("text/csv")
    assert "-fen.csv" in raw.headers["content-disposition"]
    lines = list(csv.reader(io.StringIO(raw.content.decode("utf-8-sig"))))
    header, values = lines[0], dict(zip(lines[0], lines[2], strict=True))
    assert "premium_over_term_fen" in header and values["premium_over_term_fen"] == "12000000"
    assert values["premium_rate"] == "100.00" and values["village"] == "杏田村"
    # For people (csv, xlsx): Chinese headers, yuan, 合计 (tests/unit/test_exports.py).
    people = read_csv(
        (await regulator.call("GET", "/api/v1/stats?group_by=village&format=csv")).content
    )
    head, (named,), total = people[0], [r for r in people if r[0] == "杏田村"], people[-1]
    shown = dict(zip(head, named, strict=True))
    assert shown["期内增收（元）"] == "120000.00" and shown["溢价率（%，按金额加权）"] == "100.00"
    assert total[0] == "合计" and dict(zip(head, total, strict=True))["成交宗数"] == "1"
    xlsx = await regulator.call("GET", "/api/v1/stats?group_by=village&format=xlsx")
    (rows,) = read_xlsx(xlsx.content).values()
    assert rows[0][0] == ("村", "General") and rows[-1][0] == ("合计", "General")
    assert ("120000.00", "#,##0.00") in rows[-1] and ("1.0000", "0.00%") in rows[-1]
    assert (await regulator.call("GET", "/api/v1/stats?group_by=galaxy")).status_code == 400
    assert (await village.call("GET", "/api/v1/stats")).status_code == 403

    # Timeline: every entry, readable, masked identities, reasons.
    timeline = await regulator.ok("GET", f"/api/v1/listings/{listing_id}/timeline")
    assert len(timeline["entries"]) == len(docs) + (len(timeline["entries"]) - len(docs))
    types = [e["type"] for e in timeline["entries"]]
    assert types[:5] == [
        "listing.created",
        "listing.document_added",
        "listing.submitted",
        "listing.accepted",
        "listing.announced",
    ]
    accepted = timeline["entries"][3]
    assert accepted["reason"] == "材料齐全" and accepted["actor"]["role"] == "reviewer"
    assert accepted["actor"]["name"] == "交**员" and accepted["type_name"] == "受理"
    bid = next(e for e in timeline["entries"] if e["type"] == "auction.bid")
    assert bid["actor"]["role"] == "bidder" and bid["actor"]["bidder_number"]
    assert all("ip" not in e["details"] for e in timeline["entries"])
    reviewer = await anon.login("reviewer")
    timeline_url = f"/api/v1/listings/{listing_id}/timeline"
    assert (await reviewer.call("GET", timeline_url)).status_code == 200
    bidder_view = await anon.call("GET", f"/api/v1/listings/{listing_id}/timeline")
    assert bidder_view.status_code == 401

    # Ladder: accepted and rejected bids; identities for the regulator after the end only.
    ladder = await regulator.ok("GET", f"/api/v1/auctions/{listing_id}/ladder")
    assert (ladder["accepted"], ladder["rejected"]) == (50, 1)
    assert ladder["bids"][0]["outcome"] == "rejected" and ladder["bids"][0]["code"]
    assert ladder["identities_revealed"] is True
    numbers = {r["bidder_number"] for r in registrations}
    assert set(ladder["bidders"]) == numbers
    assert all(b["name"] and b["id_number"] and b["bid_ips"] for b in ladder["bidders"].values())
    staff_ladder = await reviewer.ok("GET", f"/api/v1/auctions/{listing_id}/ladder")
    assert staff_ladder["bidders"] is None and "ip" not in staff_ladder["bids"][0]

    # Warnings: both bidders came from one address and one browser (the test client).
    listed = await regulator.ok("GET", "/api/v1/warnings")
    kinds = {w["kind"] for w in listed["items"] if w["listing_id"] == listing_id}
    assert {"shared_ip", "shared_device"} <= kinds
    assert "single_bidder" not in kinds and "zero_premium" not in kinds
    shared = next(w for w in listed["items"] if w["kind"] == "shared_ip")
    assert {b["bidder_number"] for b in shared["evidence"]["bidders"]} == numbers
    acked = await regulator.ok(
        "POST", f"/api/v1/warnings/{shared['id']}/acknowledge", {"note": "同一网点代办报名，已核实"}
    )
    assert acked["state"] == "acknowledged" and acked["note"] == "同一网点代办报名，已核实"
    again = await regulator.call(
        "POST", f"/api/v1/warnings/{shared['id']}/acknowledge", {"note": "再次"}
    )
    assert again.status_code == 409
    assert (
        await reviewer.call("POST", f"/api/v1/warnings/{shared['id']}/acknowledge", {"note": "x"})
    ).status_code == 403
    async with svc.db.read() as session:
        ack = await session.scalar(
            select(LedgerEntry).where(
                LedgerEntry.subject == "warnings", LedgerEntry.type == "warning.acknowledged"
            )
        )
    assert ack is not None and ack.payload["note"] == "同一网点代办报名，已核实"

    # The result publicity ends: the deal is confirmed and its lease drafted.
    await exchange.past_publicity(listing_id)
    # Lease expiry: ten years on, the lease ends within 90 days.
    exchange.clock.advance(timedelta(days=3650 - 30))
    await jobs.scan_warnings(_jobs(exchange), force=True)
    await regulator.relogin()
    expiring = await regulator.ok("GET", "/api/v1/warnings?kind=lease_expiring")
    assert [w["listing_id"] for w in expiring["items"]] == [listing_id]
    assert 0 <= expiring["items"][0]["evidence"]["days_left"] <= 90
    # Nobody signed the drafted contract: long past its deadline.
    later = await regulator.ok("GET", f"/api/v1/warnings?listing_id={listing_id}&state=open")
    unsigned = [w for w in later["items"] if w["kind"] == "contract_unsigned"]
    assert len(unsigned) == 1 and unsigned[0]["evidence"]["contract_state"] == "drafted"


async def test_a_deep_relist_cut_needs_a_reason_and_warns_the_regulators(
    exchange: Exchange,
) -> None:
    """Issue 17: a 流拍 lot relisted at 1,000 instead of 12,000 yuan a year."""
    anon, clock = exchange.http, exchange.clock
    listing_id, village, _ = await entrust_review_announce(
        anon, clock.now(), closes_in=timedelta(days=10), starts_in=timedelta(days=11)
    )
    clock.advance(timedelta(days=10, seconds=1))  # nobody registered: failed
    await exchange.tick()
    village = await village.relogin()
    relisted = await village.ok("POST", f"/api/v1/listings/{listing_id}/relist", {}, status=201)
    path = f"/api/v1/listings/{relisted['id']}"
    cut = {**SEED_TERMS, "listing_price_fen": 100_000, "increment_fen": 2_000, "deposit_fen": 0}
    await village.ok("PATCH", path, {"terms": cut})
    await attach_resolution(village, relisted["id"])  # documents stay with the old listing
    refused = await village.call("POST", f"{path}/submit", {})
    assert refused.status_code == 422 and refused.json()["code"] == "terms.deep_relist_cut"
    assert refused.json()["previous_price_fen"] == SEED_TERMS["listing_price_fen"]
    reason = "两次流拍，村民代表会议决议按现状降价"
    await village.ok("PATCH", path, {"terms": {**cut, "price_reason": reason}})
    assert (await village.ok("POST", f"{path}/submit", {}))["state"] == "submitted"

    await jobs.scan_warnings(_jobs(exchange), force=True)
    regulator = await anon.login("regulator")
    found = await regulator.ok("GET", "/api/v1/warnings?kind=deep_relist_cut")
    [warning] = found["items"]
    assert warning["listing_id"] == relisted["id"]
    assert warning["evidence"]["previous_price_fen"] == SEED_TERMS["listing_price_fen"]
    assert warning["evidence"]["listing_price_fen"] == 100_000
    assert warning["evidence"]["reason"] == reason
