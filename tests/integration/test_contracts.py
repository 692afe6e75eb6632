"""Contracts in-process on SQLite and PostgreSQL: draft at the deal, who sees what, the
signing order with password and hash, verification, certificate, refunds and deposit credit,
and the deposit account balanced from the ledger."""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select

from auction.models import Deal
from contracts.models import Contract, RentItem
from core import ledger
from core.ledger import LedgerEntry
from tests.integration.conftest import Exchange
from tests.support import SEED_TERMS, Http, entrust_review_announce, sign_up_and_qualify

PROBLEM = "application/problem+json"


def problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["code"] == code, body
    return body


@dataclass
class Sold:
    listing_id: int
    contract_id: int
    village: Http
    reviewer: Http
    regulator: Http
    winner: Http
    loser: Http
    registrations: list[dict[str, Any]]


async def reach_deal(
    exchange: Exchange,
    *,
    bids: int = 2,
    bidders: int = 2,
    listing: dict[str, Any] | None = None,
    resolution_document: bool = True,
) -> Sold:
    """Entrust (the reference listing unless given) → announce → two bidders qualify →
    `bids` alternating bids → sold."""
    anon, clock = exchange.http, exchange.clock
    admin = await anon.login("admin")
    await admin.ok("PUT", "/api/v1/settings", {"free_bidding_minutes": 0, "countdown_seconds": 60})
    listing_id, _, reviewer = await entrust_review_announce(
        anon,
        clock.now(),
        closes_in=timedelta(days=10),
        starts_in=timedelta(days=11),
        listing=listing,
        resolution_document=resolution_document,
    )
    people, registrations = await sign_up_and_qualify(anon, reviewer, listing_id, bidders)
    clock.advance(timedelta(days=10, seconds=1))
    await exchange.tick()
    clock.advance(timedelta(days=1))
    await exchange.tick()
    for person in people:
        await person.relogin()
    price = SEED_TERMS["listing_price_fen"]
    for n in range(bids if bidders > 1 else 0):
        price += SEED_TERMS["increment_fen"]
        await people[n % 2].ok(
            "POST", f"/api/v1/auctions/{listing_id}/bids", {"amount_fen": price, "ref": f"b{n}"}
        )
        clock.advance(timedelta(seconds=5))
        await exchange.tick()
    clock.advance(timedelta(seconds=61))
    await exchange.tick()
    deal = await anon.ok("GET", f"/api/v1/listings/{listing_id}/deal")
    # Published first (成交公示); the lease is drafted when the publicity ends.
    assert deal["deal_state"] == "publicity" and deal["contract_id"] is None, deal
    await exchange.past_publicity(listing_id)
    for person in people:
        await person.relogin()
    deal = await anon.ok("GET", f"/api/v1/listings/{listing_id}/deal")
    assert deal["deal_state"] == "confirmed" and deal["contract_id"], deal
    winner = (bids - 1) % 2 if bidders > 1 else 0
    return Sold(
        listing_id,
        deal["contract_id"],
        await anon.login("xingtian"),
        await anon.login("reviewer"),
        await anon.login("regulator"),
        people[winner],
        people[1 - winner] if bidders > 1 else people[0],
        registrations,
    )


