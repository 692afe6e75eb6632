"""Fan-out of bids to 1,000 and 5,000 watchers across two workers through Redis, against a
bare `websockets` broadcast server measured the same way in the same run.

Like for like: the app's bids come as browsers send them, `bid` frames on a bidder's own
websocket (two bidders taking turns, one on each worker), as the bare server's trigger sends
its frame on a websocket; the bare server broadcasts a frame of the app's `bid` shape and
size. Completion time of one bid = last watcher's receipt − the moment its frame was sent
(t0 just before the send, the same for both). The app's figure thus includes the bid's
commit (persisted before it is acknowledged and broadcast) and the Redis hop to the other
worker; the bidders' sockets are not watchers and are not counted. Bidding starts once every
app watcher has its snapshot (joined, caught up). Also checks that nothing is lost, and a
burst at 10 bids/s to every watcher without backlog: its p99 completion against the bare
server broadcasting 10 frames/s to the same clients.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import websockets

from bench.harness import Figure, percentile
from bench.servers import (
    app_url,
    auction_with_bidders,
    migrate,
    pg_database,
    raise_open_files,
    rooms_env,
    workers,
)
from bench.ws_client import STEP_FEN
from tests.servers import free_port

BIDS = 10
BURST_RATE = 10  # bids per second in the backlog check


class Watchers:
    def __init__(self) -> None:
        self.received: dict[int, list[float]] = {}  # seq → receipt times
        self.snapshots = 0  # the app's watchers: each room's answer to the hello
        self.sockets: list[Any] = []
        self.tasks: list[asyncio.Task[None]] = []

    async def connect(self, urls: list[str], n: int, hello: bool) -> None:
        async def one(i: int) -> None:
            ws = await websockets.connect(urls[i % len(urls)], max_size=2**20, open_timeout=60)
            self.sockets.append(ws)
            if hello:
                await ws.send('{"type":"hello"}')
            self.tasks.append(asyncio.create_task(self.read(ws)))

        for start in range(0, n, 200):  # in waves, not to trip the accept backlog
            await asyncio.gather(*(one(i) for i in range(start, min(n, start + 200))))

    async def read(self, ws: Any) -> None:
        try:
            async for raw in ws:
                frame = json.loads(raw)
                if frame.get("type") == "bid":
                    self.received.setdefault(frame["seq"], []).append(time.perf_counter())
                elif frame.get("type") == "snapshot":
                    self.snapshots += 1
        except websockets.ConnectionClosed:
            pass

    async def caught_up(self, n: int, timeout: float = 120) -> None:
        """Until every app watcher has its snapshot: joined, its catch-up read done. Bidding
        before then would time the workers' 5,000 catch-up reads along with the bid."""
        deadline = time.perf_counter() + timeout
        while self.snapshots < n:
            if time.perf_counter() > deadline:
                raise TimeoutError(f"{self.snapshots} of {n} watchers caught up")
            await asyncio.sleep(0.05)

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*(ws.close() for ws in self.sockets), return_exceptions=True)

    def completion(self, sent: dict[int, float], n: int) -> tuple[list[float], int]:
        times, lost = [], 0
        for seq, t0 in sent.items():
            got = self.received.get(seq, [])
            lost += n - len(got)
            if got:
                times.append(max(got) - t0)
        return times, lost


async def wait_delivered(w: Watchers, seqs: list[int], n: int, timeout: float = 60) -> None:
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if all(len(w.received.get(s, [])) >= n for s in seqs):
            return
        await asyncio.sleep(0.05)


async def paced(start: float, i: int) -> None:
    """Wait for the i-th tick of BURST_RATE a second from `start` (a late one goes at once)."""
    await asyncio.sleep(max(0.0, start + i / BURST_RATE - time.perf_counter()))


