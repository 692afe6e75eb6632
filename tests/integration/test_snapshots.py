"""Snapshots served from memory equal the database's, on this worker at once and on others
after the channels hop; a gap or a resync makes the next request read the database."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest

from app.main import build_services, create_app
from auction.frames import Snapshot
from auction.live import RoomFrame
from auction.models import Auction
from auction.snapshots import Snapshots
from auction.wire import snapshot_frame, stored_snapshot
from tests.integration.conftest import Exchange, make_exchange
from tests.integration.test_auction_api import bid, running


async def from_database(ex: Exchange, listing_id: int, you: str | None = None) -> dict[str, Any]:
    async with ex.services.db.read() as session:
        row = await session.get(Auction, listing_id)
        assert row is not None
        frame = msgspec.to_builtins(snapshot_frame(row, ex.clock.now(), you=you))
    frame.pop("type")
    return frame


async def encoded_from_database(ex: Exchange, listing_id: int, you: str | None) -> bytes:
    async with ex.services.db.read() as session:
        row = await session.get(Auction, listing_id)
        assert row is not None
        return msgspec.json.encode(stored_snapshot(row, ex.clock.now(), you=you, cls=Snapshot))


async def test_every_step_of_an_auction_reads_the_same_from_memory(exchange: Exchange) -> None:
    listing_id, (a, b), _ = await running(exchange)
    reviewer = await exchange.http.login("reviewer")
    path = f"/api/v1/auctions/{listing_id}"
    mine = await a.ok("GET", path)
    you = mine["you"]["bidder_number"]
    assert mine == await from_database(exchange, listing_id, you)
    snapshots: Snapshots = exchange.app.state.snapshots
    assert listing_id in snapshots.feeds  # from here on, served from memory

    async def same() -> None:
        assert await exchange.http.ok("GET", path) == await from_database(exchange, listing_id)
        assert (await a.ok("GET", path))["you"] == {"bidder_number": you}
        # Served as bytes encoded once per event: byte for byte the encoded database snapshot.
        for who, number in ((exchange.http, None), (a, you)):
            body = (await who.call("GET", path)).content
            assert body == await encoded_from_database(exchange, listing_id, number)

    assert (await bid(a, listing_id, 1_224_000)).status_code == 200
    await same()
    assert (await bid(b, listing_id, 1_248_000)).status_code == 200
    await same()
    exchange.clock.advance(timedelta(seconds=100))
    await reviewer.ok("POST", f"{path}/pause", {"reason": "网络故障"})
    await same()
    await reviewer.ok("POST", f"{path}/resume", {"reason": "故障排除"})
    await same()
    exchange.clock.advance(timedelta(seconds=301))
    await exchange.tick()  # the timer ends it: sold to b
    await same()
    ended = await exchange.http.ok("GET", path)
    assert ended["status"] == "ended" and ended["result"]["final_fen"] == 1_248_000


async def test_a_gap_or_a_resync_sends_the_next_request_to_the_database(
    exchange: Exchange,
) -> None:
    listing_id, (a, _), _ = await running(exchange)
    path = f"/api/v1/auctions/{listing_id}"
    snapshots: Snapshots = exchange.app.state.snapshots
    await exchange.http.ok("GET", path)
    feed = snapshots.feeds[listing_id]
    assert feed.snapshot is not None
    # An event two ahead (its predecessor still on its way from another worker).
    ahead = feed.snapshot.seq + 2
    feed.offer(RoomFrame.of(f'{{"seq": {ahead}, "type": "phase"}}'.encode()))
    assert feed.behind.is_set()
    assert (await bid(a, listing_id, 1_224_000)).status_code == 200
    assert await exchange.http.ok("GET", path) == await from_database(exchange, listing_id)
    fresh = snapshots.feeds[listing_id]
    assert fresh is not feed and not fresh.behind.is_set()
    # A failed publish or a restarted Redis: every feed may have missed something.
    exchange.app.state.hub._resync_all()
    assert fresh.behind.is_set()
    assert await exchange.http.ok("GET", path) == await from_database(exchange, listing_id)
    assert snapshots.feeds[listing_id] is not fresh


async def test_an_event_committed_but_never_published_is_caught_by_the_seq_check(
    exchange: Exchange, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker that dies between its commit and its publish leaves no gap until the next
    event; the periodic comparison with the database's seq finds the missing one."""
    listing_id, (a, _), _ = await running(exchange)
    path = f"/api/v1/auctions/{listing_id}"
    snapshots: Snapshots = exchange.app.state.snapshots
    snapshots.check_ms = 0  # compare on every request
    await exchange.http.ok("GET", path)
    feed = snapshots.feeds[listing_id]
    book = exchange.app.state.bids
    publish = book.publish

    async def lost(listing_id: int, frames: Any) -> None:
        return None  # committed, acknowledged, never told to the room

    monkeypatch.setattr(book, "publish", lost)
    assert (await bid(a, listing_id, 1_224_000)).status_code == 200
    monkeypatch.setattr(book, "publish", publish)
    stale = await exchange.http.ok("GET", path)  # reads the database's seq, one ahead
    assert stale["current_fen"] == 1_200_000 and feed is snapshots.feeds[listing_id]
    assert await exchange.http.ok("GET", path) == await from_database(exchange, listing_id)
    assert snapshots.feeds[listing_id] is not feed
    assert (await exchange.http.ok("GET", path))["current_fen"] == 1_224_000


