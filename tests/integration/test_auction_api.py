"""The auction through the HTTP API on both databases: every rejection code, pause/resume,
the priority right, a restart, and the single-bidder agreement."""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from app.main import build_services, create_app
from auction.codes import MESSAGES_ZH, Code
from auction.timers import advance_due
from core.accounts import Actor, NewUser, User, add_user
from tests.integration.conftest import Exchange, make_exchange
from tests.support import (
    PASSWORD,
    SEED_LISTING,
    Http,
    entrust_review_announce,
    phone,
    resident_id,
    sign_up_and_qualify,
    submit,
)

CJK = re.compile(r"[\u4e00-\u9fff]")


async def running(
    ex: Exchange, bidders: int = 2, **settings: Any
) -> tuple[int, list[Http], list[dict[str, Any]]]:
    """A listing in its countdown with qualified, signed-in bidders."""
    admin = await ex.http.login("admin")
    await admin.ok(
        "PUT", "/api/v1/settings", {"free_bidding_minutes": 0, "countdown_seconds": 300, **settings}
    )
    listing_id, _, reviewer = await entrust_review_announce(
        ex.http, ex.clock.now(), closes_in=timedelta(days=10), starts_in=timedelta(days=11)
    )
    people, registrations = await sign_up_and_qualify(ex.http, reviewer, listing_id, bidders)
    ex.clock.advance(timedelta(days=11, seconds=1))
    await ex.tick()
    for person in people:
        await person.relogin()
    return listing_id, people, registrations


async def bid(who: Http, listing_id: int, amount: int, **extra: Any) -> Any:
    return await who.call(
        "POST",
        f"/api/v1/auctions/{listing_id}/bids",
        {"amount_fen": amount, "ref": extra.pop("ref", uuid.uuid4().hex), **extra},
    )


