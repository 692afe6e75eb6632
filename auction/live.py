"""Live rooms: `GET /ws/auctions/{listing_id}` (docs/api.md §5) and the per-worker fan-out hub.

Fan-out goes through a litestar.channels backend: in-process memory on the embedded
default, Redis pub/sub when RURALX_REDIS_URL is set, so rooms span workers. Each worker holds
one subscription per room and hands every frame, encoded once with its ASGI message prepared
once (`RoomFrame`), to its local watchers' bounded queues. One pump per watcher drains its
queue on each wake-up straight into the server's ASGI `send` (no framework wrappers, no lock:
a send is written whole or not at all). A watcher whose queue is full is closed with 4008 and
reconnects with `last_seq`; the database (auction_events) is the history, so nothing is lost:
the broadcast may be lossy, replay is not.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, NamedTuple, cast

import msgspec
from litestar import WebSocket, websocket
from litestar.channels.backends.base import ChannelsBackend
from litestar.channels.backends.memory import MemoryChannelsBackend
from litestar.exceptions import WebSocketDisconnect
from litestar.params import FromPath
from litestar.types import Send, WebSocketSendEvent

from auction import book, queries
from auction.admission import Admission, FrameBudget
from auction.codes import MESSAGES_ZH, Code
from auction.frames import (
    Accepted,
    ClientFrame,
    Error,
    EventFrame,
    Hello,
    Pong,
    Rejected,
    ServerFrame,
    iso,
)
from auction.models import Auction
from auction.wire import snapshot_frame
from core.accounts import Actor
from core.errors import DomainError, TooManyRequests
from core.limits import RateLimiter
from core.web import PUBLIC, actor_or_none, client_ip, services
from listings import registration

log = logging.getLogger("ruralx.live")

CLOSE_SLOW = 4008  # fell behind: reconnect with last_seq
CLOSE_NOT_FOUND = 4404
CLOSE_BAD_HELLO = 4400
CLOSE_AUTH = 4401
CLOSE_FLOOD = 4029  # more frames than a person sends: docs/security.md §7
CLOSE_CROWDED = 4030  # too many rooms open from one address on this worker
QUEUE_LIMIT = 512


#: The scope key under which the app keeps the server's own ASGI `send` of a websocket
#: (`app.main.Exchange`): room frames skip the framework's per-message wrappers, which only
#: look at HTTP messages.
SERVER_SEND = "ruralx.server_send"


class _Seq(msgspec.Struct):
    seq: int


class RoomFrame(NamedTuple):
    """A room event as every watcher of a worker gets it: encoded once, its ASGI message
    prepared once (the server reads it and leaves it as it is)."""

    seq: int
    data: bytes
    message: WebSocketSendEvent

    @classmethod
    def of(cls, data: bytes) -> RoomFrame:
        seq = msgspec.json.decode(data, type=_Seq).seq
        return cls(seq, data, _text(data.decode()))


def _text(text: str) -> WebSocketSendEvent:
    return {"type": "websocket.send", "bytes": None, "text": text}


@dataclass(eq=False)
class Watcher:
    """One websocket's outbound queue; `behind` is set when it overflowed."""

    #: Offered this worker's own frames as they are published, not after the backend's hop
    #: (the snapshot feeds: a bidder's next GET on this worker sees its own bid).
    eager: ClassVar[bool] = False

    frames: deque[RoomFrame] = field(default_factory=deque)
    behind: asyncio.Event = field(default_factory=asyncio.Event)
    #: The pump's wake-up while it waits for frames (a bare future: cheaper than an Event).
    _waiter: asyncio.Future[None] | None = None

    def offer(self, frame: RoomFrame) -> None:
        if len(self.frames) >= QUEUE_LIMIT:
            self.behind.set()
            return
        self.frames.append(frame)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def wait(self) -> None:
        """Until frames are queued."""
        while not self.frames:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None