async def test_events_that_arrive_while_the_snapshot_is_read_are_not_lost(
    exchange: Exchange, monkeypatch: pytest.MonkeyPatch
) -> None:
    listing_id, (a, _), _ = await running(exchange)
    snapshots: Snapshots = exchange.app.state.snapshots
    db, read = exchange.services.db, exchange.services.db.read
    bid_placed = asyncio.Event()

    row_read = asyncio.Event()

    def read_then_bid() -> Any:
        class Slow:
            async def __aenter__(self) -> Any:
                self.inner = read()
                session = await self.inner.__aenter__()
                # The row is read below, before the bid commits; its event comes meanwhile.
                return session

            async def __aexit__(self, *exc: Any) -> None:
                await self.inner.__aexit__(*exc)
                row_read.set()
                await bid_placed.wait()

        return Slow()

    monkeypatch.setattr(db, "read", read_then_bid)
    loading = asyncio.create_task(snapshots.frame(listing_id, None))
    await asyncio.wait_for(row_read.wait(), 10)  # the feed has joined the room and read the row
    monkeypatch.setattr(db, "read", read)
    assert (await bid(a, listing_id, 1_224_000)).status_code == 200
    bid_placed.set()
    frame = await loading
    assert frame is not None and frame.current_fen == 1_224_000 and frame.round == 1


@pytest.mark.postgres
@pytest.mark.redis
async def test_another_worker_serves_the_bid_after_the_channels_hop(
    pg_url: str, redis_url: str, tmp_path: Path
) -> None:
    url, prefix = redis_url.split("#")
    async with make_exchange(pg_url, tmp_path, redis_url=url, redis_prefix=prefix) as ex:
        listing_id, (a, b), _ = await running(ex)
        other = build_services(ex.services.config, ex.clock)
        app = create_app(services=other, run_scheduler=False)
        snapshots: Snapshots = app.state.snapshots
        await app.state.hub.start()
        try:
            first = await snapshots.frame(listing_id, None)
            assert first is not None and first.round == 0
            feed = snapshots.feeds[listing_id]
            folded = asyncio.Event()
            offer = feed.offer

            def offer_and_tell(frame: RoomFrame) -> None:
                offer(frame)
                folded.set()

            feed.offer = offer_and_tell  # type: ignore[method-assign]
            assert (await bid(a, listing_id, 1_224_000)).status_code == 200
            assert (await bid(b, listing_id, 1_248_000)).status_code == 200
            expected = {"type": "snapshot", **await from_database(ex, listing_id)}
            # The bids reach the other worker one channels hop after their commit.
            while True:
                folded.clear()
                if feed.snapshot is not None and feed.snapshot.seq >= expected["seq"]:
                    break
                await asyncio.wait_for(folded.wait(), 10)
            assert msgspec.to_builtins(await snapshots.frame(listing_id, None)) == expected
            assert snapshots.feeds[listing_id].snapshot is not None  # still the same feed
            assert not snapshots.feeds[listing_id].behind.is_set()
        finally:
            await app.state.hub.stop()
            await other.db.dispose()
