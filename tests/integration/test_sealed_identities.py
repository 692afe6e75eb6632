"""Insiders cannot see or steer what they should not (docs/security.md): staff outside the
listing's region see only what the public sees; from qualification until the hammer nobody,
staff included, can tie a bidder number to a person; a village cannot count applicants while
registration is open; a stranger's bid leaves no trace. One regression test per finding."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from auction.models import Bid
from core.accounts import NewUser, add_user
from core.ledger import LedgerEntry
from oversight import jobs
from tests.integration.conftest import Exchange
from tests.integration.test_auction_api import bid, running
from tests.integration.test_pages import Browser
from tests.support import (
    PASSWORD,
    SEED_LISTING,
    SEED_TERMS,
    entrust_review_announce,
    on_a_weekday,
    phone,
    resident_id,
    sign_up_and_qualify,
)

#: Staff of another town than 洛阳镇, whose village 杏田村 lists the reference asset.
OTHER_TOWN = "福建省/泉州市/泉州台商投资区/张坂镇"


async def outsiders(ex: Exchange) -> dict[str, Any]:
    async with ex.services.db.write() as session:
        for name, role in (("far-regulator", "regulator"), ("far-reviewer", "reviewer")):
            await add_user(
                session,
                NewUser(name, role, PASSWORD, name, OTHER_TOWN),
                actor="test",
                now=ex.clock.now(),
                passwords=ex.services.passwords,
            )
    return {
        "regulator": await ex.http.login("far-regulator"),
        "reviewer": await ex.http.login("far-reviewer"),
    }


async def entrust_with_document(ex: Exchange) -> dict[str, Any]:
    """The reference listing with its resolution attached, announced."""
    village = await ex.http.login("xingtian")
    draft = await village.ok("POST", "/api/v1/listings", SEED_LISTING, status=201)
    await village.ok(
        "POST",
        f"/api/v1/listings/{draft['id']}/documents",
        files={"file": ("决议.pdf", b"%PDF-1.4\n%%EOF\n", "application/pdf")},
        data={"kind": "village_resolution"},
        status=201,
    )
    await village.ok("POST", f"/api/v1/listings/{draft['id']}/submit", {})
    reviewer = await ex.http.login("reviewer")
    path = f"/api/v1/listings/{draft['id']}"
    await reviewer.ok("POST", f"{path}/review", {"decision": "accept", "reason": "材料齐全"})
    closes = on_a_weekday(ex.clock.now() + timedelta(days=12))
    await reviewer.ok(
        "POST",
        f"{path}/announce",
        {
            "registration_closes_at": closes.isoformat(),
            "auction_starts_at": (closes + timedelta(days=1)).isoformat(),
        },
    )
    return await village.ok("GET", path)  # type: ignore[no-any-return]


async def end_auction(ex: Exchange) -> None:
    ex.clock.advance(timedelta(seconds=301))
    await ex.tick()


async def page(ex: Exchange, username: str, path: str, status: int = 200) -> str:
    browser = Browser(ex)
    try:
        await browser.login(username)
        return await browser.get(path, status)
    finally:
        await browser.close()


async def test_staff_outside_the_region_see_only_what_the_public_sees(exchange: Exchange) -> None:
    listing_id, people, _ = await running(exchange)
    assert (await bid(people[0], listing_id, 1_224_000)).status_code == 200
    await end_auction(exchange)
    far = await outsiders(exchange)
    for who in far.values():
        for path in (
            f"/api/v1/listings/{listing_id}/registrations",
            f"/api/v1/listings/{listing_id}/timeline",
            f"/api/v1/auctions/{listing_id}/ladder",
        ):
            response = await who.call("GET", path)
            assert response.status_code == 404, (who.username, path, response.text)
        public = await who.ok("GET", f"/api/v1/listings/{listing_id}")
        assert "reserve_fen" not in public["terms"]
    # Documents: a public (announced) listing's files are its village's and its staff's.
    relisted = await entrust_with_document(exchange)
    document = relisted["documents"][0]["id"]
    path = f"/api/v1/listings/{relisted['id']}/documents/{document}"
    for who in far.values():
        assert (await who.call("GET", path)).status_code == 404
    assert (await (await exchange.http.login("regulator")).call("GET", path)).status_code == 200
    bundle = await far["regulator"].call("GET", f"/api/v1/ledger/bundle?listing_id={listing_id}")
    assert bundle.status_code == 404
    await page(exchange, "far-regulator", f"/oversight/listings/{listing_id}", 404)
    await page(exchange, "far-reviewer", f"/review/listings/{listing_id}", 404)
    # The same requests inside the region are answered.
    regulator = await exchange.http.login("regulator")
    await regulator.ok("GET", f"/api/v1/listings/{listing_id}/timeline")
    await regulator.ok("GET", f"/api/v1/ledger/bundle?listing_id={listing_id}")


async def test_no_one_ties_a_number_to_a_person_until_the_hammer(exchange: Exchange) -> None:
    listing_id, people, registrations = await running(exchange)
    numbers = [r["bidder_number"] for r in registrations]
    assert (await bid(people[0], listing_id, 1_224_000)).status_code == 200
    assert (await bid(people[1], listing_id, 1_248_000)).status_code == 200
    regulator = await exchange.http.login("regulator")
    reviewer = await exchange.http.login("reviewer")
    users = {r["bidder_number"]: p.username for r, p in zip(registrations, people, strict=True)}

    # Live: staff lists carry neither numbers nor names; timelines and pages name nobody.
    for staff in (regulator, reviewer):
        listed = await staff.ok("GET", f"/api/v1/listings/{listing_id}/registrations")
        for item in listed["items"]:
            assert item.get("bidder_number") is None and item.get("bidder") is None
        single = await staff.ok("GET", f"/api/v1/registrations/{registrations[0]['id']}")
        assert single.get("bidder_number") is None
        timeline = await staff.ok("GET", f"/api/v1/listings/{listing_id}/timeline")
        for entry in timeline["entries"]:
            if entry["actor"].get("role") == "bidder":
                assert entry["actor"]["name"] is None and "id" not in entry["actor"]
            # A registration id next to a number would be a link (the list names applicants).
            assert not {"registration_id", "bidder_id"} & set(entry["details"]), entry
    svc = exchange.services
    await jobs.scan_warnings(jobs.JobContext.of(svc.config, svc.db, svc.clock), force=True)
    listed = await regulator.ok("GET", f"/api/v1/warnings?listing_id={listing_id}")
    shared = [w for w in listed["items"] if w["kind"] == "shared_ip"]
    assert shared, listed  # both bidders came from the test client's address
    for warning in shared:
        assert {b["bidder_number"] for b in warning["evidence"]["bidders"]} == set(numbers)
        assert all(
            "bidder_id" not in b and "registration_id" not in b
            for b in warning["evidence"]["bidders"]
        )
        assert "ip" not in warning["evidence"]  # the shared value too, until the end
    sealed = await regulator.call("GET", f"/api/v1/ledger/bundle?listing_id={listing_id}")
    assert sealed.status_code == 409 and sealed.json()["code"] == "ledger_bundle.sealed"
    names = ["竞买人1", "竞买人2"]
    for username, path in (
        ("regulator", f"/oversight/listings/{listing_id}"),
        ("reviewer", f"/review/listings/{listing_id}"),
    ):
        html = await page(exchange, username, path)
        for name in names + list(users.values()):
            assert name not in html, (path, name)

    # After the end, staff in the region see who held which number.
    await end_auction(exchange)
    listed = await regulator.ok("GET", f"/api/v1/listings/{listing_id}/registrations")
    assert {i["bidder_number"] for i in listed["items"]} == set(numbers)
    assert {i["bidder"]["name"] for i in listed["items"]} == set(names)
    await regulator.ok("GET", f"/api/v1/ledger/bundle?listing_id={listing_id}")
    listed = await regulator.ok("GET", f"/api/v1/warnings?listing_id={listing_id}")
    evidence = next(w for w in listed["items"] if w["kind"] == "shared_ip")["evidence"]
    assert all("bidder_id" in b for b in evidence["bidders"]) and evidence["ip"]
    ladder = await regulator.ok("GET", f"/api/v1/auctions/{listing_id}/ladder")
    assert set(ladder["bidders"]) == set(numbers)
    html = await page(exchange, "regulator", f"/oversight/listings/{listing_id}")
    assert all(name in html for name in names)


async def test_the_village_cannot_count_applicants_while_registration_is_open(
    exchange: Exchange,
) -> None:
    now = exchange.clock.now()
    listing_id, _, reviewer = await entrust_review_announce(
        exchange.http, now, closes_in=timedelta(days=10), starts_in=timedelta(days=11)
    )
    await sign_up_and_qualify(exchange.http, reviewer, listing_id, 2)
    html = await page(exchange, "xingtian", f"/village/listings/{listing_id}")
    for shown in ("竞买人报名", "保证金到账", "资格审核通过"):
        assert shown not in html, shown
    exchange.clock.advance(timedelta(days=10, seconds=1))
    await exchange.tick()
    html = await page(exchange, "xingtian", f"/village/listings/{listing_id}")
    assert html.count("竞买人报名") == 2


async def test_a_strangers_bid_is_refused_before_anything_is_written(exchange: Exchange) -> None:
    listing_id, _, _ = await running(exchange)
    mobile = phone()
    await exchange.http.ok(
        "POST",
        "/api/v1/bidders",
        {
            "name": "路人甲",
            "id_type": "resident_id",
            "id_number": resident_id(),
            "phone": mobile,
            "password": PASSWORD,
        },
        status=201,
    )
    stranger = await exchange.http.login(mobile)

    async def traces() -> tuple[int, int]:
        async with exchange.services.db.read() as session:
            bids = await session.scalar(
                select(func.count()).select_from(Bid).where(Bid.listing_id == listing_id)
            )
            entries = await session.scalar(select(func.count()).select_from(LedgerEntry))
        return int(bids or 0), int(entries or 0)

    before = await traces()
    for _ in range(3):
        refused = await bid(stranger, listing_id, SEED_TERMS["listing_price_fen"] + 24_000)
        assert refused.status_code == 403 and refused.json()["code"] == "not_qualified"
    assert await traces() == before


async def test_the_rules_are_fixed_at_announcement(exchange: Exchange) -> None:
    admin = await exchange.http.login("admin")
    announced_with = {"free_bidding_minutes": 0, "countdown_seconds": 300, "max_steps": 10}
    await admin.ok("PUT", "/api/v1/settings", {**announced_with, "min_qualified_bidders": 2})
    start = exchange.clock.now()
    listing_id, _, reviewer = await entrust_review_announce(
        exchange.http, start, closes_in=timedelta(days=10), starts_in=timedelta(days=11)
    )
    listing = await exchange.http.ok("GET", f"/api/v1/listings/{listing_id}")
    assert {k: listing["rules"][k] for k in announced_with} == announced_with
    public = Browser(exchange)
    html = await public.get(f"/listings/{listing_id}")
    await public.close()
    assert "竞价须知" in html and "重新计时 300 秒" in html and "公告期不少于" in html
    await sign_up_and_qualify(exchange.http, reviewer, listing_id, 2)
    # The administrator changes the rules while the listing is announced: not for this one.
    await admin.ok(
        "PUT",
        "/api/v1/settings",
        {
            "free_bidding_minutes": 30,
            "countdown_seconds": 60,
            "max_steps": 3,
            "min_qualified_bidders": 5,
        },
    )
    exchange.clock.advance(timedelta(days=11, seconds=1))
    await exchange.tick()
    snapshot = await exchange.http.ok("GET", f"/api/v1/auctions/{listing_id}")
    assert snapshot["status"] == "countdown"  # no free bidding, and two bidders were enough
    starts = datetime.fromisoformat(listing["auction_starts_at"])
    assert datetime.fromisoformat(snapshot["ends_at"]) == starts + timedelta(seconds=300)
    listing = await exchange.http.ok("GET", f"/api/v1/listings/{listing_id}")
    assert listing["rules"]["max_steps"] == 10