class Hub:
    """Publishes room frames and delivers them to this worker's watchers."""

    def __init__(self, backend: ChannelsBackend, prefix: str = "ruralx") -> None:
        self.backend = backend
        self.prefix = prefix
        self.rooms: dict[str, set[Watcher]] = {}
        #: Channels of messages between workers (not rooms), with what to do on each message.
        self.controls: dict[str, Callable[[bytes], None]] = {}
        self._pump: asyncio.Task[None] | None = None
        self._subscribe_lock = asyncio.Lock()
        self._close: Callable[[], Awaitable[None]] | None = None

    @classmethod
    def from_config(cls, redis_url: str, prefix: str) -> Hub:
        if not redis_url:
            return cls(MemoryChannelsBackend(), prefix)
        from litestar.channels.backends.redis import RedisChannelsPubSubBackend
        from redis.asyncio import Redis

        redis = Redis.from_url(redis_url)
        hub = cls(RedisChannelsPubSubBackend(redis=redis, key_prefix=f"{prefix}:channels"), prefix)
        hub._close = redis.aclose  # the backend leaves its client open on shutdown
        return hub

    def channel(self, listing_id: int) -> str:
        return f"{self.prefix}:auction:{listing_id}"

    def on(self, name: str, callback: Callable[[bytes], None]) -> None:
        """Call `callback` with every message of the control channel `name` (before start)."""
        self.controls[f"{self.prefix}:control:{name}"] = callback

    async def announce(self, name: str, data: bytes) -> None:
        """Tell every worker (this one too) on the control channel `name`; best effort."""
        try:
            await self.backend.publish(data, [f"{self.prefix}:control:{name}"])
        except Exception:
            log.exception("announcing on %s failed", name)

    async def start(self) -> None:
        await self.backend.on_startup()
        if self.controls:
            await self.backend.subscribe(list(self.controls))
        self._pump = asyncio.create_task(self._deliver())

    async def stop(self) -> None:
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump
        await self.backend.on_shutdown()
        if self._close is not None:
            await self._close()

    async def publish(self, listing_id: int, frames: Sequence[EventFrame]) -> None:
        """Best effort: the events are already committed; a watcher that misses one replays it."""
        name = self.channel(listing_id)
        encoded = [RoomFrame.of(msgspec.json.encode(frame)) for frame in frames]
        eager = [w for w in self.rooms.get(name, ()) if w.eager]
        for frame in encoded:
            for watcher in eager:  # before the first await: ahead of the acknowledged caller
                watcher.offer(frame)
        try:
            for frame in encoded:
                await self.backend.publish(frame.data, [name])
        except Exception:
            log.exception("publishing to room %s failed; watchers will resync", listing_id)
            self._resync_all()

    def _resync_all(self) -> None:
        """Ask every local watcher to reconnect with last_seq (close 4008 → replay from the DB)."""
        for room in self.rooms.values():
            for watcher in room:
                watcher.behind.set()

    async def join(self, listing_id: int, watcher: Watcher) -> None:
        name = self.channel(listing_id)
        async with self._subscribe_lock:
            room = self.rooms.setdefault(name, set())
            if not room:
                await self.backend.subscribe([name])
            room.add(watcher)

    async def leave(self, listing_id: int, watcher: Watcher) -> None:
        name = self.channel(listing_id)
        async with self._subscribe_lock:
            room = self.rooms.get(name)
            if room is None:
                return
            room.discard(watcher)
            if not room:
                del self.rooms[name]
                await self.backend.unsubscribe([name])

    async def _deliver(self) -> None:
        while True:
            try:
                async for name, data in self.backend.stream_events():
                    if (control := self.controls.get(name)) is not None:
                        control(bytes(data))
                        continue
                    room = self.rooms.get(name)
                    if not room:
                        continue
                    frame = RoomFrame.of(bytes(data))  # once, sent to every watcher as is
                    for watcher in tuple(room):
                        watcher.offer(frame)
            except asyncio.CancelledError:
                raise
            except Exception:  # e.g. Redis restarted: resubscribe, and have watchers replay
                log.exception("fan-out stream failed; resubscribing")
                self._resync_all()
                await asyncio.sleep(0.5)
                # Only when someone watches: SUBSCRIBE with no channel is answered with an
                # error, which the next read of the stream raises, and round it would go.
                if self.rooms or self.controls:
                    with contextlib.suppress(Exception):
                        await self.backend.subscribe([*self.rooms, *self.controls])


