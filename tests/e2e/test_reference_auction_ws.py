"""Reference-case steps 1–5 against real server processes, the bidders on websockets.

Embedded default: SQLite, one process. Production profile: PostgreSQL + Redis, two app
processes, the two bidders connected to different processes.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from core.db import Database
from tests.e2e.conftest import REGISTRATION, LiveExchange, deployed, live_exchange
from tests.support import (
    PASSWORD,
    SEED_TERMS,
    Http,
    entrust_review_announce,
    sign_up_and_qualify,
)
from tests.wsclient import RoomClient

pytestmark = pytest.mark.slow


async def test_reference_case_over_websockets_sqlite(tmp_path: Path) -> None:
    async with live_exchange(tmp_path, redis=None, workers=1) as ex:
        await run_reference_case(ex)


@pytest.mark.postgres
@pytest.mark.redis
async def test_reference_case_over_websockets_postgres_redis_two_workers(
    tmp_path: Path, redis_url: str
) -> None:
    async with live_exchange(tmp_path, redis=redis_url, workers=2) as ex:
        await run_reference_case(ex)


@pytest.mark.postgres
@pytest.mark.redis
async def test_reference_case_through_nginx_with_two_workers(
    tmp_path: Path, redis_url: str
) -> None:
    async with deployed(tmp_path, redis_url, workers=2) as ex:
        # The production profile: cookies only over TLS, HSTS, nothing cached.
        login = await ex.anon.call(
            "POST", "/api/v1/auth/login", {"username": "admin", "password": PASSWORD}
        )
        cookies = login.headers.get_list("set-cookie")
        assert cookies and all("Secure" in c for c in cookies), cookies
        assert login.headers["strict-transport-security"].startswith("max-age=")
        assert login.headers["cache-control"] == "no-store"
        ex.anon.client.cookies.clear()
        await run_reference_case(ex)


async def run_reference_case(ex: LiveExchange) -> None:
    """Reference-case steps 1–5; the two bidders on the first and the last server."""
    url, servers = ex.database_url, ex.servers
    first, last = servers[0].base_url, servers[-1].base_url
    async with httpx.AsyncClient(base_url=first, timeout=30) as client:
        anon = Http(client)
        admin = await anon.login("admin")
        await admin.ok(
            "PUT",
            "/api/v1/settings",
            {
                "notice_period_working_days": 0,
                "qualification_window_minutes": 0,
                "free_bidding_minutes": 0,
                "countdown_seconds": 60,
            },
        )
        now = ex.clock.now()
        listing_id, _, reviewer = await entrust_review_announce(
            anon, now, closes_in=REGISTRATION, starts_in=REGISTRATION + timedelta(minutes=1)
        )
        bidders, registrations = await sign_up_and_qualify(anon, reviewer, listing_id)
        await ex.open_auction(listing_id, now)

        ws = lambda base, token=None: RoomClient(  # noqa: E731
            base.replace("http", "ws") + f"/ws/auctions/{listing_id}", token
        )
        a = await ws(first, bidders[0].token).connect()
        b = await ws(last, bidders[1].token).connect()
        watcher = await ws(last).connect(last_seq=0)
        assert (
            a.snapshot and a.snapshot["you"]["bidder_number"] == registrations[0]["bidder_number"]
        )
        assert "you" not in (watcher.snapshot or {})
        for c in (a, b):
            assert c.snapshot and c.snapshot["status"] == "countdown"

        price = SEED_TERMS["listing_price_fen"]
        for n in range(50):
            price += SEED_TERMS["increment_fen"]
            me = (a, b)[n % 2]
            reply = await me.bid(price, based_on_seq=me.last_seq)
            assert reply["type"] == "accepted", reply
            assert reply["round"] == n + 1
            for c in (a, b):  # the next bidder bids on the price it has seen
                await c.wait_for(lambda f, s=reply["seq"]: f["seq"] >= s)

        ended = await ex.end_countdown(listing_id)
        await watcher.wait_for(lambda f: f["type"] == "ended")
        assert ended["result"] == "sold" and ended["final_fen"] == 2_400_000
        assert ended["winner_number"] == registrations[1]["bidder_number"]
        assert ended["rounds"] == 50
        bids = [f for f in watcher.events if f["type"] == "bid"]
        assert [f["amount_fen"] for f in bids] == [1_200_000 + 24_000 * k for k in range(1, 51)]
        assert {f["bidder_number"] for f in bids} == {r["bidder_number"] for r in registrations}
        for c in (a, b, watcher):
            await c.close()

        deal = await anon.ok("GET", f"/api/v1/listings/{listing_id}/deal")
        assert deal["premium_rate"] == "100.00" and deal["rounds"] == 50
        assert deal["income"]["premium_over_term_fen"] == 12_000_000
        assert deal["income"]["contract_value_fen"] == 24_000_000

    # Every watcher saw exactly the database's history.
    db = Database(url)
    try:
        from auction.queries import events_after

        async with db.read() as session:
            history = await events_after(session, listing_id, 0)
    finally:
        await db.dispose()
    assert [f["seq"] for f in history] == list(range(1, len(history) + 1))
    assert watcher.events == history
