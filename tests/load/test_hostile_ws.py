"""A hostile crowd at the websocket door (docs/security.md §7): 2,000 sockets from one address,
15 MB frames and floods of pings, against one worker on SQLite. The worker stays small and the
bidders already in the room keep being answered."""

from __future__ import annotations

import asyncio
import contextlib
import json
import resource
import uuid
from pathlib import Path
from typing import Any

import pytest
import websockets

from tests.e2e.conftest import live_exchange

pytestmark = [pytest.mark.slow, pytest.mark.serial]

SOCKETS = 2_000
MEMORY_LIMIT_MB = 600
#: One 15 MB frame, shared by every attacker that sends one (the attack is on the server).
BIG = b"x" * 15_000_000


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


async def hostile(url: str, kind: str, over: asyncio.Event) -> str:
    """One attacker's socket: what happened to it. Idle ones hold their slot until `over`."""
    try:
        async with websockets.connect(url, open_timeout=30, max_size=2**20) as ws:
            # Read what the server says meanwhile, or its close would wait behind unread pongs.
            reading = asyncio.ensure_future(drain(ws))
            await ws.send(json.dumps({"type": "hello"}))
            if kind == "oversized":
                await ws.send(BIG)
            elif kind == "flood":
                for i in range(20_000):
                    await ws.send(json.dumps({"type": "ping", "t": i}))
            ending = asyncio.ensure_future(over.wait())
            await asyncio.wait([reading, ending], return_when=asyncio.FIRST_COMPLETED)
            ending.cancel()
            if not reading.done():
                reading.cancel()
                return "held"
            return f"closed {ws.close_code}"
    except websockets.ConnectionClosed as exc:
        return f"closed {exc.rcvd.code if exc.rcvd else None}"
    except (OSError, websockets.InvalidHandshake, TimeoutError) as exc:
        return f"refused {type(exc).__name__}"


async def drain(ws: websockets.ClientConnection) -> None:
    with contextlib.suppress(websockets.ConnectionClosed):
        async for _ in ws:
            pass


async def test_two_thousand_hostile_sockets_from_one_address(tmp_path: Path) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 4 * SOCKETS)), hard))
    async with live_exchange(tmp_path, redis=None, workers=1) as ex:
        listing_id, people, _ = await ex.running_auction(bidders=2, countdown_seconds=3600)
        server = ex.servers[0]
        url = f"{server.base_url.replace('http', 'ws')}/ws/auctions/{listing_id}"
        bidders = [await ex.room(listing_id, p.token).connect() for p in people]
        before = rss_mb(server.process.pid)
        # Every 20th socket sends a 15 MB frame, every 4th floods, the rest hold a slot.
        kinds = [
            "oversized" if i % 20 == 0 else "flood" if i % 4 == 1 else "idle"
            for i in range(SOCKETS)
        ]
        over = asyncio.Event()
        attack = [asyncio.create_task(hostile(url, kind, over)) for kind in kinds]
        answered: list[dict[str, Any]] = []
        peak = before
        price = 1_200_000
        try:
            while len(answered) < 10:
                price += 24_000
                bidder = bidders[len(answered) % 2]
                reply = await asyncio.wait_for(bidder.bid(price, ref=uuid.uuid4().hex), 10)
                answered.append(reply)
                peak = max(peak, rss_mb(server.process.pid))
                await asyncio.sleep(0.2)
            over.set()
            outcomes = await asyncio.wait_for(asyncio.gather(*attack), 60)
        finally:
            for task in attack:
                task.cancel()
            for bidder in bidders:
                with contextlib.suppress(Exception):
                    await bidder.close()
        peak = max(peak, rss_mb(server.process.pid))
        assert [r["type"] for r in answered] == ["accepted"] * len(answered), answered
        assert len(answered) >= 3
        assert peak < MEMORY_LIMIT_MB, f"worker grew from {before:.0f} MB to {peak:.0f} MB"
        counts: dict[str, int] = {}
        for outcome in outcomes:
            counts[outcome] = counts.get(outcome, 0) + 1
        # Past the per-address limit the worker turned sockets away; of the admitted ones no
        # attacker kept its slot: the big frames were refused unread (1009) and the floods
        # closed (4029; 4400 where the flood overtook its own hello). Which sockets win the
        # ~200 slots depends on the machine's load, so kinds are counted, not quotas.
        assert counts.get("closed 4030", 0) >= SOCKETS - 200 - 2, counts
        kept = [k for k, o in zip(kinds, outcomes, strict=True) if k != "idle" and o == "held"]
        assert not kept, (kept, counts)
        assert counts.get("closed 1009", 0) >= 1 and counts.get("closed 4029", 0) >= 1, counts
        assert await server_answers(ex), "the worker stopped answering"


async def server_answers(ex: Any) -> bool:
    response = await ex.anon.call("GET", "/readyz")
    return bool(response.status_code == 200)
