"""The benchmarks' websocket bidders: a closed loop per connection, on `picows` (Cython).

The baselines are C clients (pgbench; `wrk` for HTTP bids), so the websocket load is driven
by a C websocket client too: a bidder reacts to each frame in a callback, with no task switch
and no Python framing per message, and a load generator's own CPU weighs as little as it can
on the two cores the worker shares with it.

Each bidder says `hello` with its token, keeps the price and `seq` from the snapshot and the
room's `bid` frames (docs/api.md §4), and once started bids one step above the price it last
saw, sends the next bid when the answer to the last one arrives, and stops at `stop_at`
(monotonic). The next bid goes out after the frames that arrived with the answer are read,
as a bidder's page would see them.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field

import msgspec
from picows import WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

from tests.support import SEED_TERMS

#: The bid step of the benchmarks' auctions (the seed case's terms).
STEP_FEN: int = SEED_TERMS["increment_fen"]


@dataclass
class Tally:
    """What the bidders of one load measured together."""

    answered: int = 0
    accepted: int = 0
    latencies: list[float] = field(default_factory=list)


class _Frame(msgspec.Struct):
    type: str
    ref: str | None = None
    current_fen: int | None = None
    amount_fen: int | None = None
    seq: int | None = None


_decode = msgspec.json.Decoder(_Frame).decode
_encode = msgspec.json.Encoder().encode


class Bidder(WSListener):  # type: ignore[misc]
    def __init__(self, token: str, tally: Tally) -> None:
        super().__init__()
        self.token, self.tally = token, tally
        self.transport: WSTransport | None = None
        self.current = self.seq = 0
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.stop_at = 0.0
        self.ref = ""
        self.sent_at = 0.0

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.transport = transport
        transport.send(WSMsgType.TEXT, _encode({"type": "hello", "token": self.token}))

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type != WSMsgType.TEXT:
            return  # pings are answered by picows (enable_auto_pong)
        f = _decode(frame.get_payload_as_bytes())
        if f.type == "snapshot":
            self.current, self.seq = f.current_fen or 0, f.seq or 0
            if not self.ready.done():
                self.ready.set_result(None)
        elif f.type == "bid":
            self.current, self.seq = f.amount_fen or 0, f.seq or 0
        elif f.type in ("accepted", "rejected") and f.ref == self.ref:
            tally = self.tally
            tally.latencies.append(time.perf_counter() - self.sent_at)
            tally.answered += 1
            tally.accepted += f.type == "accepted"
            self.ref = ""
            asyncio.get_running_loop().call_soon(self.bid)

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        for waiter in (self.ready, self.done):
            if not waiter.done():
                waiter.set_exception(ConnectionError("the server closed the websocket"))

    def start(self, stop_at: float) -> None:
        self.stop_at = stop_at
        self.bid()

    def bid(self) -> None:
        if time.monotonic() >= self.stop_at:
            if not self.done.done():
                self.done.set_result(None)
            return
        assert self.transport is not None
        self.ref = uuid.uuid4().hex
        frame = {
            "type": "bid",
            "ref": self.ref,
            "based_on_seq": self.seq,
            "amount_fen": self.current + STEP_FEN,
        }
        self.sent_at = time.perf_counter()
        self.transport.send(WSMsgType.TEXT, _encode(frame))

    def close(self) -> None:
        if self.transport is not None:
            self.transport.send_close()
            self.transport.disconnect()


async def connect(url: str, token: str, tally: Tally) -> Bidder:
    """A bidder on `url` (ws://…/ws/auctions/{id}) that has its first snapshot."""
    _, bidder = await ws_connect(
        lambda: Bidder(token, tally), url, websocket_handshake_timeout=60, enable_auto_pong=True
    )
    assert isinstance(bidder, Bidder)
    await bidder.ready
    return bidder


async def connect_all(pairs: list[tuple[str, str]], tally: Tally, wave: int = 200) -> list[Bidder]:
    """Bidders for (url, token) pairs, connected in waves not to trip the accept backlog."""
    bidders: list[Bidder] = []
    for start in range(0, len(pairs), wave):
        bidders += await asyncio.gather(
            *(connect(url, token, tally) for url, token in pairs[start : start + wave])
        )
    return bidders


async def run(bidders: list[Bidder], seconds: float) -> None:
    """Every bidder bids in its closed loop from now for `seconds`; then all are closed."""
    stop_at = time.monotonic() + seconds
    for bidder in bidders:
        bidder.start(stop_at)
    try:  # a bidder whose answer never comes fails the run rather than hang it
        await asyncio.wait_for(asyncio.gather(*(b.done for b in bidders)), seconds + 60)
    finally:
        for bidder in bidders:
            bidder.close()