def problem(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == code
    assert body["detail"] == MESSAGES_ZH[Code(code)] and CJK.search(body["detail"])


async def test_every_rejection_code_has_its_answer(exchange: Exchange) -> None:
    listing_id, (a, b), _ = await running(exchange)
    start, step = 1_200_000, 24_000
    # below_minimum: the first bid may equal the start; anything less is too low.
    problem(await bid(a, listing_id, start - step), 422, "below_minimum")
    assert (await bid(a, listing_id, start + step)).status_code == 200
    problem(await bid(a, listing_id, start + 2 * step), 409, "self_outbid")
    problem(await bid(b, listing_id, start + 2 * step + 1000), 422, "not_step_multiple")
    problem(await bid(b, listing_id, start + 12 * step), 422, "too_many_steps")
    # stale: b had seen seq 1 (the countdown phase), a's bid (seq 2) moved the price since.
    problem(await bid(b, listing_id, start + step, based_on_seq=1), 409, "stale")
    problem(await bid(b, listing_id, start + step), 422, "below_minimum")
    # not_qualified: a bidder who never registered for this listing.
    outsider = await exchange.http.login(await _new_bidder(exchange.http))
    problem(await bid(outsider, listing_id, start + 2 * step), 403, "not_qualified")
    # not_running: after the end.
    exchange.clock.advance(timedelta(seconds=301))
    problem(await bid(b, listing_id, start + 2 * step), 409, "not_running")
    snapshot = await exchange.http.ok("GET", f"/api/v1/auctions/{listing_id}")
    assert snapshot["status"] == "ended" and snapshot["round"] == 1


async def test_a_rejection_tells_the_price_to_bid_on(exchange: Exchange) -> None:
    """A rejected bidder bids again from the problem alone (`ref`, `current_fen`, `seq`),
    without asking for the snapshot."""
    listing_id, (a, b), _ = await running(exchange)
    start, step = 1_200_000, 24_000
    accepted = (await bid(a, listing_id, start + step, based_on_seq=1)).json()
    late = await bid(b, listing_id, start + step, based_on_seq=1, ref="b-late")
    problem(late, 409, "stale")
    body = late.json()
    assert body["ref"] == "b-late"
    assert (body["current_fen"], body["seq"]) == (start + step, accepted["seq"])
    low = await bid(b, listing_id, start, based_on_seq=body["seq"], ref="b-low")
    problem(low, 422, "below_minimum")
    assert (low.json()["current_fen"], low.json()["seq"]) == (start + step, accepted["seq"])
    again = await bid(b, listing_id, body["current_fen"] + step, based_on_seq=body["seq"])
    assert again.status_code == 200, again.text
    # Moved on since: the next rejection tells the new price.
    problem(await bid(b, listing_id, start + 3 * step, ref="b-self"), 409, "self_outbid")
    behind = await bid(a, listing_id, start + 2 * step, based_on_seq=body["seq"], ref="a-behind")
    problem(behind, 409, "stale")
    assert (behind.json()["current_fen"], behind.json()["seq"]) == (
        start + 2 * step,
        again.json()["seq"],
    )
    snapshot = await exchange.http.ok("GET", f"/api/v1/auctions/{listing_id}")
    assert (snapshot["current_fen"], snapshot["seq"]) == (start + 2 * step, again.json()["seq"])


async def test_rate_limited_bids(database_url: str, tmp_path: Path) -> None:
    async with make_exchange(database_url, tmp_path, bids_per_second=2) as ex:
        listing_id, (a, _), _ = await running(ex)
        answers = [await bid(a, listing_id, 1_224_000, ref=f"x{i}") for i in range(3)]
        assert answers[0].status_code == 200
        problem(answers[1], 409, "self_outbid")
        problem(answers[2], 429, "rate_limited")
        assert answers[2].json()["ref"] == "x2"


async def _new_bidder(http: Http) -> str:
    mobile = phone()
    await http.ok(
        "POST",
        "/api/v1/bidders",
        {
            "name": "旁观者",
            "id_type": "resident_id",
            "id_number": resident_id(),
            "phone": mobile,
            "password": PASSWORD,
        },
        status=201,
    )
    return mobile


async def test_pause_restores_the_remaining_countdown(exchange: Exchange) -> None:
    listing_id, (a, b), _ = await running(exchange)
    reviewer = await exchange.http.login("reviewer")
    assert (await bid(a, listing_id, 1_224_000)).status_code == 200
    exchange.clock.advance(timedelta(seconds=100))  # 200 s of the countdown left
    paused = await reviewer.ok(
        "POST", f"/api/v1/auctions/{listing_id}/pause", {"reason": "网络故障"}
    )
    assert paused["status"] == "paused" and paused["ends_at"] is None
    problem(await bid(b, listing_id, 1_248_000), 409, "not_running")
    exchange.clock.advance(timedelta(hours=1))
    await exchange.tick()  # nothing ends while paused
    resumed = await reviewer.ok(
        "POST", f"/api/v1/auctions/{listing_id}/resume", {"reason": "故障排除"}
    )
    assert resumed["status"] == "countdown"
    left = datetime.fromisoformat(resumed["ends_at"]) - datetime.fromisoformat(
        resumed["server_time"]
    )
    assert left == timedelta(seconds=200)
    problem(
        await reviewer.call("POST", f"/api/v1/auctions/{listing_id}/resume", {"reason": "再次"}),
        409,
        "not_paused",
    )
    # A bidder may not pause.
    assert (
        await a.call("POST", f"/api/v1/auctions/{listing_id}/pause", {"reason": "x"})
    ).status_code == 403


PROOF_PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\n%%EOF\n"


async def test_priority_holder_matches_the_price_and_leads(exchange: Exchange) -> None:
    holder_id = resident_id()
    anon = exchange.http
    village = await anon.login("xingtian")
    body = {
        **SEED_LISTING,
        "terms": {
            **SEED_LISTING["terms"],
            "priority_holders": [
                {"name": "原承租人", "id_type": "resident_id", "id_number": holder_id}
            ],
        },
    }
    listing = await village.ok("POST", "/api/v1/listings", body, status=201)
    await submit(village, listing["id"])
    reviewer = await anon.login("reviewer")
    await reviewer.ok("POST", f"/api/v1/listings/{listing['id']}/review", {"decision": "accept"})
    now = exchange.clock.now()
    await reviewer.ok(
        "POST",
        f"/api/v1/listings/{listing['id']}/announce",
        {
            "registration_closes_at": (now + timedelta(days=10)).isoformat(),
            "auction_starts_at": (now + timedelta(days=11)).isoformat(),
        },
    )
    admin = await anon.login("admin")
    await admin.ok("PUT", "/api/v1/settings", {"free_bidding_minutes": 0})
    mobile = phone()
    await anon.ok(
        "POST",
        "/api/v1/bidders",
        {
            "name": "原承租人",
            "id_type": "resident_id",
            "id_number": holder_id,
            "phone": mobile,
            "password": PASSWORD,
        },
        status=201,
    )
    holder = await anon.login(mobile)
    reg = await holder.ok(
        "POST",
        f"/api/v1/listings/{listing['id']}/registrations",
        {"claim_priority": True},
        status=201,
    )
    assert (reg["priority_claim"], reg.get("priority_holder", False)) == ("claimed", False)
    await holder.ok(
        "POST",
        f"/api/v1/registrations/{reg['id']}/documents",
        None,
        status=201,
        files={"file": ("租赁合同.pdf", PROOF_PDF, "application/pdf")},
    )
    await anon.pay(reg["payment_reference"], reg["deposit_fen"])
    confirmed = await reviewer.ok(
        "POST",
        f"/api/v1/registrations/{reg['id']}/review",
        {"decision": "qualify", "priority": "confirm"},
    )
    assert (confirmed["priority_claim"], confirmed["priority_holder"]) == ("confirmed", True)
    (other,), _ = await sign_up_and_qualify(anon, reviewer, listing["id"], 1)
    exchange.clock.advance(timedelta(days=11, seconds=1))
    await exchange.tick()
    await holder.relogin()
    await other.relogin()
    lid = listing["id"]
    problem(
        await other.call("POST", f"/api/v1/auctions/{lid}/match", {"ref": "m0"}),
        403,
        "not_priority_holder",
    )
    problem(
        await holder.call("POST", f"/api/v1/auctions/{lid}/match", {"ref": "m1"}),
        422,
        "nothing_to_match",
    )
    assert (await bid(other, lid, 1_224_000)).status_code == 200
    matched = await holder.ok("POST", f"/api/v1/auctions/{lid}/match", {"ref": "m2"})
    assert matched["amount_fen"] == 1_224_000 and matched["round"] == 2
    snap = await anon.ok("GET", f"/api/v1/auctions/{lid}")
    assert snap["leader_number"] == reg_number(await holder.ok("GET", "/api/v1/registrations"))
    problem(await bid(other, lid, 1_224_000), 422, "below_minimum")


def reg_number(mine: dict[str, Any]) -> str:
    return str(mine["items"][0]["bidder_number"])


async def test_a_restarted_worker_finishes_the_auction(exchange: Exchange) -> None:
    listing_id, (a, b), _ = await running(exchange)
    assert (await bid(a, listing_id, 1_224_000)).status_code == 200
    assert (await bid(b, listing_id, 1_248_000)).status_code == 200
    exchange.clock.advance(timedelta(seconds=301))
    # A fresh process: nothing in memory, everything from the database.
    fresh = build_services(exchange.services.config, exchange.clock)
    app = create_app(services=fresh, run_scheduler=False)
    try:
        await app.state.hub.start()
        assert await advance_due(fresh.db, app.state.bids, fresh.clock) == 1
        assert await advance_due(fresh.db, app.state.bids, fresh.clock) == 0  # exactly once
    finally:
        await app.state.hub.stop()
        await fresh.db.dispose()
    await exchange.tick()  # the first worker finds nothing left to do
    snap = await exchange.http.ok("GET", f"/api/v1/auctions/{listing_id}")
    assert snap["status"] == "ended" and snap["seq"] == 4  # countdown, two bids, ended
    assert snap["result"]["final_fen"] == 1_248_000


@pytest.mark.parametrize(
    "policy,state",
    [("agreement", "sold"), ("fail", "failed"), ("extend_then_agreement", "sold")],
)
async def test_single_bidder_policy(exchange: Exchange, policy: str, state: str) -> None:
    admin = await exchange.http.login("admin")
    await admin.ok("PUT", "/api/v1/settings", {"single_bidder_policy": policy})
    listing_id, _, reviewer = await entrust_review_announce(
        exchange.http,
        exchange.clock.now(),
        closes_in=timedelta(days=10),
        starts_in=timedelta(days=11),
    )
    await sign_up_and_qualify(exchange.http, reviewer, listing_id, 1)
    exchange.clock.advance(timedelta(days=10, seconds=1))
    await exchange.tick()
    if policy == "extend_then_agreement":
        # Re-announced once: registration runs another five working days, no second bidder.
        listing = await exchange.http.ok("GET", f"/api/v1/listings/{listing_id}")
        assert listing["state"] == "announced"
        assert listing["registration_closes_at"] > "2026-12-11T01:00:01"
        exchange.clock.advance(timedelta(days=8))
        await exchange.tick()
    listing = await exchange.http.ok("GET", f"/api/v1/listings/{listing_id}")
    assert listing["state"] == state
    deal = await exchange.http.call("GET", f"/api/v1/listings/{listing_id}/deal")
    if policy != "fail":
        body = deal.json()
        assert body["kind"] == "agreement" and body["final_fen"] == 1_200_000
        assert body["premium_rate"] == "0.00" and body["rounds"] == 0
    else:
        assert deal.status_code == 404


async def test_concurrent_bids_on_one_lot_commit_together_in_arrival_order(
    exchange: Exchange, monkeypatch: pytest.MonkeyPatch
) -> None:
    listing_id, people, _ = await running(exchange, bidders=6)
    book = exchange.app.state.bids
    actors = []
    for person in people:
        me = await person.ok("GET", "/api/v1/auth/me")
        async with exchange.services.db.read() as session:
            user = await session.get(User, me["id"])
            assert user is not None
            actors.append(Actor(user, None))
    transactions = 0
    apply_batch = book._apply_batch

    async def counting(*args: Any) -> Any:
        nonlocal transactions
        transactions += 1
        return await apply_batch(*args)

    monkeypatch.setattr(book, "_apply_batch", counting)
    # Six bidders each raise by one to six steps at the same instant.
    amounts = [1_200_000 + 24_000 * (k + 1) for k in range(6)]
    outcomes = await asyncio.gather(
        *(
            book.bid(listing_id, who, amount_fen=amount, ref=f"g{k}")
            for k, (who, amount) in enumerate(zip(actors, amounts, strict=True))
        )
    )
    assert 0 < transactions < len(outcomes)  # batched
    # In arrival order every bid beats the one before it, so all are accepted, seq ascending.
    assert [o.accepted for o in outcomes] == [True] * 6
    assert [o.round for o in outcomes] == [1, 2, 3, 4, 5, 6]
    assert [o.seq for o in outcomes] == sorted(o.seq for o in outcomes)
    # Retrying the whole burst answers every command exactly as before and writes nothing new.
    again = await asyncio.gather(
        *(
            book.bid(listing_id, who, amount_fen=amount, ref=f"g{k}")
            for k, (who, amount) in enumerate(zip(actors, amounts, strict=True))
        )
    )
    assert [(o.seq, o.replayed) for o in again] == [(o.seq, True) for o in outcomes]
    snapshot = await exchange.http.ok("GET", f"/api/v1/auctions/{listing_id}")
    assert snapshot["round"] == 6 and snapshot["current_fen"] == amounts[-1]


async def test_one_poisoned_command_does_not_sink_the_others_in_its_batch(
    exchange: Exchange,
) -> None:
    listing_id, people, _ = await running(exchange, bidders=3)
    book = exchange.app.state.bids
    actors = []
    for person in people:
        me = await person.ok("GET", "/api/v1/auth/me")
        async with exchange.services.db.read() as session:
            user = await session.get(User, me["id"])
            assert user is not None
            actors.append(Actor(user, None))
    # An amount the ledger cannot hold exactly (> 2**53) fails its own write, nothing else.
    results = await asyncio.gather(
        book.bid(listing_id, actors[0], amount_fen=1_224_000, ref="ok-1"),
        book.bid(listing_id, actors[1], amount_fen=10**17, ref="poison"),
        book.bid(listing_id, actors[2], amount_fen=1_248_000, ref="ok-2"),
        return_exceptions=True,
    )
    assert isinstance(results[1], Exception)
    assert [r.accepted for r in (results[0], results[2])] == [True, True]  # type: ignore[union-attr]
    snapshot = await exchange.http.ok("GET", f"/api/v1/auctions/{listing_id}")
    assert (snapshot["round"], snapshot["current_fen"]) == (2, 1_248_000)


async def test_a_reviewer_cannot_pause_an_auction_outside_their_jurisdiction(
    exchange: Exchange,
) -> None:
    listing_id, _, _ = await running(exchange)
    async with exchange.services.db.write() as session:
        await add_user(
            session,
            NewUser("far-reviewer", "reviewer", PASSWORD, "外县审核员", "福建省/泉州市/惠安县"),
            actor="test",
            now=exchange.clock.now(),
            passwords=exchange.services.passwords,
        )
    far = await exchange.http.login("far-reviewer")
    refused = await far.call("POST", f"/api/v1/auctions/{listing_id}/pause", {"reason": "越权"})
    assert refused.status_code == 403
    assert refused.json()["code"] == "listing.outside_jurisdiction"
    snapshot = await exchange.http.ok("GET", f"/api/v1/auctions/{listing_id}")
    assert snapshot["status"] == "countdown" and snapshot["seq"] == 1