async def test_contract_drafted_signed_verified_certified_and_settled(exchange: Exchange) -> None:
    sold = await reach_deal(exchange)
    cid, path = sold.contract_id, f"/api/v1/contracts/{sold.contract_id}"

    # Drafted in the deal's transaction, with payables and the ledger entry.
    async with exchange.services.db.read() as session:
        contract = await session.get(Contract, cid)
        deal = await session.get(Deal, sold.listing_id)
        assert contract is not None and deal is not None and deal.contract_id == cid
        assert contract.state == "drafted"
        items = list(await session.scalars(select(RentItem).where(RentItem.contract_id == cid)))
        assert len(items) == 10 and {i.state for i in items} == {"pending"}
        assert sum(i.amount_fen for i in items) == 10 * deal.final_fen

    # Parties and staff see it; the losing bidder, another village and the public do not.
    shown = await sold.village.ok("GET", path)
    assert shown["state"] == "drafted" and shown["next_signer"] == "village"
    assert shown["parties"]["winner"]["bidder_number"] == sold.registrations[1]["bidder_number"]
    assert shown["rent_items"][0]["credited_fen"] == SEED_TERMS["deposit_fen"]
    for who in (sold.winner, sold.regulator, sold.reviewer):
        assert (await who.ok("GET", path))["pdf_sha256"] == shown["pdf_sha256"]
    problem(await sold.loser.call("GET", path), 404, "contract.not_found")
    other = await exchange.http.login("other-village")
    problem(await other.call("GET", path), 404, "contract.not_found")
    problem(await exchange.http.call("GET", path), 401, "auth.required")

    pdf = await sold.winner.call("GET", f"{path}/pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert hashlib.sha256(pdf.content).hexdigest() == shown["pdf_sha256"]
    confirmation = await sold.winner.call("GET", f"{path}/confirmation.pdf")
    assert confirmation.status_code == 200 and confirmation.content.startswith(b"%PDF")

    # The village signs first, with its password, seeing the hash it signs.
    problem(
        await sold.winner.call("POST", f"{path}/sign", {"password": "correct-horse-9"}),
        409,
        "contract.village_first",
    )
    problem(
        await sold.village.call("POST", f"{path}/sign", {"password": "wrong-password"}),
        403,
        "contract.password_incorrect",
    )
    problem(
        await sold.village.call(
            "POST", f"{path}/sign", {"password": "correct-horse-9", "sha256": "0" * 64}
        ),
        409,
        "contract.document_changed",
    )
    problem(
        await sold.reviewer.call("POST", f"{path}/sign", {"password": "correct-horse-9"}),
        403,
        "auth.forbidden",
    )
    problem(
        await sold.village.call("POST", f"{path}/sign", {"password": "x", "extra": 1}),
        400,
        "request.invalid",
    )
    first = await sold.village.ok(
        "POST", f"{path}/sign", {"password": "correct-horse-9", "sha256": shown["pdf_sha256"]}
    )
    assert first["state"] == "signed_by_village" and first["role"] == "village"
    assert first["signed_sha256"] == shown["pdf_sha256"]
    problem(
        await sold.village.call("POST", f"{path}/sign", {"password": "correct-horse-9"}),
        409,
        "contract.already_signed",
    )
    half = await sold.regulator.ok("GET", f"{path}/verification")
    assert half["valid"] is False and half["unsigned_fields"] == ["Winner"]
    assert [s["valid"] for s in half["signatures"]] == [True]

    exchange.clock.advance(timedelta(hours=2))
    signed_pdf = (await sold.winner.call("GET", f"{path}/pdf")).content
    assert hashlib.sha256(signed_pdf).hexdigest() == first["document_sha256"]
    second = await sold.winner.ok("POST", f"{path}/sign", {"password": "correct-horse-9"})
    assert second["state"] == "signed" and second["signed_sha256"] == first["document_sha256"]

    report = await sold.village.ok("GET", f"{path}/verification")
    assert report["valid"] is True and report["complete"] is True, report
    kinds = [(s["field"], s["kind"]) for s in report["signatures"]]
    assert kinds[:2] == [("Village", "signature"), ("Winner", "signature")]
    assert kinds[2][1] == "document_timestamp"
    village_sig, winner_sig = report["signatures"][:2]
    assert village_sig["signer"] == "杏田村经办人" and village_sig["certifying"] is True
    assert village_sig["docmdp_permission"] == "FILL_FORMS"
    assert winner_sig["signer"] == "竞买人2"
    assert (
        winner_sig["signer_serial_number"].startswith("350")
        and "*" in winner_sig["signer_serial_number"]
    )
    assert all(s["intact"] and s["trusted"] for s in report["signatures"])
    assert report["document_sha256"] == second["document_sha256"]

    # The exchange certifies; the certificate is a PDF signed by the platform.
    problem(await sold.village.call("POST", f"{path}/certify", {}), 403, "auth.forbidden")
    certified = await sold.reviewer.ok("POST", f"{path}/certify", {})
    assert certified["state"] == "certified"
    cert_pdf = await sold.regulator.call("GET", f"{path}/certificate.pdf")
    assert cert_pdf.status_code == 200
    assert hashlib.sha256(cert_pdf.content).hexdigest() == certified["certificate_sha256"]
    checked = await sold.regulator.ok("GET", f"{path}/verification")
    assert checked["valid"] and checked["certificate"]["valid"], checked
    assert checked["certificate"]["signatures"][0]["signer"] == "农村产权流转交易中心"
    assert checked["certificate"]["signatures"][0]["docmdp_permission"] == "NO_CHANGES"
    final = await sold.winner.ok("GET", path)
    assert final["state"] == "certified" and len(final["signatures"]) == 3
    assert final["rent_items"][0]["state"] == "open"
    assert final["rent_items"][0]["payable_fen"] == final["rent_items"][0]["amount_fen"] - 200_000

    # Settlement: the loser's deposit refunded through the bank export, the winner's credited.
    refunds = f"/api/v1/listings/{sold.listing_id}/refunds"
    csv_response = await sold.reviewer.call("GET", f"{refunds}.csv")
    assert csv_response.status_code == 200
    assert csv_response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(csv_response.content.decode("utf-8-sig"))))
    assert [int(r["registration_id"]) for r in rows] == [sold.registrations[0]["id"]]
    assert rows[0]["amount_fen"] == "200000" and rows[0]["original_bank_txn_id"]
    problem(await sold.village.call("GET", f"{refunds}.csv"), 403, "auth.forbidden")
    done = await sold.reviewer.ok("POST", refunds, {"bank_batch": "BATCH-0001"})
    assert done["count"] == 1 and done["total_fen"] == 200_000
    mine = await sold.loser.ok("GET", "/api/v1/registrations")
    assert mine["items"][0]["deposit_state"] == "refunded"
    theirs = await sold.winner.ok("GET", "/api/v1/registrations")
    assert theirs["items"][0]["deposit_state"] == "credited_to_rent"

    account = await sold.regulator.ok("GET", f"/api/v1/listings/{sold.listing_id}/settlement")
    assert account["balanced"] is True
    assert (account["paid_fen"], account["refunded_fen"], account["credited_fen"]) == (
        400_000,
        200_000,
        200_000,
    )
    assert account["held_fen"] == 0

    # The same balance straight from the ledger: Σ held == paid − refunded − credited.
    async with exchange.services.db.read() as session:
        subject = f"listing:{sold.listing_id}"
        entries = list(
            await session.scalars(select(LedgerEntry).where(LedgerEntry.subject == subject))
        )
        assert await ledger.verify_subject(session, subject) is None
    moved = {
        t: sum(e.payload["amount_fen"] for e in entries if e.type == t)
        for t in ("deposit.paid", "deposit.refunded", "deposit.credited_to_rent")
    }
    states = {r["deposit_state"] for r in account["deposits"]}
    held = sum(
        r["deposit_fen"]
        for r in account["deposits"]
        if r["deposit_state"] in ("paid", "held", "refundable")
    )
    assert (
        held
        == moved["deposit.paid"] - moved["deposit.refunded"] - moved["deposit.credited_to_rent"]
    )
    assert states == {"refunded", "credited_to_rent"}
    types = [e.type for e in sorted(entries, key=lambda e: e.subject_seq)]
    for expected in (
        "contract.drafted",
        "contract.signed_by_village",
        "contract.signed",
        "deposit.credited_to_rent",
        "contract.certified",
        "deposit.refunded",
    ):
        assert expected in types

    root = await exchange.http.call("GET", "/api/v1/ca/root.pem")
    assert root.status_code == 200 and root.content.startswith(b"-----BEGIN CERTIFICATE-----")