@dataclass
class _Session:
    socket: WebSocket[Any, Any, Any]
    listing_id: int
    actor: Actor | None
    #: The server's ASGI send (`server_send`): whole messages, safe from several tasks.
    send_message: Send
    last_sent: int = 0

    async def send(self, frame: ServerFrame | dict[str, Any]) -> None:
        """A frame for this client alone; a dict is a stored event, sent again as it was."""
        await self.send_message(_text(msgspec.json.encode(frame).decode()))


def server_send(socket: WebSocket[Any, Any, Any]) -> Send:
    """The server's own `send` of this websocket, else (an app without it) the socket's."""
    send = cast("Send | None", socket.scope.get(SERVER_SEND))
    return send if send is not None else socket.send


@websocket("/ws/auctions/{listing_id:int}", opt=PUBLIC)
async def room(socket: WebSocket[Any, Any, Any], listing_id: FromPath[int]) -> None:
    admission: Admission = socket.app.state.admission
    with admission.admit(client_ip(socket) or "-") as admitted:
        await socket.accept()
        if not admitted:
            await socket.close(CLOSE_CROWDED, "同一地址打开的连接过多，请关闭多余页面")
            return
        await _room(socket, listing_id)


async def _room(socket: WebSocket[Any, Any, Any], listing_id: int) -> None:
    svc = services(socket)
    hub: Hub = socket.app.state.hub
    try:
        hello = msgspec.json.decode(
            await asyncio.wait_for(socket.receive_text(), timeout=15), type=Hello
        )
    except (TimeoutError, msgspec.DecodeError, msgspec.ValidationError):
        await socket.close(CLOSE_BAD_HELLO, "expected hello")
        return
    if hello.type != "hello":
        await socket.close(CLOSE_BAD_HELLO, "expected hello")
        return
    # A browser page is signed in by its session cookie (resolved by the auth middleware),
    # accepted only from our own origin so another site cannot bid in the user's name.
    actor: Actor | None = actor_or_none(socket) if _same_origin(socket) else None
    if hello.token:
        try:
            actor = await svc.actor_for(hello.token)
        except DomainError:
            await socket.close(CLOSE_AUTH, "token invalid")
            return
    watcher = Watcher()
    await hub.join(listing_id, watcher)  # subscribe before reading history: no gap
    try:
        conn = _Session(socket, listing_id, actor, server_send(socket))
        if not await _catch_up(conn, svc, hello.last_seq):
            await socket.close(CLOSE_NOT_FOUND, "no auction")
            return
        await _serve(conn, watcher, svc)
    except (WebSocketDisconnect, OSError):  # OSError: the server's ClientDisconnected
        pass
    finally:
        await hub.leave(listing_id, watcher)


def _same_origin(socket: WebSocket[Any, Any, Any]) -> bool:
    origin = socket.headers.get("origin")
    if origin is None:
        return True  # not a browser
    host = socket.headers.get("host", "")
    return origin.split("://", 1)[-1].rstrip("/") == host


async def _catch_up(conn: _Session, svc: Any, last_seq: int | None) -> bool:
    """Replay what the client missed (if it says what it has), then the snapshot."""
    async with svc.db.read() as session:
        row = await session.get(Auction, conn.listing_id)
        if row is None:
            return False
        missed = (
            await queries.events_after(session, conn.listing_id, last_seq)
            if last_seq is not None
            else []
        )
        you = None
        if conn.actor is not None and conn.actor.role == "bidder":
            you = await registration.qualified_number(session, conn.listing_id, conn.actor.id)
        snapshot = snapshot_frame(row, svc.now(), you=you)
    for frame in missed:
        if frame["seq"] <= row.seq:  # later ones come live (subscribed before reading)
            await conn.send(frame)
    await conn.send(snapshot)
    conn.last_sent = row.seq
    return True


