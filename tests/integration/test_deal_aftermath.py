"""After the hammer (docs/domain.md §6): the result publicity (成交公示) and objections (异议),
refund dates, a winner's default (违约) with the deposit forfeited, the runner-up (候补)
offered the deal, and relisting after a voided deal — through the API, on both databases.

The auction ends on Saturday 2026-12-12 (Beijing); five working days counted from the next
day are Mon 14 … Fri 18 December, so the publicity and the refund period end at 24:00 of
Friday 18 December.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select

from auction.models import Deal
from core.clock import CHINA_TZ
from core.ledger.models import LedgerEntry
from oversight import jobs
from tests.integration.conftest import Exchange
from tests.support import (
    PASSWORD,
    RESOLUTION_PDF,
    SEED_LISTING,
    SEED_TERMS,
    Http,
    entrust_review_announce,
    phone,
    resident_id,
    sign_up_and_qualify,
)

FRIDAY_MIDNIGHT = datetime(2026, 12, 19, 0, 0, tzinfo=CHINA_TZ)
STEP = SEED_TERMS["increment_fen"]
DEPOSIT = SEED_TERMS["deposit_fen"]


def problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.text)
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    return body


def at(value: str | None) -> datetime:
    assert value is not None
    return datetime.fromisoformat(value)


@dataclass
class Hammer:
    listing_id: int
    winner: Http
    runner_up: Http
    onlooker: Http  # registered and qualified, never bid
    registrations: list[dict[str, Any]]
    village: Http
    reviewer: Http


async def hammer(exchange: Exchange, on_default: str) -> Hammer:
    """Three qualified bidders; A bids the start +1 step, B +2, A +3 and wins."""
    anon, clock = exchange.http, exchange.clock
    admin = await anon.login("admin")
    await admin.ok("PUT", "/api/v1/settings", {"free_bidding_minutes": 0, "countdown_seconds": 60})
    listing = {**SEED_LISTING, "terms": {**SEED_TERMS, "on_default": on_default}}
    listing_id, village, reviewer = await entrust_review_announce(
        anon,
        clock.now(),
        closes_in=timedelta(days=10),
        starts_in=timedelta(days=11),
        listing=listing,
    )
    people, registrations = await sign_up_and_qualify(anon, reviewer, listing_id, 3)
    clock.advance(timedelta(days=10, seconds=1))
    await exchange.tick()
    clock.advance(timedelta(days=1))
    await exchange.tick()
    a, b, c = people
    for person in people:
        await person.relogin()
    for n, who in enumerate((a, b, a), start=1):
        amount = SEED_TERMS["listing_price_fen"] + n * STEP
        await who.ok(
            "POST", f"/api/v1/auctions/{listing_id}/bids", {"amount_fen": amount, "ref": f"b{n}"}
        )
        clock.advance(timedelta(seconds=5))
        await exchange.tick()
    clock.advance(timedelta(seconds=61))
    await exchange.tick()
    village = await anon.login("xingtian")
    return Hammer(listing_id, a, b, c, registrations, village, await reviewer.relogin())


async def ledger_types(exchange: Exchange, listing_id: int) -> list[str]:
    async with exchange.services.db.read() as session:
        rows = await session.scalars(
            select(LedgerEntry.type)
            .where(LedgerEntry.subject == f"listing:{listing_id}")
            .order_by(LedgerEntry.id)
        )
        return list(rows)


async def test_an_upheld_objection_passes_the_deal_to_the_runner_up(exchange: Exchange) -> None:
    h = await hammer(exchange, "runner_up")
    lid, anon = h.listing_id, exchange.http
    deal = await anon.ok("GET", f"/api/v1/listings/{lid}/deal")
    assert deal["deal_state"] == "publicity" and deal["contract_id"] is None
    assert deal["final_fen"] == SEED_TERMS["listing_price_fen"] + 3 * STEP
    assert at(deal["publicity_ends_at"]) == at(deal["objections_close_at"]) == FRIDAY_MIDNIGHT

    # The bidders see the dates: the onlooker's deposit is due back by the same Friday, 24:00;
    # the runner-up's is kept as the backup.
    [mine] = (await h.onlooker.ok("GET", "/api/v1/registrations"))["items"]
    assert mine["deposit_state"] == "refundable"
    assert at(mine["refund_due_at"]) == at(mine["publicity_ends_at"]) == FRIDAY_MIDNIGHT
    backup = await h.runner_up.ok("GET", f"/api/v1/registrations/{h.registrations[1]['id']}")
    assert backup["deposit_state"] == "held" and "refund_due_at" not in backup

    # Only a bidder of the listing may object, with reasons.
    mobile = phone()
    await anon.ok(
        "POST",
        "/api/v1/bidders",
        {
            "name": "路人",
            "id_type": "resident_id",
            "id_number": resident_id(),
            "phone": mobile,
            "password": PASSWORD,
        },
        status=201,
    )
    stranger = await anon.login(mobile)
    body = {"reasons": "竞得人与村干部存在关联关系，附相关材料"}
    problem(
        await stranger.call("POST", f"/api/v1/listings/{lid}/objections", body),
        409,
        "objection.not_a_bidder",
    )
    problem(
        await h.onlooker.call("POST", f"/api/v1/listings/{lid}/objections", {"reasons": "  "}),
        400,
        "objection.reasons_required",
    )
    filed = await h.onlooker.ok("POST", f"/api/v1/listings/{lid}/objections", body, status=201)
    assert filed["state"] == "filed"
    # Evidence goes with it, from the objector only.
    evidence = f"/api/v1/objections/{filed['id']}/documents"
    upload = {"files": {"file": ("关联关系说明.pdf", RESOLUTION_PDF, "application/pdf")}}
    problem(await h.runner_up.call("POST", evidence, **upload), 404, "objection.not_found")
    proof = await h.onlooker.ok("POST", evidence, status=201, **upload)
    assert (proof["kind"], proof["filename"]) == ("objection_evidence", "关联关系说明.pdf")
    # The runner-up objects too, on other grounds.
    other = await h.runner_up.ok(
        "POST", f"/api/v1/listings/{lid}/objections", {"reasons": "出价时间有误"}, status=201
    )

    # The publicity ends with the objection undecided: the deal waits.
    await exchange.past_publicity(lid)
    h.reviewer = await h.reviewer.relogin()
    deal = await anon.ok("GET", f"/api/v1/listings/{lid}/deal")
    assert (deal["deal_state"], deal["objections_pending"], deal["contract_id"]) == (
        "publicity",
        2,
        None,
    )
    late = await h.onlooker.relogin()
    problem(
        await late.call("POST", f"/api/v1/listings/{lid}/objections", body),
        422,
        "objection.window_closed",
    )

    listed = await h.reviewer.ok("GET", f"/api/v1/listings/{lid}/objections")
    seen, _ = listed["items"]
    assert [d["id"] for d in seen["documents"]] == [proof["id"]]
    own_file = f"/api/v1/registrations/{seen['registration_id']}/documents/{proof['id']}"
    assert (await h.reviewer.call("GET", own_file)).content == RESOLUTION_PDF
    assert (
        seen["reasons"] == body["reasons"]
        and seen["bidder_number"] == h.registrations[2]["bidder_number"]
    )
    own = await late.ok("GET", f"/api/v1/listings/{lid}/objections")
    assert [o["id"] for o in own["items"]] == [filed["id"]]
    regulator = await anon.login("regulator")
    decision = {"decision": "uphold", "reason": "经核查关联关系属实，成交无效"}
    assert (
        await regulator.call("POST", f"/api/v1/objections/{filed['id']}/decision", decision)
    ).status_code == 403
    problem(
        await h.reviewer.call(
            "POST",
            f"/api/v1/objections/{filed['id']}/decision",
            {"decision": "uphold", "reason": ""},
        ),
        400,
        "request.invalid",
    )

    # Upheld: the deal is voided and offered to the runner-up at their last bid; the
    # winner's deposit is due back (he did not default).
    change = await h.reviewer.ok("POST", f"/api/v1/objections/{filed['id']}/decision", decision)
    assert (change["deal_state"], change["listing_state"], change["next_step"]) == (
        "offered",
        "sold",
        "offered",
    )
    problem(
        await h.reviewer.call("POST", f"/api/v1/objections/{filed['id']}/decision", decision),
        409,
        "objection.already_decided",
    )
    # The other objection was against the voided deal: closed, not decided, and it holds
    # nothing up for the runner-up's deal.
    states = {
        o["id"]: o["state"]
        for o in (await h.reviewer.ok("GET", f"/api/v1/listings/{lid}/objections"))["items"]
    }
    assert states == {filed["id"]: "upheld", other["id"]: "closed"}
    problem(await late.call("POST", evidence, **upload), 409, "objection.already_decided")
    winner = await (await h.winner.relogin()).ok(
        "GET", f"/api/v1/registrations/{h.registrations[0]['id']}"
    )
    assert winner["deposit_state"] == "refundable" and winner["refund_due_at"]

    runner_up = await h.runner_up.relogin()
    problem(
        await late.call("POST", f"/api/v1/listings/{lid}/deal/offer", {"decision": "accept"}),
        403,
        "offer.not_yours",
    )
    taken = await runner_up.ok("POST", f"/api/v1/listings/{lid}/deal/offer", {"decision": "accept"})
    assert taken["deal_state"] == "publicity"
    deal = await anon.ok("GET", f"/api/v1/listings/{lid}/deal")
    assert (
        deal["kind"] == "runner_up" and deal["winner_number"] == h.registrations[1]["bidder_number"]
    )
    assert deal["final_fen"] == SEED_TERMS["listing_price_fen"] + 2 * STEP
    assert deal["premium_rate"] == "4.00"
    # Published in turn: accepted on Saturday 19 December, five working days to Friday 25th.
    assert at(deal["publicity_ends_at"]) == datetime(2026, 12, 26, 0, 0, tzinfo=CHINA_TZ)

    await exchange.past_publicity(lid)
    deal = await anon.ok("GET", f"/api/v1/listings/{lid}/deal")
    assert deal["deal_state"] == "confirmed" and deal["contract_id"]
    runner_up = await runner_up.relogin()
    contract = await runner_up.ok("GET", f"/api/v1/contracts/{deal['contract_id']}")
    assert contract["parties"]["winner"]["bidder_number"] == h.registrations[1]["bidder_number"]
    assert contract["contract_value_fen"] == 10 * deal["final_fen"]
    # The runner-up's deposit, kept as the backup, now pays the first rent.
    assert contract["rent_items"][0]["credited_fen"] == DEPOSIT

    assert [
        t for t in await ledger_types(exchange, lid) if t.startswith(("objection.", "deal."))
    ] == [
        "deal.recorded",
        "deal.published",
        "objection.filed",
        "objection.evidence_added",
        "objection.filed",
        "objection.decided",
        "objection.closed",
        "deal.voided",
        "deal.offered",
        "deal.offer_accepted",
        "deal.published",
        "deal.confirmed",
    ]


async def test_a_dismissed_objection_lets_the_deal_stand(exchange: Exchange) -> None:
    h = await hammer(exchange, "relist")
    lid = h.listing_id
    filed = await h.runner_up.ok(
        "POST", f"/api/v1/listings/{lid}/objections", {"reasons": "出价记录有误"}, status=201
    )
    changed = await h.reviewer.ok(
        "POST",
        f"/api/v1/objections/{filed['id']}/decision",
        # A reason as long as the API takes: its notice is cut, the decision recorded.
        {"decision": "dismiss", "reason": "出价记录核对无误。" + "经逐笔核对" * 798},
    )
    # Decided during the publicity: the deal is still published until its end.
    assert changed["deal_state"] == "publicity"
    told = (await h.runner_up.ok("GET", "/api/v1/me/notices"))["items"]
    [decided] = [n for n in told if n["kind"] == "objection_decided"]
    assert len(decided["body"]) == 1000 and decided["body"].endswith("…")
    await exchange.past_publicity(lid)
    deal = await exchange.http.ok("GET", f"/api/v1/listings/{lid}/deal")
    assert (
        deal["deal_state"] == "confirmed"
        and deal["contract_id"]
        and deal["objections_pending"] == 0
    )

    # Signed by both and certified: the certificate states the publicity and the objection.
    path = f"/api/v1/contracts/{deal['contract_id']}"
    village, winner = await h.village.relogin(), await h.winner.relogin()
    for signer in (village, winner):
        await signer.ok("POST", f"{path}/sign", {"password": PASSWORD})
    reviewer = await h.reviewer.relogin()
    await reviewer.ok("POST", f"{path}/certify", {})
    pdf = (await reviewer.call("GET", f"{path}/certificate.pdf")).content
    if shutil.which("pdftotext"):
        text = subprocess.run(
            ["pdftotext", "-raw", "-", "-"], input=pdf, capture_output=True, check=True, timeout=60
        ).stdout.decode()
        flat = "".join(text.split())
        assert "自2026年12月12日起公示，至2026年12月18日期满；收到异议1件，经审查不成立1件" in flat


async def test_a_default_forfeits_the_deposit_and_the_listing_is_relisted(
    exchange: Exchange,
) -> None:
    h = await hammer(exchange, "relist")
    lid = h.listing_id
    # With the relist rule nobody's deposit is kept as a backup.
    backup = await h.runner_up.ok("GET", f"/api/v1/registrations/{h.registrations[1]['id']}")
    assert backup["deposit_state"] == "refundable"
    await exchange.past_publicity(lid)
    reviewer = await h.reviewer.relogin()
    deal = await exchange.http.ok("GET", f"/api/v1/listings/{lid}/deal")
    problem(
        await reviewer.call(
            "POST", f"/api/v1/listings/{lid}/deal/default", {"reason": "not_signed"}
        ),
        422,
        "default.before_deadline",
    )
    contract = await reviewer.ok("GET", f"/api/v1/contracts/{deal['contract_id']}")
    exchange.clock.set(at(contract["sign_deadline"]) + timedelta(seconds=1))
    reviewer = await reviewer.relogin()
    change = await reviewer.ok(
        "POST",
        f"/api/v1/listings/{lid}/deal/default",
        {"reason": "not_signed", "note": "经两次电话催告未签约"},
    )
    assert change == {
        "listing_id": lid,
        "deal_state": "voided",
        "listing_state": "failed",
        "forfeited_fen": DEPOSIT,
        "next_step": "relisted",
        "offer_expires_at": None,
    }
    problem(
        await reviewer.call(
            "POST", f"/api/v1/listings/{lid}/deal/default", {"reason": "not_signed"}
        ),
        409,
        "default.deal_not_confirmed",
    )
    # The forfeiture balances the deposit account, from the rows and from the log alike.
    account = await reviewer.ok("GET", f"/api/v1/listings/{lid}/settlement")
    assert account["forfeited_fen"] == DEPOSIT and account["balanced"] is True
    assert (await reviewer.ok("GET", f"/api/v1/contracts/{deal['contract_id']}"))[
        "state"
    ] == "voided"
    voided = await exchange.http.ok("GET", f"/api/v1/listings/{lid}/deal")
    assert (voided["deal_state"], voided["void_reason"]) == ("voided", "default")

    village = await h.village.relogin()
    again = await village.ok("POST", f"/api/v1/listings/{lid}/relist", {})
    assert again["state"] == "draft" and again["id"] != lid

    # The losers' deposits were due back on 18 December, 24:00; nobody paid them back.
    svc = exchange.services
    await jobs.scan_warnings(jobs.JobContext.of(svc.config, svc.db, svc.clock), force=True)
    regulator = await exchange.http.login("regulator")
    [late] = (await regulator.ok("GET", f"/api/v1/warnings?kind=refund_late&listing_id={lid}"))[
        "items"
    ]
    others = [r["id"] for r in h.registrations[1:]]
    assert [d["registration_id"] for d in late["evidence"]["deposits"]] == others
    assert late["evidence"]["amount_fen"] == 2 * DEPOSIT
    assert {at(d["refund_due_at"]) for d in late["evidence"]["deposits"]} == {FRIDAY_MIDNIGHT}


async def test_a_withdrawal_offers_the_runner_up_who_may_decline_or_let_it_lapse(
    exchange: Exchange,
) -> None:
    h = await hammer(exchange, "runner_up")
    lid = h.listing_id
    await exchange.past_publicity(lid)
    reviewer = await h.reviewer.relogin()
    # A written withdrawal is a default at once, before the signing deadline.
    change = await reviewer.ok(
        "POST", f"/api/v1/listings/{lid}/deal/default", {"reason": "withdrew"}
    )
    assert (change["deal_state"], change["forfeited_fen"], change["next_step"]) == (
        "offered",
        DEPOSIT,
        "offered",
    )
    expires = at(change["offer_expires_at"])
    # Both are told: the winner of the forfeiture, the runner-up of the offer and its deadline.
    winner_told = (await (await h.winner.relogin()).ok("GET", "/api/v1/me/notices"))["items"]
    [voided] = [n for n in winner_told if n["kind"] == "deal_voided"]
    assert "（竞得人违约）" in voided["body"] and "2,000.00 元按竞买须知不予退还" in voided["body"]
    backup_told = (await (await h.runner_up.relogin()).ok("GET", "/api/v1/me/notices"))["items"]
    [offered] = [n for n in backup_told if n["kind"] == "deal_offered"]
    assert "12,480.00 元" in offered["body"]
    async with exchange.services.db.read() as session:
        deal = await session.get(Deal, lid)
        assert deal is not None and deal.state == "offered"

    # Nobody answers in time: the offer lapses, the listing ends for relisting and the
    # runner-up's deposit is due back.
    exchange.clock.set(expires)
    await exchange.tick()
    voided = await exchange.http.ok("GET", f"/api/v1/listings/{lid}/deal")
    assert (voided["deal_state"], voided["void_reason"]) == ("voided", "offer_expired")
    runner_up = await h.runner_up.relogin()
    problem(
        await runner_up.call("POST", f"/api/v1/listings/{lid}/deal/offer", {"decision": "accept"}),
        409,
        "offer.not_open",
    )
    backup = await runner_up.ok("GET", f"/api/v1/registrations/{h.registrations[1]['id']}")
    assert backup["deposit_state"] == "refundable" and backup["refund_due_at"]
    listing = await exchange.http.ok("GET", f"/api/v1/listings/{lid}")
    assert listing["state"] == "failed"


async def test_after_a_default_the_runner_up_s_lease_is_drafted_under_its_own_number(
    exchange: Exchange,
) -> None:
    h = await hammer(exchange, "runner_up")
    lid = h.listing_id
    await exchange.past_publicity(lid)
    first = (await exchange.http.ok("GET", f"/api/v1/listings/{lid}/deal"))["contract_id"]
    reviewer = await h.reviewer.relogin()
    await reviewer.ok("POST", f"/api/v1/listings/{lid}/deal/default", {"reason": "withdrew"})
    runner_up = await h.runner_up.relogin()
    await runner_up.ok("POST", f"/api/v1/listings/{lid}/deal/offer", {"decision": "accept"})
    await exchange.past_publicity(lid)
    deal = await exchange.http.ok("GET", f"/api/v1/listings/{lid}/deal")
    assert deal["deal_state"] == "confirmed" and deal["contract_id"] not in (None, first)
    reviewer = await reviewer.relogin()
    voided = await reviewer.ok("GET", f"/api/v1/contracts/{first}")
    current = await reviewer.ok("GET", f"/api/v1/contracts/{deal['contract_id']}")
    assert voided["state"] == "voided" and current["state"] == "drafted"
    assert current["number"] == voided["number"] + "-2"
    assert current["parties"]["winner"]["bidder_number"] == h.registrations[1]["bidder_number"]


async def test_the_runner_up_may_decline(exchange: Exchange) -> None:
    h = await hammer(exchange, "runner_up")
    lid = h.listing_id
    await exchange.past_publicity(lid)
    reviewer = await h.reviewer.relogin()
    await reviewer.ok("POST", f"/api/v1/listings/{lid}/deal/default", {"reason": "withdrew"})
    runner_up = await h.runner_up.relogin()
    change = await runner_up.ok(
        "POST", f"/api/v1/listings/{lid}/deal/offer", {"decision": "decline"}
    )
    assert (change["deal_state"], change["listing_state"], change["next_step"]) == (
        "voided",
        "failed",
        "relisted",
    )
    account = await reviewer.ok("GET", f"/api/v1/listings/{lid}/settlement")
    states = {d["registration_id"]: d["deposit_state"] for d in account["deposits"]}
    ids = [r["id"] for r in h.registrations]
    assert [states[i] for i in ids] == ["forfeited", "refundable", "refundable"]
    assert account["balanced"] is True