async def test_single_bidder_agreement_drafts_a_contract(exchange: Exchange) -> None:
    anon, clock = exchange.http, exchange.clock
    listing_id, _, reviewer = await entrust_review_announce(
        anon, clock.now(), closes_in=timedelta(days=10), starts_in=timedelta(days=11)
    )
    await sign_up_and_qualify(anon, reviewer, listing_id, 1)
    clock.advance(timedelta(days=10, seconds=1))
    await exchange.tick()
    deal = await anon.ok("GET", f"/api/v1/listings/{listing_id}/deal")
    assert deal["kind"] == "agreement" and deal["deal_state"] == "publicity"
    await exchange.past_publicity(listing_id)
    deal = await anon.ok("GET", f"/api/v1/listings/{listing_id}/deal")
    assert deal["deal_state"] == "confirmed" and deal["contract_id"]
    village = await anon.login("xingtian")
    shown = await village.ok("GET", f"/api/v1/contracts/{deal['contract_id']}")
    assert shown["state"] == "drafted"
    assert shown["contract_value_fen"] == 10 * SEED_TERMS["listing_price_fen"]


async def test_the_contract_names_the_exchange_and_the_dispute_body_of_the_settings(
    exchange: Exchange,
) -> None:
    anon, clock = exchange.http, exchange.clock
    admin = await anon.login("admin")
    named = {
        "exchange_name": "泉州台商投资区农村产权交易中心",
        "arbitration_commission": "泉州仲裁委员会",
    }
    # Without a publicity period the deal is confirmed, and its lease drafted, at once.
    await admin.ok("PUT", "/api/v1/settings", {"result_publicity_working_days": 0})
    settings = await admin.ok("PUT", "/api/v1/settings", named)
    assert {k: settings[k] for k in named} == named
    listing_id, _, reviewer = await entrust_review_announce(
        anon, clock.now(), closes_in=timedelta(days=10), starts_in=timedelta(days=11)
    )
    await sign_up_and_qualify(anon, reviewer, listing_id, 1)
    clock.advance(timedelta(days=10, seconds=1))
    await exchange.tick()
    deal = await anon.ok("GET", f"/api/v1/listings/{listing_id}/deal")
    async with exchange.services.db.read() as session:
        contract = await session.get(Contract, deal["contract_id"])
        assert contract is not None
        data = contract.data
    # The reference asset is a concrete ground (集体经营性资产), not rural land.
    assert data["exchange"]["name"] == named["exchange_name"]
    assert "提交泉州仲裁委员会" in data["dispute"] and "农村土地承包" not in data["dispute"]