class Bidder:
    """A bidder's own websocket, bidding the way a browser does (`hello` with its token, then
    `bid` frames answered by `accepted`/`rejected`). It is not a watcher: the room's frames it
    gets are read and dropped, never counted."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.replies: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.snapshot: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.reader = asyncio.create_task(self.read())

    @classmethod
    async def connect(cls, url: str, token: str | None) -> Bidder:
        ws = await websockets.connect(url, max_size=2**20, open_timeout=60)
        await ws.send(json.dumps({"type": "hello", "token": token}))
        return cls(ws)

    async def read(self) -> None:
        try:
            async for raw in self.ws:
                frame = json.loads(raw)
                if frame["type"] == "snapshot" and not self.snapshot.done():
                    self.snapshot.set_result(frame)
                elif frame["type"] in ("accepted", "rejected"):
                    self.replies.pop(frame["ref"]).set_result(frame)
        except websockets.ConnectionClosed:
            pass

    async def bid(self, amount_fen: int, based_on_seq: int) -> tuple[float, dict[str, Any]]:
        """(the moment the bid frame was sent, its answer)."""
        ref = uuid.uuid4().hex
        reply = self.replies[ref] = asyncio.get_running_loop().create_future()
        frame = json.dumps(
            {"type": "bid", "ref": ref, "based_on_seq": based_on_seq, "amount_fen": amount_fen}
        )
        t0 = time.perf_counter()
        await self.ws.send(frame)
        return t0, await asyncio.wait_for(reply, 60)

    async def close(self) -> None:
        self.reader.cancel()
        await self.ws.close()


async def app_run(urls: list[str], n: int) -> dict[str, Any]:
    listing_id, people, client = await auction_with_bidders(urls[0], 2)
    await client.aclose()
    rooms = [u.replace("http", "ws") + f"/ws/auctions/{listing_id}" for u in urls]
    w = Watchers()
    await w.connect(rooms, n, True)
    # Two bidders taking turns (one may not outbid itself), one on each worker: the worker
    # that commits a bid delivers it to its own watchers, the other one hears it via Redis.
    bidders = [
        await Bidder.connect(rooms[i % len(rooms)], who.token) for i, who in enumerate(people)
    ]
    snap = await bidders[0].snapshot
    await asyncio.gather(*(b.snapshot for b in bidders))
    await w.caught_up(n)
    await asyncio.sleep(1)
    price, seq, sent = snap["current_fen"], snap["seq"], {}

    async def bid(k: int) -> None:
        nonlocal price, seq
        t0, reply = await bidders[k % 2].bid(price + STEP_FEN, seq)
        if reply["type"] != "accepted":
            raise RuntimeError(f"bid {k} rejected: {reply}")
        price, seq = reply["amount_fen"], reply["seq"]
        sent[seq] = t0

    for k in range(BIDS):
        await bid(k)
        await asyncio.sleep(0.3)
    await wait_delivered(w, list(sent), n)
    times, lost = w.completion(sent, n)
    burst: dict[int, float] = {}
    sent = burst
    start = time.perf_counter()
    for i, k in enumerate(range(BIDS, BIDS + 3 * BURST_RATE)):
        await paced(start, i)
        await bid(k)
    await wait_delivered(w, list(burst), n)
    burst_times, burst_lost = w.completion(burst, n)
    await asyncio.gather(*(b.close() for b in bidders), return_exceptions=True)
    await w.close()
    return {"times": times, "lost": lost, "burst_times": burst_times, "burst_lost": burst_lost}


async def listening(port: int, timeout: float = 30) -> None:
    """Until the bare server accepts connections (it starts slowly on a loaded machine)."""
    deadline = time.perf_counter() + timeout
    while True:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            if time.perf_counter() > deadline:
                raise
            await asyncio.sleep(0.1)
        else:
            writer.close()
            return


def bid_frame(seq: int) -> dict[str, Any]:
    """What the bare server broadcasts: a frame of the app's `bid` shape and size (docs/api.md
    §5), so the watchers decode as much for the one as for the other."""
    return {
        "type": "bid",
        "seq": seq,
        "round": seq,
        "amount_fen": 1_000_000 + STEP_FEN * seq,
        "bidder_number": "007",
        "matched": False,
        "at": "2026-03-02T01:30:00.000Z",
        "ends_at": "2026-03-02T02:30:00.000Z",
        "minimum_fen": 1_000_000 + STEP_FEN * (seq + 1),
    }


async def bare_run(n: int) -> dict[str, Any]:
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "bench.bare_ws", str(port)])
    try:
        await listening(port)
        w = Watchers()
        await w.connect([f"ws://127.0.0.1:{port}/watch"], n, False)
        trigger = await websockets.connect(f"ws://127.0.0.1:{port}/trigger")
        await asyncio.sleep(1)

        async def frames(seqs: range, burst: bool) -> tuple[list[float], int]:
            sent: dict[int, float] = {}
            start = time.perf_counter()
            for i, seq in enumerate(seqs):
                if burst:
                    await paced(start, i)
                frame = json.dumps(bid_frame(seq))
                sent[seq] = time.perf_counter()
                await trigger.send(frame)
                if not burst:
                    await asyncio.sleep(0.3)
            await wait_delivered(w, list(sent), n)
            return w.completion(sent, n)

        times, lost = await frames(range(1, BIDS + 1), False)
        # The same burst as the app's: 3 s of frames at BURST_RATE a second.
        burst_times, burst_lost = await frames(range(BIDS + 1, BIDS + 1 + 3 * BURST_RATE), True)
        await trigger.close()
        await w.close()
        return {"times": times, "lost": lost, "burst_times": burst_times, "burst_lost": burst_lost}
    finally:
        server.terminate()
        server.wait(10)


async def main() -> list[Figure]:
    raise_open_files()
    figures: list[Figure] = []
    workdir = Path(tempfile.mkdtemp(prefix="ruralx-bench-"))
    async with pg_database() as pg_url:
        url = app_url(pg_url)
        await asyncio.to_thread(migrate, url)
        with workers(url, workdir, 2, **rooms_env(2)) as cluster:
            for n in (1000, 5000):
                app = await app_run(cluster.urls, n)
                bare = await bare_run(n)
                p50, bare_p50 = percentile(app["times"], 50), percentile(bare["times"], 50)
                figures.append(
                    Figure(
                        f"fan-out completion p50, {n} watchers, 2 workers + Redis",
                        p50 * 1000,
                        "ms",
                        bare_p50 * 1000,
                        "bare websockets broadcast",
                        higher_is_better=False,
                        extra={
                            "p99_ms": percentile(app["times"], 99) * 1000,
                            "bare_p99_ms": percentile(bare["times"], 99) * 1000,
                            "lost": app["lost"],
                            "bare_lost": bare["lost"],
                        },
                    )
                )
                figures.append(
                    Figure(
                        f"fan-out at {BURST_RATE} bids/s, {n} watchers: completion p99",
                        percentile(app["burst_times"], 99) * 1000,
                        "ms",
                        percentile(bare["burst_times"], 99) * 1000,
                        f"bare websockets broadcast at {BURST_RATE} frames/s",
                        higher_is_better=False,
                        extra={
                            "lost": app["burst_lost"],
                            "p50_ms": percentile(app["burst_times"], 50) * 1000,
                            "bare_lost": bare["burst_lost"],
                            "bare_p50_ms": percentile(bare["burst_times"], 50) * 1000,
                        },
                    )
                )
                figures.append(
                    Figure(
                        f"fan-out messages lost, {n} watchers",
                        app["lost"] + app["burst_lost"],
                        "messages",
                    )
                )
    return figures
