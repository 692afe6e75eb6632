"""Auction snapshots served from memory, kept current by the room's own events.

A snapshot `GET` is the most frequent request of a live auction (every page load, every
HTTP client after a rejection). Each worker keeps the snapshot of an auction someone asked
for, joined to the auction's room like a watcher: its events, from this worker (at once, as
they are published) and from the others (through the channels backend), bring it forward
one `seq` at a time. A gap in `seq`, or a resync of the room (a failed publish, a restarted
Redis), drops it; the next request reads the database again. Every `check_ms` a request
also reads the auction's `seq`: an event committed but never published (a worker that died
between its commit and its publish) would leave no gap until the next one, so a snapshot
still short of the `seq` read one check earlier is dropped too. An auction nobody asked about
for `idle_seconds` is let go, and its room left.

Over HTTP a snapshot is served as bytes encoded once per event (`Encoded`): only
`server_time`, the clock when it is served, and a bidder's own `you` are spliced in per
request, byte for byte what encoding the `Snapshot` would give.

From another worker, an event arrives one channels hop after its commit, so a snapshot
served there may trail the database by that hop, as a replica would; on the worker that
committed it, it never does.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar

import msgspec
from sqlalchemy import select

from auction import engine
from auction.frames import EventFrame, Snapshot, SnapshotFrame, You, iso
from auction.live import Hub, RoomFrame, Watcher
from auction.models import Auction
from auction.rows import state_of
from auction.wire import S, event_of, snapshot
from core.accounts import Actor
from core.db import Database
from listings import registration

_UNKNOWN = object()
_SERVER_TIME = b'"server_time":"'


@dataclass(frozen=True, slots=True)
class Encoded:
    """A snapshot's JSON cut around the value of its `server_time`, and without its closing
    brace, where a bidder's `you` (the last field, absent otherwise) goes."""

    head: bytes
    tail: bytes

    @classmethod
    def of(cls, snapshot: Snapshot) -> Encoded:
        assert snapshot.you is None
        data = msgspec.json.encode(msgspec.structs.replace(snapshot, server_time=""))
        # The first `"server_time":"` is the key: inside a string value its quotes are escaped.
        head, key, tail = data.partition(_SERVER_TIME)
        return cls(head + key, tail[:-1])

    def at(self, now: datetime, you: str | None = None) -> bytes:
        """The snapshot as served at `now` (to the bidder numbered `you`)."""
        end = b"}" if you is None else b',"you":' + msgspec.json.encode(You(you)) + b"}"
        return b"".join((self.head, iso(now).encode(), self.tail, end))


@dataclass(eq=False)
class Feed(Watcher):
    """One auction's state, brought forward by the room's events instead of queueing them."""

    eager: ClassVar[bool] = True
    listing_id: int = 0
    rules: engine.Rules | None = None
    #: The engine's state as of the last event folded in: the snapshot, before encoding.
    snapshot: engine.State | None = None
    #: Its JSON (made on the first request after each change)
    encoded: Encoded | None = None
    #: Events that came while the state was being read from the database.
    early: list[EventFrame] = field(default_factory=list)
    #: Bidder numbers of the signed-in bidders who asked (fixed once the auction exists).
    numbers: dict[int, str | None] = field(default_factory=dict)
    #: time.monotonic_ns() of the last request for it
    used: int = 0
    #: time.monotonic_ns() of the last comparison with the database, and the `seq` read
    #: then, which the events should have brought the snapshot to by the next one
    checked: int = 0
    due_seq: int = 0

    def offer(self, frame: RoomFrame) -> None:
        if self.behind.is_set():
            return
        try:
            event = msgspec.json.decode(frame.data, type=EventFrame)
        except msgspec.DecodeError:  # not a frame this worker knows: read afresh
            self.behind.set()
            return
        if self.snapshot is None:
            self.early.append(event)
        else:
            self._fold(event)

    def start(self, rules: engine.Rules, state: engine.State) -> None:
        self.rules, self.snapshot = rules, state
        for event in sorted(self.early, key=lambda e: e.seq):
            self._fold(event)
        self.early.clear()

    def _fold(self, frame: EventFrame) -> None:
        assert self.snapshot is not None
        if frame.seq <= self.snapshot.seq:
            return  # already in (read from the database, or our own frame come back)
        if frame.seq != self.snapshot.seq + 1:
            self.behind.set()  # a frame overtook its predecessor: read afresh
            return
        self.snapshot = engine.evolve(self.snapshot, event_of(frame))
        self.encoded = None

    def json(self) -> Encoded:
        """The snapshot's JSON, encoded once per change."""
        if self.encoded is None:
            assert self.rules is not None and self.snapshot is not None
            now = self.rules.starts_at  # any time: `Encoded` leaves `server_time` out
            self.encoded = Encoded.of(
                snapshot(self.listing_id, self.rules, self.snapshot, now, cls=Snapshot)
            )
        return self.encoded


