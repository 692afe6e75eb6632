"""A lease start fixed at listing and a performance deposit, through the API on SQLite and
PostgreSQL: checked at submission, acceptance and announcement, then carried to the contract
(its start, its rent schedule, its clause) and to the winner's deal."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from contracts import content
from contracts.models import Contract
from core.ledger import LedgerEntry
from listings.reading import subject
from tests.integration.conftest import Exchange
from tests.integration.test_contracts import problem, reach_deal
from tests.support import SEED_LISTING, SEED_TERMS, Http, attach_resolution, iso

LISTINGS = "/api/v1/listings"
#: The exchange's clock starts on Tuesday 2026-12-01 09:00 in Beijing (tests.integration.
#: conftest.START). With the default settings but no result publicity (`quick`) the earliest
#: auction is on Monday 14 December, its deal signed by Monday 28 December: a fixed lease may
#: start on 29 December at the earliest. (With the 5-day publicity: 6 January 2027,
#: tests/unit/test_listing_rules.py.)
FIXED_TERMS: dict[str, Any] = {
    **SEED_TERMS,
    "payment": "quarterly",
    "lease_start": "2027-03-15",
    "performance_deposit_fen": 500_000,
}


def listing_with(**terms: Any) -> dict[str, Any]:
    return {**SEED_LISTING, "terms": {**SEED_TERMS, **terms}}


async def quick(anon: Http) -> None:
    """No result publicity: a deal is confirmed, and its signing period begins, at once."""
    admin = await anon.login("admin")
    await admin.ok("PUT", "/api/v1/settings", {"result_publicity_working_days": 0})


async def created(village: Http, **terms: Any) -> int:
    listing = await village.ok("POST", LISTINGS, listing_with(**terms), status=201)
    assert listing["terms"]["lease_start"] == terms.get("lease_start")
    await attach_resolution(village, listing["id"])
    return int(listing["id"])


async def test_the_contract_starts_on_the_fixed_day_and_asks_the_performance_deposit(
    exchange: Exchange,
) -> None:
    sold = await reach_deal(exchange, listing={**SEED_LISTING, "terms": FIXED_TERMS})
    final = SEED_TERMS["listing_price_fen"] + 2 * SEED_TERMS["increment_fen"]

    # The announcement shows both terms to everyone.
    public = await exchange.http.ok("GET", f"{LISTINGS}/{sold.listing_id}")
    assert public["terms"]["lease_start"] == "2027-03-15"
    assert public["terms"]["performance_deposit_fen"] == 500_000

    # The winner sees what he must pay; so does the public on a sold listing.
    for who in (sold.winner, exchange.http):
        deal = await who.ok("GET", f"{LISTINGS}/{sold.listing_id}/deal")
        assert deal["performance_deposit_fen"] == 500_000 and deal["final_fen"] == final

    # The contract: from 15 March 2027, quarterly, the bid deposit alone credited to rent.
    shown = await sold.winner.ok("GET", f"/api/v1/contracts/{sold.contract_id}")
    assert shown["lease_start"] == "2027-03-15"
    items = shown["rent_items"]
    assert len(items) == 40 and {i["amount_fen"] for i in items} == {final // 4}
    assert (items[0]["period_start"], items[0]["due_date"]) == ("2027-03-15", "2027-03-15")
    assert items[3]["period_end"] == "2028-03-14" and items[4]["period_start"] == "2028-03-15"
    assert items[-1]["period_end"] == "2037-03-14"
    assert [i["credited_fen"] for i in items[:2]] == [SEED_TERMS["deposit_fen"], 0]
    assert shown["contract_value_fen"] == 10 * final
    async with exchange.services.db.read() as session:
        contract = await session.get(Contract, sold.contract_id)
        assert contract is not None
        data = contract.data
        drafted = await session.scalar(
            select(LedgerEntry).where(
                LedgerEntry.subject == subject(sold.listing_id),
                LedgerEntry.type == "contract.drafted",
            )
        )
    assert data["version"] == content.TEMPLATE_VERSION and data["term"]["start"] == "2027年3月15日"
    assert data["term"]["end"] == "2037年3月14日" and data["term"]["basis"]
    assert "履约保证金人民币 5,000.00 元（大写：伍仟元整）" in data["performance_deposit"]["text"]
    assert drafted is not None and drafted.payload["lease_start"] == "2027-03-15"
    pdf = await sold.winner.call("GET", f"/api/v1/contracts/{sold.contract_id}/pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")

    # The listing's page shows the start and the performance deposit; the deal panel too.
    page = (await exchange.http.call("GET", f"/listings/{sold.listing_id}")).text
    assert "2027年3月15日" in page
    assert 'data-testid="performance-deposit"' in page and "伍仟元整" in page
    assert 'data-testid="deal-performance-deposit"' in page


async def test_a_fixed_start_is_refused_when_past_or_out_of_reach(exchange: Exchange) -> None:
    anon, clock = exchange.http, exchange.clock
    await quick(anon)
    village, reviewer = await anon.login("xingtian"), await anon.login("reviewer")

    # Not a date at all: refused on the wire.
    bad = await village.call("POST", LISTINGS, listing_with(lease_start="2027-02-30"))
    problem(bad, 400, "request.invalid")

    # In the past, or before any auction and signing period could end: refused at submission.
    for start, code in (
        ("2026-11-30", "terms.lease_start_past"),
        ("2026-12-28", "terms.lease_start_too_early"),
        ("2031-12-02", "terms.lease_start_too_far"),
    ):
        listing_id = await created(village, lease_start=start)
        body = problem(await village.call("POST", f"{LISTINGS}/{listing_id}/submit", {}), 422, code)
        assert body["detail"]
        shown = await village.ok("GET", f"{LISTINGS}/{listing_id}")
        assert shown["state"] == "draft"  # nothing moved

    # The earliest day is accepted at submission; a day later it can no longer be reached,
    # so the reviewer cannot accept it (and returns it instead).
    listing_id = await created(village, lease_start="2026-12-29")
    await village.ok("POST", f"{LISTINGS}/{listing_id}/submit", {})
    clock.advance(timedelta(days=1))
    await reviewer.relogin()
    review = f"{LISTINGS}/{listing_id}/review"
    refused = problem(
        await reviewer.call("POST", review, {"decision": "accept"}),
        422,
        "terms.lease_start_too_early",
    )
    assert refused["earliest"] == "2026-12-30"
    returned = await reviewer.ok("POST", review, {"decision": "return", "reason": "起租日过早"})
    assert returned["state"] == "returned"


async def test_the_announcement_keeps_the_auction_before_the_fixed_start(
    exchange: Exchange,
) -> None:
    anon, now = exchange.http, exchange.clock.now()
    await quick(anon)
    village, reviewer = await anon.login("xingtian"), await anon.login("reviewer")
    listing_id = await created(village, lease_start="2026-12-29")
    await village.ok("POST", f"{LISTINGS}/{listing_id}/submit", {})
    await reviewer.ok("POST", f"{LISTINGS}/{listing_id}/review", {"decision": "accept"})
    announce = f"{LISTINGS}/{listing_id}/announce"
    closes = now + timedelta(days=10, hours=8)  # Friday 11 December, 17:00
    # An auction on Tuesday 15 December is signed by 29 December: too late for the 29th.
    late = {"registration_closes_at": iso(closes), "auction_starts_at": iso(closes + timedelta(4))}
    body = problem(
        await reviewer.call("POST", announce, late), 422, "announce.lease_start_before_signing"
    )
    assert body["earliest"] == "2026-12-30"
    # On Monday 14 December it fits.
    timely = {**late, "auction_starts_at": iso(closes + timedelta(days=2, hours=16, minutes=30))}
    announced = await reviewer.ok("POST", announce, timely)
    assert announced["state"] == "announced"
    assert announced["auction_starts_at"].startswith("2026-12-14T01:30:00")
