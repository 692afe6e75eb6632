"""Each step of a trade tells the people it concerns, in the step's own transaction: deposit
received, qualified or not (with the reason), the auction in 30 minutes (once) and started,
won / not won with the refund date, the lease to sign and signed, the refund paid, rent due
in 7 days and overdue (once each). No notice names another bidder or any bidder number."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select

from app import scheduler
from contracts.models import RentItem
from core.clock import CHINA_TZ
from core.notices import Notice
from listings import Listing
from tests.integration.conftest import Exchange
from tests.support import (
    PASSWORD,
    SEED_TERMS,
    Http,
    entrust_review_announce,
    phone,
    resident_id,
    sign_up_and_qualify,
)

STEP = SEED_TERMS["increment_fen"]


async def inbox(who: Http) -> list[dict[str, Any]]:
    await who.relogin()
    return list((await who.ok("GET", "/api/v1/me/notices?limit=100"))["items"])


def kinds(items: list[dict[str, Any]]) -> Counter[str]:
    return Counter(n["kind"] for n in items)


async def test_a_trade_tells_each_party_at_each_step(exchange: Exchange) -> None:
    anon, clock, svc = exchange.http, exchange.clock, exchange.services
    admin = await anon.login("admin")
    await admin.ok("PUT", "/api/v1/settings", {"free_bidding_minutes": 0, "countdown_seconds": 60})
    lid, _, reviewer = await entrust_review_announce(
        anon, clock.now(), closes_in=timedelta(days=10), starts_in=timedelta(days=11)
    )
    (a, b), regs = await sign_up_and_qualify(anon, reviewer, lid, 2)
    for who in (a, b):
        got = await inbox(who)
        assert kinds(got) == {"deposit_received": 1, "qualified": 1}
        assert got[0]["kind"] == "qualified" and got[0]["read"] is False

    # A third pays and is turned down, with the reason and the date the deposit comes back.
    mobile = phone()
    await anon.ok(
        "POST",
        "/api/v1/bidders",
        {
            "name": "竞买人丙",
            "id_type": "resident_id",
            "id_number": resident_id(),
            "phone": mobile,
            "password": PASSWORD,
        },
        status=201,
    )
    c = await anon.login(mobile)
    reg = await c.ok("POST", f"/api/v1/listings/{lid}/registrations", {}, status=201)
    assert (await anon.pay(reg["payment_reference"], reg["deposit_fen"])).status_code == 200
    await reviewer.ok(
        "POST",
        f"/api/v1/registrations/{reg['id']}/review",
        {"decision": "reject", "reason": "营业执照已过期"},
    )
    [rejected] = [n for n in await inbox(c) if n["kind"] == "rejected"]
    assert "营业执照已过期" in rejected["body"] and "前原路退还" in rejected["body"]

    # Registration closes; the reminder goes out once, 30 minutes before the start.
    clock.advance(timedelta(days=10, seconds=1))
    await exchange.tick()
    async with svc.db.read() as session:
        listing = await session.get(Listing, lid)
        assert listing is not None and listing.auction_starts_at is not None
        starts = listing.auction_starts_at
    clock.set(starts - timedelta(minutes=31))
    await scheduler.remind_auctions(svc)
    assert "auction_soon" not in kinds(await inbox(a))
    clock.set(starts - timedelta(minutes=29))
    await scheduler.remind_auctions(svc)
    clock.advance(timedelta(minutes=1))
    await scheduler.remind_auctions(svc)
    for who in (a, b):
        assert kinds(await inbox(who))["auction_soon"] == 1
    assert "auction_soon" not in kinds(await inbox(c))

    clock.set(starts)
    await exchange.tick()
    for who in (a, b):
        assert kinds(await inbox(who))["auction_started"] == 1
    price = SEED_TERMS["listing_price_fen"]
    for n, who in enumerate((a, b, a)):
        price += STEP
        await (await who.relogin()).ok(
            "POST", f"/api/v1/auctions/{lid}/bids", {"amount_fen": price, "ref": f"b{n}"}
        )
        clock.advance(timedelta(seconds=5))
        await exchange.tick()
    clock.advance(timedelta(seconds=61))
    await exchange.tick()
    [won] = [n for n in await inbox(a) if n["kind"] == "won"]
    assert "成交价" in won["body"]
    [lost] = [n for n in await inbox(b) if n["kind"] == "not_won"]
    assert "其他竞买人竞得" in lost["body"]

    # The lease: the village is told to sign, then the winner, then both that it is signed.
    await exchange.past_publicity(lid)
    village = await anon.login("xingtian")
    [ready] = [n for n in await inbox(village) if n["kind"] == "contract_ready"]
    assert "请在" in ready["body"] and ready["link"] == f"/village/listings/{lid}"
    deal = await anon.ok("GET", f"/api/v1/listings/{lid}/deal")
    path = f"/api/v1/contracts/{deal['contract_id']}"
    assert "contract_ready" not in kinds(await inbox(a))
    await village.ok("POST", f"{path}/sign", {"password": PASSWORD})
    assert kinds(await inbox(a))["contract_ready"] == 1
    clock.advance(timedelta(hours=1))
    await (await a.relogin()).ok("POST", f"{path}/sign", {"password": PASSWORD})
    assert kinds(await inbox(a))["contract_signed"] == 1
    assert kinds(await inbox(village))["contract_signed"] == 1

    # Refunds paid by the bank: each bidder who is owed one is told.
    await (await reviewer.relogin()).ok(
        "POST", f"/api/v1/listings/{lid}/refunds", {"bank_batch": "BATCH-1"}
    )
    assert kinds(await inbox(c))["refund_paid"] == 1
    assert kinds(await inbox(b))["refund_paid"] == 1

    # Rent: 7 days before an item falls due, and the day after, once each.
    async with svc.db.read() as session:
        item = await session.scalar(
            select(RentItem)
            .where(RentItem.listing_id == lid, RentItem.state == "open")
            .order_by(RentItem.number)
        )
        assert item is not None
    due_day = item.due_date
    day = timedelta(days=1)
    clock.set(_beijing_noon(due_day - 8 * day))
    await scheduler.remind_rent(svc)
    assert "rent_due" not in kinds(await inbox(a))
    clock.set(_beijing_noon(due_day - 6 * day))
    await scheduler.remind_rent(svc)
    await scheduler.remind_rent(svc)
    clock.set(_beijing_noon(due_day + day))
    await scheduler.remind_rent(svc)
    await scheduler.remind_rent(svc)
    got = kinds(await inbox(a))
    assert (got["rent_due"], got["rent_overdue"]) == (1, 1)

    # Nothing names a bidder number; each notice went to its own person only.
    numbers = [r["bidder_number"] for r in regs]
    async with svc.db.read() as session:
        every = list(await session.scalars(select(Notice)))
    assert every and not [n for n in every if any(x in n.body + n.title for x in numbers)]
    assert all(n.link is None or n.link.startswith("/") for n in every)


def _beijing_noon(day: date) -> datetime:
    return datetime.combine(day, time(12), CHINA_TZ)
