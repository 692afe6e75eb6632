"""The live protocol's edges against a real server (SQLite, one process)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
import websockets
from sqlalchemy import select

from core.db import Database
from core.ledger import LedgerEntry
from tests.e2e.conftest import live_exchange
from tests.support import PASSWORD

pytestmark = pytest.mark.slow


async def test_live_protocol_edges(tmp_path: Path) -> None:
    async with live_exchange(tmp_path, redis=None, workers=1) as ex:
        listing_id, (a, _), registrations = await ex.running_auction(bidders=2)
        watcher = await ex.room(listing_id).connect()
        assert watcher.snapshot is not None
        assert watcher.snapshot["status"] == "countdown" and "you" not in watcher.snapshot
        assert watcher.snapshot["minimum_fen"] == 1_200_000

        # Clock offset: the server answers with its own time next to the client's.
        pong = await watcher.ping(123)
        assert pong["t"] == 123
        server_time = datetime.fromisoformat(pong["server_time"].replace("Z", "+00:00"))
        assert abs((server_time - ex.clock.now()).total_seconds()) < 5

        # Anonymous watchers cannot bid.
        reply = await watcher.bid(1_224_000)
        assert reply["type"] == "rejected" and reply["code"] == "not_qualified"
        assert reply["message"] == "您未取得本场竞价的竞买资格"

        bidder = await ex.room(listing_id, a.token).connect()
        assert bidder.snapshot and bidder.snapshot["you"] == {
            "bidder_number": registrations[0]["bidder_number"]
        }
        reply = await bidder.bid(1_224_000, ref="same")
        assert reply["type"] == "accepted" and reply["round"] == 1
        again = await bidder.bid(1_224_000, ref="same")  # a retried frame: the same answer
        assert again["type"] == "accepted" and again["seq"] == reply["seq"]
        late = await bidder.bid(1_248_000)
        assert late["code"] == "self_outbid"
        frame = await watcher.wait_for(lambda f: f["type"] == "bid")
        # The room shows bidder numbers only, never identities.
        assert set(frame) == {
            "type",
            "seq",
            "round",
            "amount_fen",
            "bidder_number",
            "matched",
            "at",
            "ends_at",
            "minimum_fen",
        }

        base = ex.servers[0].base_url.replace("http", "ws")
        async with websockets.connect(f"{base}/ws/auctions/{listing_id}") as raw:
            await raw.send(json.dumps({"type": "hello", "token": "forged"}))
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await raw.recv()
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
        async with websockets.connect(f"{base}/ws/auctions/999999") as raw:
            await raw.send(json.dumps({"type": "hello"}))
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await raw.recv()
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4404
        async with websockets.connect(f"{base}/ws/auctions/{listing_id}") as raw:
            await raw.send("not json")
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await raw.recv()
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4400
        for room in (watcher, bidder):
            await room.close()


async def closed_with(raw: websockets.ClientConnection) -> int | None:
    """Read until the server closes; the close code it sent."""
    with pytest.raises(websockets.ConnectionClosed) as closed:
        while True:
            await raw.recv()
    return closed.value.rcvd.code if closed.value.rcvd is not None else None


async def test_the_room_has_limits_on_every_door(tmp_path: Path) -> None:
    """docs/security.md §7: frame size, frame rate, bounded numbers, sockets per address."""
    async with live_exchange(
        tmp_path,
        redis=None,
        workers=1,
        RURALX_WS_CONNECTIONS_PER_ADDRESS="4",
        RURALX_WS_MESSAGES_PER_SECOND="5",
    ) as ex:
        listing_id, (a, _), _ = await ex.running_auction(bidders=2)
        url = f"{ex.servers[0].base_url.replace('http', 'ws')}/ws/auctions/{listing_id}"
        bidder = await ex.room(listing_id, a.token).connect()  # a legitimate bidder, first

        # A frame far larger than any bid is refused unread (1009), the server carries on.
        async with websockets.connect(url, max_size=2**20) as raw:
            await raw.send(json.dumps({"type": "hello"}))
            await raw.recv()  # the snapshot
            await raw.send("x" * 100_000)
            assert await closed_with(raw) == 1009

        # A flood of pings: the connection is closed with 4029, not answered 20,000 times.
        async with websockets.connect(url) as raw:
            await raw.send(json.dumps({"type": "hello"}))
            await raw.recv()
            for i in range(200):
                try:
                    await raw.send(json.dumps({"type": "ping", "t": i}))
                except websockets.ConnectionClosed:
                    break
            assert await closed_with(raw) == 4029

        # Numbers past 64 bits in hello are a bad hello (4400), not a server error (4500).
        async with websockets.connect(url) as raw:
            await raw.send(json.dumps({"type": "hello", "last_seq": 2**70}))
            assert await closed_with(raw) == 4400

        # Sockets per address: the bidder holds one, three more fit, the fifth is turned away.
        extra = [await websockets.connect(url) for _ in range(3)]
        async with websockets.connect(url) as raw:
            assert await closed_with(raw) == 4030
        for socket in extra:
            await socket.close()

        # Through all of it the legitimate bidder is answered.
        reply = await bidder.bid(1_224_000)
        assert reply["type"] == "accepted", reply
        await bidder.close()


@pytest.mark.parametrize(
    ("proxies", "seen"), [("", "127.0.0.1"), ("127.0.0.1", "203.0.113.9")], ids=["none", "local"]
)
async def test_forwarded_addresses_are_believed_only_from_configured_proxies(
    tmp_path: Path, proxies: str, seen: str
) -> None:
    """The embedded profile trusts no X-Forwarded-For (anyone could claim any address and
    escape the per-address limits); behind nginx, deploy/local-up names loopback."""
    async with live_exchange(tmp_path, redis=None, workers=1, RURALX_TRUSTED_PROXIES=proxies) as ex:
        await ex.anon.call(
            "POST",
            "/api/v1/auth/login",
            {"username": "xingtian", "password": PASSWORD},
            headers={"X-Forwarded-For": "203.0.113.9"},
        )
        db = Database(ex.database_url)
        try:
            async with db.read() as session:
                [entry] = await session.scalars(
                    select(LedgerEntry).where(LedgerEntry.type == "user.logged_in")
                )
        finally:
            await db.dispose()
        assert entry.payload["ip"] == seen