@dataclass
class Snapshots:
    hub: Hub
    db: Database
    now: Callable[[], datetime]
    idle_seconds: int = 60
    check_ms: int = 5000
    feeds: dict[int, Feed] = field(default_factory=dict)
    _loading: dict[int, asyncio.Task[Feed | None]] = field(default_factory=dict)
    _swept: int = 0

    async def frame(self, listing_id: int, viewer: Actor | None) -> SnapshotFrame | None:
        """The snapshot frame as `wire.snapshot_frame` gives it; None if there is no auction."""
        return await self._snapshot(listing_id, viewer, SnapshotFrame)

    async def snapshot(self, listing_id: int, viewer: Actor | None) -> Snapshot | None:
        """The snapshot as `GET /api/v1/auctions/{listing_id}` answers it (without `type`)."""
        return await self._snapshot(listing_id, viewer, Snapshot)

    async def encoded(self, listing_id: int, viewer: Actor | None) -> bytes | None:
        """`snapshot` as JSON bytes, the same as encoding it gives; None if there is no auction."""
        feed = await self._feed(listing_id)
        if feed is None:
            return None
        you = await self._you(feed, viewer) if viewer is not None else None
        return feed.json().at(self.now(), you)

    async def price(self, listing_id: int) -> tuple[int, int] | None:
        """The auction's `current_fen` and `seq` as the snapshot has them; None if there is no
        auction."""
        feed = await self._feed(listing_id)
        if feed is None:
            return None
        assert feed.snapshot is not None
        return feed.snapshot.current_fen, feed.snapshot.seq

    async def _snapshot(self, listing_id: int, viewer: Actor | None, cls: type[S]) -> S | None:
        feed = await self._feed(listing_id)
        if feed is None:
            return None
        assert feed.rules is not None and feed.snapshot is not None
        you = await self._you(feed, viewer) if viewer is not None else None
        return snapshot(listing_id, feed.rules, feed.snapshot, self.now(), you=you, cls=cls)

    async def _you(self, feed: Feed, viewer: Actor) -> str | None:
        """The viewer's bidder number in this auction, if a qualified bidder."""
        if viewer.role != "bidder":
            return None
        number = feed.numbers.get(viewer.id, _UNKNOWN)
        if number is _UNKNOWN:
            async with self.db.read() as session:
                number = await registration.qualified_number(session, feed.listing_id, viewer.id)
            feed.numbers[viewer.id] = number
        return number if isinstance(number, str) else None

    async def _feed(self, listing_id: int) -> Feed | None:
        feed = self.feeds.get(listing_id)
        if feed is not None and not feed.behind.is_set():
            feed.used = now = time.monotonic_ns()
            if now - feed.checked >= self.check_ms * 1_000_000:
                await self._check(listing_id, feed, now)
            if not feed.behind.is_set():
                return feed
        if feed is not None:
            await self._drop(listing_id, feed)
        task = self._loading.get(listing_id)
        if task is None:  # one read for all who ask at once
            task = self._loading[listing_id] = asyncio.create_task(self._load(listing_id))
            task.add_done_callback(lambda _: self._loading.pop(listing_id, None))
        feed = await asyncio.shield(task)
        await self._sweep()
        return feed

    async def _load(self, listing_id: int) -> Feed | None:
        feed = Feed(listing_id=listing_id, used=time.monotonic_ns())
        await self.hub.join(listing_id, feed)  # before reading: no event falls between
        try:
            async with self.db.read() as session:
                row = await session.get(Auction, listing_id)
                found = (row.rules, state_of(row)) if row is not None else None
        except BaseException:
            await self.hub.leave(listing_id, feed)
            raise
        if found is None:
            await self.hub.leave(listing_id, feed)
            return None
        feed.start(*found)
        self.feeds[listing_id] = feed
        return feed

    async def _check(self, listing_id: int, feed: Feed, now: int) -> None:
        """Drop the feed if an event the database had one check ago has still not come."""
        assert feed.snapshot is not None
        feed.checked = now  # before the read: one check at a time per period
        if feed.snapshot.seq < feed.due_seq:
            feed.behind.set()
            return
        async with self.db.read() as session:
            seq = await session.scalar(select(Auction.seq).where(Auction.listing_id == listing_id))
        feed.due_seq = max(feed.due_seq, seq or 0)

    async def _drop(self, listing_id: int, feed: Feed) -> None:
        if self.feeds.get(listing_id) is feed:
            del self.feeds[listing_id]
            await self.hub.leave(listing_id, feed)

    async def _sweep(self) -> None:
        now, idle = time.monotonic_ns(), self.idle_seconds * 1_000_000_000
        if now - self._swept < idle // 4:
            return
        self._swept = now
        for listing_id, feed in list(self.feeds.items()):
            if now - feed.used > idle:
                await self._drop(listing_id, feed)
