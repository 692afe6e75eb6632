"""Concurrency proven against real PostgreSQL: two workers, HTTP and websocket bidders racing."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import func, select

from auction.models import Bid
from auction.queries import events_after
from core.db import Database
from core.ledger import LedgerEntry, verify_subject
from tests.conftest import redis_prefixed
from tests.e2e.conftest import LiveExchange, live_exchange

# The tests share one exchange (each runs its own auction on it): starting two workers costs
# more than any of the races.
pytestmark = [
    pytest.mark.slow,
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.asyncio(loop_scope="module"),
]
INCREMENT = 24_000


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def pg_two_workers(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[LiveExchange]:
    async with redis_prefixed() as redis:
        tmp_path = tmp_path_factory.mktemp("races")
        async with live_exchange(tmp_path, redis=redis, workers=2) as exchange:
            yield exchange


async def test_one_winner_per_price_level_when_everyone_bids_at_once(
    pg_two_workers: LiveExchange,
) -> None:
    ex = pg_two_workers
    listing_id, bidders, _ = await ex.running_auction(bidders=8)
    # Half the bidders on websockets (alternating workers), half on HTTP (alternating workers).
    rooms = [
        await ex.room(listing_id, b.token, server=i).connect() for i, b in enumerate(bidders[:4])
    ]
    http = bidders[4:]
    watcher = await ex.room(listing_id, server=1).connect(last_seq=0)
    acknowledged: list[dict[str, Any]] = []
    price = 1_200_000
    levels = 12
    for level in range(levels):
        price += INCREMENT
        leader = acknowledged[-1]["who"] if acknowledged else None
        contenders = [("ws", i) for i in range(4)] + [("http", i) for i in range(4)]

        async def send(kind: str, i: int, amount: int = price) -> dict[str, Any]:
            ref = uuid.uuid4().hex
            if kind == "ws":
                reply = await rooms[i].bid(amount, ref=ref)
                ok = reply["type"] == "accepted"
                return {
                    "ok": ok,
                    "who": (kind, i),
                    "seq": reply.get("seq"),
                    "code": reply.get("code"),
                }
            response = await http[i].call(
                "POST", f"/api/v1/auctions/{listing_id}/bids", {"amount_fen": amount, "ref": ref}
            )
            body = response.json()
            ok = response.status_code == 200
            return {"ok": ok, "who": (kind, i), "seq": body.get("seq"), "code": body.get("code")}

        results = await asyncio.gather(*(send(k, i) for k, i in contenders))
        winners = [r for r in results if r["ok"]]
        assert len(winners) == 1, (level, results)
        for r in results:
            if not r["ok"]:
                # The leader is refused as self-outbid until someone else's bid gets in first.
                expected = (
                    {"self_outbid", "below_minimum"} if r["who"] == leader else {"below_minimum"}
                )
                assert r["code"] in expected, r
        acknowledged.append(winners[0])

    await watcher.wait_for(lambda f: f["type"] == "bid" and f["amount_fen"] == price)
    db = Database(ex.database_url)
    try:
        async with db.read() as session:
            history = await events_after(session, listing_id, 0)
            accepted = await session.scalar(
                select(func.count())
                .select_from(Bid)
                .where(Bid.listing_id == listing_id, Bid.outcome == "accepted")
            )
            ledger_bids = list(
                await session.scalars(
                    select(LedgerEntry.payload).where(
                        LedgerEntry.subject == f"listing:{listing_id}",
                        LedgerEntry.type == "auction.bid",
                    )
                )
            )
            assert await verify_subject(session, f"listing:{listing_id}") is None
    finally:
        await db.dispose()
    assert [f["seq"] for f in history] == list(range(1, len(history) + 1))
    bid_frames = [f for f in history if f["type"] == "bid"]
    assert accepted == levels == len(bid_frames)
    # Every acknowledged bid is in the history and in the ledger exactly once.
    assert sorted(a["seq"] for a in acknowledged) == [f["seq"] for f in bid_frames]
    assert sorted(p["seq"] for p in ledger_bids) == [f["seq"] for f in bid_frames]
    assert watcher.events == history
    # Replaying from any last_seq reproduces the room's history.
    for last_seq in random.Random(7).sample(range(len(history)), 4):
        late = await ex.room(listing_id, server=last_seq).connect(last_seq=last_seq)
        await late.close()
        assert late.events == history[last_seq:]
    for room in [*rooms, watcher]:
        await room.close()


async def test_retried_bid_with_the_same_ref_is_answered_once(pg_two_workers: LiveExchange) -> None:
    ex = pg_two_workers
    listing_id, bidders, _ = await ex.running_auction(bidders=2)
    body = {"amount_fen": 1_224_000, "ref": "retry-1"}
    answers = await asyncio.gather(
        *(bidders[0].call("POST", f"/api/v1/auctions/{listing_id}/bids", body) for _ in range(6))
    )
    assert {a.status_code for a in answers} == {200}
    assert len({a.json()["seq"] for a in answers}) == 1
    snapshot = await ex.anon.ok("GET", f"/api/v1/auctions/{listing_id}")
    assert snapshot["round"] == 1


async def test_watcher_reconnects_with_last_seq_and_misses_nothing(
    pg_two_workers: LiveExchange,
) -> None:
    ex = pg_two_workers
    listing_id, bidders, _ = await ex.running_auction(bidders=2)
    watcher = await ex.room(listing_id, server=0).connect(last_seq=0)
    price = 1_200_000
    for n in range(6):
        price += INCREMENT
        await bidders[n % 2].ok(
            "POST", f"/api/v1/auctions/{listing_id}/bids", {"amount_fen": price, "ref": f"r{n}"}
        )
        if n == 2:
            await watcher.wait_for(lambda f, p=price: f.get("amount_fen") == p)
            await watcher.close()  # the connection drops mid-auction
    # Back, on the other worker, from where it was.
    await watcher.connect(last_seq=watcher.last_seq)
    await watcher.wait_for(lambda f: f.get("amount_fen") == price)
    amounts = [f["amount_fen"] for f in watcher.events if f["type"] == "bid"]
    assert amounts == [1_200_000 + INCREMENT * k for k in range(1, 7)]
    await watcher.close()