async def _serve(conn: _Session, watcher: Watcher, svc: Any) -> None:
    tasks = [
        asyncio.create_task(_pump(conn, watcher, svc)),
        asyncio.create_task(_slow(conn, watcher)),
        asyncio.create_task(_read(conn, svc)),
    ]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            exc = task.exception()
            if exc is not None and not isinstance(exc, WebSocketDisconnect | OSError):
                raise exc
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _pump(conn: _Session, watcher: Watcher, svc: Any) -> None:
    """The only sender of room frames: on each wake-up, everything queued, in `seq` order,
    each once. A send that does not have to wait for the client completes without
    suspending, so a drain is one task step however many frames it writes."""
    frames, send = watcher.frames, conn.send_message
    while True:
        await watcher.wait()
        while frames:
            frame = frames.popleft()
            if frame.seq <= conn.last_sent:
                continue  # already sent by the replay
            if frame.seq > conn.last_sent + 1:  # a frame overtook its predecessor: fill
                await _fill(conn, svc, frame.seq)
            await send(frame.message)
            conn.last_sent = frame.seq


async def _fill(conn: _Session, svc: Any, before: int) -> None:
    """Send the stored events after the last one sent and before `before`."""
    async with svc.db.read() as session:
        missed = await queries.events_after(session, conn.listing_id, conn.last_sent)
    for stored in missed:
        if stored["seq"] < before:
            await conn.send(stored)
            conn.last_sent = stored["seq"]


async def _slow(conn: _Session, watcher: Watcher) -> None:
    await watcher.behind.wait()
    await conn.socket.close(CLOSE_SLOW, "too slow; reconnect with last_seq")


async def _read(conn: _Session, svc: Any) -> None:
    bids: book.BidBook = conn.socket.app.state.bids
    limiter: RateLimiter = conn.socket.app.state.bid_limiter
    budget = FrameBudget(svc.config.ws_messages_per_second, time.monotonic_ns)
    while True:
        raw = await conn.socket.receive_text()
        if not budget.spend():
            await conn.socket.close(CLOSE_FLOOD, "消息过于频繁，连接已关闭")
            return
        try:
            frame = msgspec.json.decode(raw, type=ClientFrame)
        except (msgspec.DecodeError, msgspec.ValidationError):
            await conn.send(Error("request.invalid", "消息格式有误"))
            continue
        if frame.type == "ping":
            await conn.send(Pong(frame.t, iso(svc.now())))
        elif frame.type in ("bid", "match"):
            await conn.send(await _bid(conn, frame, bids, limiter))
        else:
            await conn.send(Error("request.invalid", "未知的消息类型"))


async def _bid(
    conn: _Session, frame: ClientFrame, bids: book.BidBook, limiter: RateLimiter
) -> Accepted | Rejected:
    ref = frame.ref or uuid.uuid4().hex
    if conn.actor is None:
        return rejected(ref, "not_qualified")
    try:
        limiter.hit(f"bid:{conn.listing_id}:{conn.actor.id}")
    except TooManyRequests:
        return rejected(ref, "rate_limited")
    if frame.type == "bid" and (frame.amount_fen is None or frame.amount_fen <= 0):
        return Rejected(ref, "request.invalid", "出价金额无效")
    outcome = await bids.bid(
        conn.listing_id,
        conn.actor,
        amount_fen=frame.amount_fen,
        ref=ref,
        based_on_seq=frame.based_on_seq,
        match=frame.type == "match",
        channel="ws",
        ip=client_ip(conn.socket),
        device=conn.socket.headers.get("user-agent"),
    )
    if outcome.accepted:
        return Accepted(ref, outcome.seq, outcome.round, outcome.amount_fen)
    assert outcome.code is not None
    return rejected(ref, outcome.code)


def rejected(ref: str, code: str) -> Rejected:
    return Rejected(ref, code, MESSAGES_ZH[Code(code)])
