"""The fan-out hub and watchers: frames encoded once, in order; a stuck watcher gets 4008."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import msgspec
import pytest

from auction import live
from auction.admission import Admission, FrameBudget
from auction.frames import ClientFrame
from auction.live import (
    CLOSE_SLOW,
    QUEUE_LIMIT,
    Hub,
    RoomFrame,
    Watcher,
    _serve,
    _Session,
)


async def drain(watcher: Watcher, n: int) -> list[RoomFrame]:
    """The next `n` frames offered to the watcher."""
    got: list[RoomFrame] = []
    while len(got) < n:
        await asyncio.wait_for(watcher.wait(), 5)
        while watcher.frames and len(got) < n:
            got.append(watcher.frames.popleft())
    return got


def frame(seq: int, **fields: Any) -> RoomFrame:
    return RoomFrame.of(json.dumps({"type": "bid", "seq": seq, **fields}).encode())


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def channels(request: pytest.FixtureRequest) -> tuple[str, str]:
    """(Redis URL, prefix): empty for the in-process backend, else Redis (production's)."""
    if request.param == "memory":
        return "", "ruralx"
    url, prefix = request.getfixturevalue("redis_url").split("#")
    return url, prefix


@pytest.fixture
async def hub(channels: tuple[str, str]) -> AsyncIterator[Hub]:
    started = Hub.from_config(*channels)
    await started.start()
    try:
        yield started
    finally:
        await started.stop()


async def test_every_watcher_of_a_room_gets_every_frame_in_order(hub: Hub) -> None:
    a, b, other = Watcher(), Watcher(), Watcher()
    await hub.join(1, a)
    await hub.join(1, b)
    await hub.join(2, other)
    await hub.publish(1, [{"type": "bid", "seq": s, "amount_fen": 100 * s} for s in (1, 2, 3)])
    got_a, got_b = await drain(a, 3), await drain(b, 3)
    assert [f.seq for f in got_a] == [1, 2, 3]
    # The very same message for every watcher: encoded and prepared once.
    assert all(x.message is y.message for x, y in zip(got_a, got_b, strict=True))
    assert json.loads(got_a[2].message["text"] or "") == {
        "type": "bid",
        "seq": 3,
        "amount_fen": 300,
    }
    # Another room hears nothing: a frame published to it after ours reaches only its watcher.
    await hub.publish(2, [{"type": "bid", "seq": 1}])
    assert [f.seq for f in await drain(other, 1)] == [1]
    assert not a.frames and not b.frames


async def test_the_last_watcher_leaving_unsubscribes_the_room(hub: Hub) -> None:
    w = Watcher()
    await hub.join(7, w)
    assert hub.channel(7) in hub.rooms
    await hub.leave(7, w)
    assert hub.channel(7) not in hub.rooms
    # A newcomer subscribes the room again and hears the next frame; the one who left does not.
    newcomer = Watcher()
    await hub.join(7, newcomer)
    await hub.publish(7, [{"type": "bid", "seq": 1}])
    assert [f.seq for f in await drain(newcomer, 1)] == [1]
    assert not w.frames


def test_a_full_queue_marks_the_watcher_behind_instead_of_blocking_the_room() -> None:
    w = Watcher()
    for seq in range(1, QUEUE_LIMIT + 1):
        w.offer(frame(seq))
    assert not w.behind.is_set()
    w.offer(frame(QUEUE_LIMIT + 1))
    assert w.behind.is_set()
    assert len(w.frames) == QUEUE_LIMIT  # the overflowing frame is not kept


class StuckSocket:
    """A client that stopped reading: every send blocks; it never sends anything."""

    def __init__(self) -> None:
        self.closed: tuple[int, str] | None = None
        self.app = SimpleNamespace(state=SimpleNamespace(bids=None, bid_limiter=None))
        self.headers: dict[str, str] = {}
        self.client = None

    async def send(self, _: Any) -> None:
        await asyncio.Event().wait()

    async def receive_text(self) -> str:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    async def close(self, code: int, reason: str = "") -> None:
        self.closed = (code, reason)


async def test_a_watcher_that_falls_behind_is_closed_with_4008() -> None:
    socket = StuckSocket()
    watcher = Watcher()
    session = _Session(socket, 1, None, socket.send)  # type: ignore[arg-type]
    svc: Any = SimpleNamespace(config=SimpleNamespace(ws_messages_per_second=20))
    serving = asyncio.create_task(_serve(session, watcher, svc))
    for seq in range(1, QUEUE_LIMIT + 3):
        watcher.offer(frame(seq))
    await asyncio.wait_for(serving, 5)
    assert socket.closed is not None and socket.closed[0] == CLOSE_SLOW == 4008


class StoredEvents:
    """`svc.db.read()` for the pump's gap filling: the room's stored events."""

    def __init__(self, events: list[dict[str, Any]]) -> None:
        self.events = events
        self.reads = 0

    @contextlib.asynccontextmanager
    async def read(self) -> AsyncIterator[Any]:
        self.reads += 1
        yield self


async def test_the_pump_sends_each_frame_once_in_seq_order_filling_gaps_from_the_database(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sent: list[Any] = []

    async def send(message: Any) -> None:
        sent.append(message)

    stored = StoredEvents([{"type": "bid", "seq": s} for s in range(1, 9)])

    async def events_after(session: StoredEvents, _: int, after: int) -> list[dict[str, Any]]:
        return [e for e in session.events if e["seq"] > after]

    monkeypatch.setattr(live.queries, "events_after", events_after)
    socket = StuckSocket()
    watcher = Watcher()
    session = _Session(socket, 1, None, send)  # type: ignore[arg-type]
    session.last_sent = 2  # the replay and the snapshot went up to seq 2
    svc: Any = SimpleNamespace(config=SimpleNamespace(ws_messages_per_second=20), db=stored)
    serving = asyncio.create_task(_serve(session, watcher, svc))
    # Already replayed, then 3 and 4, 6 overtaking 5 (from the database), 6 again, then 7.
    for seq in (1, 2, 3, 4, 6, 6, 7):
        watcher.offer(frame(seq))
    while session.last_sent < 7:
        await asyncio.sleep(0)
    assert [json.loads(m["text"])["seq"] for m in sent] == [3, 4, 5, 6, 7]
    assert stored.reads == 1
    assert all(m["type"] == "websocket.send" for m in sent)
    assert not watcher.frames and not socket.closed
    serving.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await serving


async def test_one_wake_up_of_the_pump_drains_everything_queued() -> None:
    sent: list[Any] = []

    async def send(message: Any) -> None:
        sent.append(message)

    watcher = Watcher()
    session = _Session(StuckSocket(), 1, None, send)  # type: ignore[arg-type]
    svc: Any = SimpleNamespace(config=SimpleNamespace(ws_messages_per_second=20))
    serving = asyncio.create_task(_serve(session, watcher, svc))
    await asyncio.sleep(0)  # the pump waits
    for seq in range(1, 101):
        watcher.offer(frame(seq))
    await asyncio.sleep(0)  # one step of the pump
    assert len(sent) == 100 and not watcher.frames
    serving.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await serving


def test_rejections_carry_the_chinese_message() -> None:
    frame = msgspec.to_builtins(live.rejected("r1", "stale"))
    assert frame == {
        "type": "rejected",
        "ref": "r1",
        "code": "stale",
        "message": "出价前价格已被他人刷新，请按最新价格重新出价",
    }


def test_bid_frames_are_bounded_like_the_http_body() -> None:
    ok = msgspec.json.decode(b'{"type":"bid","ref":"r","amount_fen":1224000}', type=ClientFrame)
    assert ok.amount_fen == 1_224_000
    for bad in (
        b'{"type":"bid","ref":"r","amount_fen":100000000000000000}',
        b'{"type":"bid","ref":"' + b"x" * 65 + b'","amount_fen":1}',
        b'{"type":"bid","ref":"r","amount_fen":1,"based_on_seq":2147483648}',
        b'{"type":"bid","ref":"r","amount_fen":"1224000"}',
    ):
        with pytest.raises(msgspec.ValidationError):
            msgspec.json.decode(bad, type=ClientFrame)


def test_the_frame_budget_allows_bursts_and_refills_at_its_rate() -> None:
    now = [0]
    budget = FrameBudget(5, lambda: now[0])
    assert [budget.spend() for _ in range(11)] == [True] * 10 + [False]
    now[0] += 200_000_000  # 0.2 s: one frame's worth
    assert budget.spend() and not budget.spend()
    now[0] += 100_000_000_000  # 100 s: never more than the burst
    assert sum(budget.spend() for _ in range(20)) == 10


def test_admission_counts_rooms_per_address_and_forgets_closed_ones() -> None:
    admission = Admission(2)
    with (
        admission.admit("a") as first,
        admission.admit("a") as second,
        admission.admit("a") as third,
        admission.admit("b") as other,
    ):
        assert (first, second, third, other) == (True, True, False, True)
    assert admission.open == {}
