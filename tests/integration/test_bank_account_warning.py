"""Two bidders of one listing paying their deposits from one bank account raise a warning."""

from __future__ import annotations

from datetime import timedelta

from core import settings as exchange_settings
from oversight.warnings import scan as warnings
from tests.integration.conftest import Exchange
from tests.support import PASSWORD, entrust_review_announce, phone, resident_id


async def test_deposits_from_one_account_are_flagged_with_their_evidence(
    exchange: Exchange,
) -> None:
    anon, now = exchange.http, exchange.clock.now()
    listing_id, _, _ = await entrust_review_announce(
        anon, now, closes_in=timedelta(days=10), starts_in=timedelta(days=11)
    )
    accounts = ["6222020200112233", "6222020200112233", "6217000000009999"]
    registrations = []
    for i, account in enumerate(accounts):
        mobile = phone()
        await anon.ok(
            "POST",
            "/api/v1/bidders",
            {
                "name": f"竞买人{i}",
                "id_type": "resident_id",
                "id_number": resident_id(),
                "phone": mobile,
                "password": PASSWORD,
            },
            status=201,
        )
        bidder = await anon.login(mobile)
        reg = await bidder.ok(
            "POST", f"/api/v1/listings/{listing_id}/registrations", {}, status=201
        )
        paid = await anon.pay(reg["payment_reference"], reg["deposit_fen"], payer_account=account)
        assert paid.status_code == 200, paid.text
        registrations.append(reg)
    bad = await anon.pay(registrations[0]["payment_reference"], 1, payer_account="x y")
    assert bad.status_code == 400  # an account number is digits, letters and dashes only

    async with exchange.services.db.read() as session:
        settings = await exchange_settings.load(session)
        found = await warnings.detect(session, settings, exchange.clock.now(), [listing_id])
    assert "shared_bank_account" not in found.skipped
    shared = [f for f in found.findings if f.kind == "shared_bank_account"]
    assert len(shared) == 1
    evidence = shared[0].evidence
    assert evidence["bank_account"] == accounts[0]
    assert sorted(b["registration_id"] for b in evidence["bidders"]) == sorted(
        r["id"] for r in registrations[:2]
    )
    assert all(b["seen_in"] == ["payment"] for b in evidence["bidders"])
