"""A listing's auction variant (竞价方式) through the API and the pages, on both databases: a
fixed-end listing is announced with its rule, opens as a fixed-end auction, late bids extend
its end up to the cap, and it ends there with the last leader as winner."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from auction.engine import Mode
from auction.models import Auction
from tests.integration.conftest import Exchange
from tests.integration.test_auction_api import bid, problem
from tests.integration.test_pages import ENTRUSTMENT, Browser, error_of
from tests.support import SEED_LISTING, entrust_review_announce, sign_up_and_qualify

#: A bidding period of 60 minutes; a bid with under 5 minutes left moves the end to 5 minutes
#: after it; never past 70 minutes after the start.
FIXED_END = {
    "auction_mode": "fixed_end",
    "duration_minutes": 60,
    "extension_seconds": 300,
    "hard_cap_minutes": 70,
}
START, STEP = 1_200_000, 24_000


def when(value: str) -> datetime:
    return datetime.fromisoformat(value)


async def test_a_fixed_end_auction_extends_on_late_bids_up_to_its_cap(exchange: Exchange) -> None:
    clock = exchange.clock
    body = {**SEED_LISTING, "terms": {**SEED_LISTING["terms"], **FIXED_END}}
    listing_id, _, reviewer = await entrust_review_announce(
        exchange.http,
        clock.now(),
        closes_in=timedelta(days=10),
        starts_in=timedelta(days=11),
        listing=body,
    )
    listing = await exchange.http.ok("GET", f"/api/v1/listings/{listing_id}")
    assert {k: listing["terms"][k] for k in FIXED_END} == FIXED_END
    starts_at = when(listing["auction_starts_at"])
    public = Browser(exchange)
    html = await public.get(f"/listings/{listing_id}")
    rule = (
        "限时竞价：竞价期 60 分钟，最后 300 秒内有出价的，结束时间延至该出价后 300 秒，"
        "最长延至开始后 70 分钟"
    )
    assert html.count(rule) == 2  # the terms and the announcement's 竞价须知
    assert "重新计时" not in html

    (a, b), registrations = await sign_up_and_qualify(exchange.http, reviewer, listing_id, 2)
    number_a = registrations[0]["bidder_number"]
    clock.advance(starts_at - clock.now() + timedelta(seconds=1))
    await exchange.tick()
    for person in (a, b):
        await person.relogin()
    async with exchange.services.db.read() as session:
        row = await session.get(Auction, listing_id)
        assert row is not None and row.rules.mode is Mode.FIXED_END
        assert row.rules.hard_deadline == starts_at + timedelta(minutes=70)

    snap = await exchange.http.ok("GET", f"/api/v1/auctions/{listing_id}")
    scheduled_end = starts_at + timedelta(minutes=60)
    assert (snap["status"], snap["mode"]) == ("free", "fixed_end")
    assert when(snap["ends_at"]) == scheduled_end
    assert when(snap["fixed_end"]["scheduled_end"]) == scheduled_end
    assert snap["fixed_end"]["extension_seconds"] == 300
    assert when(snap["fixed_end"]["hard_deadline"]) == starts_at + timedelta(minutes=70)

    async def at(minutes: float) -> None:
        clock.advance(starts_at + timedelta(minutes=minutes) - clock.now())
        await exchange.tick()

    async def ends_after(who: Any, amount: int, minutes: float) -> datetime:
        """Bid at `minutes` after the start; the end the auction has after it."""
        await at(minutes)
        assert (await bid(who, listing_id, amount)).status_code == 200
        snap = await exchange.http.ok("GET", f"/api/v1/auctions/{listing_id}")
        assert snap["status"] == "free"
        return when(snap["ends_at"])

    def minute(m: float) -> datetime:
        return starts_at + timedelta(minutes=m)

    # Early bids, and one with exactly the window left, leave the end where it is.
    assert await ends_after(a, START, 1) == scheduled_end
    assert await ends_after(b, START + STEP, 55) == scheduled_end
    # With less than 300 s left the end moves to 300 s after the bid (延时).
    assert await ends_after(a, START + 2 * STEP, 58.5) == minute(63.5)
    await at(61)  # past the scheduled end: still running
    assert await ends_after(b, START + 3 * STEP, 62) == minute(67)
    # The cap: 66 + 5 would be 71, the end stops at 70; a bid at 69 moves it no further.
    assert await ends_after(a, START + 4 * STEP, 66) == minute(70)
    live = await public.get(f"/auctions/{listing_id}")
    assert '<span class="label" id="phase-label">延时竞价</span>' in live
    assert "距竞价结束；最后 300 秒内有出价的，结束时间延至该出价后 300 秒" in live
    assert await ends_after(b, START + 5 * STEP, 69) == minute(70)

    clock.advance(minute(70) - clock.now() - timedelta(milliseconds=1))
    await exchange.tick()
    snap = await exchange.http.ok("GET", f"/api/v1/auctions/{listing_id}")
    assert snap["status"] == "free"
    await at(70)
    snap = await exchange.http.ok("GET", f"/api/v1/auctions/{listing_id}")
    assert snap["status"] == "ended" and snap["round"] == 6
    assert snap["result"] == {
        "result": "sold",
        "final_fen": START + 5 * STEP,
        "winner_number": registrations[1]["bidder_number"],
    }
    assert snap["leader_number"] != number_a
    problem(await bid(a, listing_id, START + 6 * STEP), 409, "not_running")
    deal = await exchange.http.ok("GET", f"/api/v1/listings/{listing_id}/deal")
    assert (deal["kind"], deal["final_fen"], deal["rounds"]) == ("auction", START + 5 * STEP, 6)
    await public.close()


async def test_a_fixed_end_without_a_late_bid_ends_at_its_scheduled_end(
    exchange: Exchange,
) -> None:
    terms = {**SEED_LISTING["terms"], **FIXED_END, "hard_cap_minutes": None}
    listing_id, _, reviewer = await entrust_review_announce(
        exchange.http,
        exchange.clock.now(),
        closes_in=timedelta(days=10),
        starts_in=timedelta(days=11),
        listing={**SEED_LISTING, "terms": terms},
    )
    (a, _), registrations = await sign_up_and_qualify(exchange.http, reviewer, listing_id, 2)
    exchange.clock.advance(timedelta(days=11, minutes=10))
    await exchange.tick()
    await a.relogin()
    assert (await bid(a, listing_id, START)).status_code == 200
    snap = await exchange.http.ok("GET", f"/api/v1/auctions/{listing_id}")
    assert snap["fixed_end"]["hard_deadline"] is None
    exchange.clock.advance(timedelta(minutes=50) - timedelta(milliseconds=1))
    await exchange.tick()
    assert (await exchange.http.ok("GET", f"/api/v1/auctions/{listing_id}"))["status"] == "free"
    exchange.clock.advance(timedelta(milliseconds=1))
    await exchange.tick()
    snap = await exchange.http.ok("GET", f"/api/v1/auctions/{listing_id}")
    assert snap["status"] == "ended"
    assert snap["result"]["winner_number"] == registrations[0]["bidder_number"]


async def test_the_api_refuses_a_variant_without_its_fields(exchange: Exchange) -> None:
    village = await exchange.http.login("xingtian")

    async def refused(terms: dict[str, Any], code: str) -> None:
        body = {**SEED_LISTING, "terms": {**SEED_LISTING["terms"], **terms}}
        response = await village.call("POST", "/api/v1/listings", body)
        assert response.status_code == 400, response.text
        assert response.json()["code"] == code

    await refused({**FIXED_END, "duration_minutes": None}, "terms.fixed_end.duration_required")
    await refused({**FIXED_END, "extension_seconds": None}, "terms.fixed_end.extension_required")
    await refused({**FIXED_END, "hard_cap_minutes": 59}, "terms.fixed_end.cap_before_end")
    await refused({**FIXED_END, "countdown_seconds": 60}, "terms.fixed_end.countdown_fields")
    await refused({"duration_minutes": 60}, "terms.countdown.fixed_end_fields")
    # The variant is checked on a change of the terms too.
    created = await village.ok("POST", "/api/v1/listings", SEED_LISTING, status=201)
    assert created["terms"]["auction_mode"] == "countdown"
    changed = await village.call(
        "PATCH",
        f"/api/v1/listings/{created['id']}",
        {"terms": {**SEED_LISTING["terms"], "auction_mode": "fixed_end"}},
    )
    assert changed.status_code == 400
    assert changed.json()["code"] == "terms.fixed_end.duration_required"


async def test_the_entrustment_form_chooses_the_variant(exchange: Exchange) -> None:
    village = await Browser(exchange).login("xingtian")
    form = {
        **ENTRUSTMENT,
        "auction_mode": "fixed_end",
        "duration_minutes": "60",
        "extension_seconds": "300",
        "hard_cap_minutes": "45",
    }
    await village.get("/village/listings/new")
    response = await village.post("/village/listings/new", form, status=400)
    code, message = error_of(response.text, "hard_cap_minutes")
    assert code == "terms.fixed_end.cap_before_end" and "60" in message
    await village.get("/village/listings/new")
    response = await village.post(
        "/village/listings/new", {**form, "duration_minutes": ""}, status=400
    )
    assert error_of(response.text, "duration_minutes")[0] == "form.required"
    # Numbers left in the fixed-end fields do not count once the countdown is chosen again.
    await village.get("/village/listings/new")
    response = await village.post("/village/listings/new", {**form, "auction_mode": "countdown"})
    countdown_page = await village.get(response.headers["location"])
    assert "自由竞价＋倒计时（每次出价后重新计时" in countdown_page

    await village.get("/village/listings/new")
    response = await village.post("/village/listings/new", {**form, "hard_cap_minutes": "90"})
    location = response.headers["location"]
    page = await village.get(location)
    assert "限时竞价：竞价期 60 分钟，最后 300 秒内有出价的" in page
    assert "最长延至开始后 90 分钟" in page
    listing_id = int(location.rsplit("/", 1)[-1].split("?")[0])
    listing = await (await exchange.http.login("xingtian")).ok(
        "GET", f"/api/v1/listings/{listing_id}"
    )
    assert {k: listing["terms"][k] for k in FIXED_END} == {**FIXED_END, "hard_cap_minutes": 90}
    edit = await village.get(f"/village/listings/{listing_id}/edit")
    assert '<option value="fixed_end" selected>' in edit
    assert 'name="hard_cap_minutes" type="text" value="90"' in edit
    await village.close()
