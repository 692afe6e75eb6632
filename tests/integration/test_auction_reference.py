"""Reference-case steps 4–5 in-process: 50 alternating one-step bids, the countdown, the deal."""

from __future__ import annotations

from datetime import timedelta

from core import ledger
from tests.integration.conftest import Exchange
from tests.support import SEED_TERMS, entrust_review_announce, sign_up_and_qualify


async def test_reference_auction_fifty_rounds_to_a_deal(exchange: Exchange) -> None:
    anon, clock = exchange.http, exchange.clock
    admin = await anon.login("admin")
    await admin.ok("PUT", "/api/v1/settings", {"free_bidding_minutes": 0, "countdown_seconds": 300})
    listing_id, _, reviewer = await entrust_review_announce(
        anon, clock.now(), closes_in=timedelta(days=10), starts_in=timedelta(days=11)
    )
    bidders, registrations = await sign_up_and_qualify(anon, reviewer, listing_id)
    clock.advance(timedelta(days=10, seconds=1))
    await exchange.tick()
    snap = await anon.ok("GET", f"/api/v1/auctions/{listing_id}")
    assert snap["status"] == "scheduled"
    clock.advance(timedelta(days=1))
    await exchange.tick()
    snap = await anon.ok("GET", f"/api/v1/auctions/{listing_id}")
    assert snap["status"] == "countdown" and snap["current_fen"] == 1_200_000
    for bidder in bidders:
        await bidder.relogin()

    price = SEED_TERMS["listing_price_fen"]
    for n in range(50):
        price += SEED_TERMS["increment_fen"]
        bidder = bidders[n % 2]
        answer = await bidder.ok(
            "POST", f"/api/v1/auctions/{listing_id}/bids", {"amount_fen": price, "ref": f"b{n}"}
        )
        assert answer["state"] == "accepted" and answer["round"] == n + 1
        clock.advance(timedelta(seconds=30))
        await exchange.tick()

    snap = await anon.ok("GET", f"/api/v1/auctions/{listing_id}")
    assert (snap["round"], snap["current_fen"]) == (50, 2_400_000)
    assert snap["leader_number"] == registrations[1]["bidder_number"]
    clock.advance(timedelta(seconds=300))
    await exchange.tick()
    snap = await anon.ok("GET", f"/api/v1/auctions/{listing_id}")
    assert snap["status"] == "ended"
    assert snap["result"] == {
        "result": "sold",
        "final_fen": 2_400_000,
        "winner_number": registrations[1]["bidder_number"],
    }

    deal = await anon.ok("GET", f"/api/v1/listings/{listing_id}/deal")
    assert deal["final_fen"] == 2_400_000 and deal["rounds"] == 50
    assert deal["premium_rate"] == "100.00"
    assert deal["income"] == {
        "premium_per_year_fen": 1_200_000,
        "premium_over_term_fen": 12_000_000,
        "contract_value_fen": 24_000_000,
    }
    assert (await anon.ok("GET", f"/api/v1/listings/{listing_id}"))["state"] == "sold"
    mine = await bidders[0].ok("GET", "/api/v1/registrations")
    assert mine["items"][0]["deposit_state"] == "refundable"
    async with exchange.services.db.read() as session:
        assert await ledger.verify_subject(session, f"listing:{listing_id}") is None
