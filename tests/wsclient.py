"""A test websocket client for auction rooms: hello, replay, bids, and the frames it saw."""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

import websockets


@dataclass
class RoomClient:
    url: str
    token: str | None = None
    events: list[dict[str, Any]] = field(default_factory=list)  # frames with a seq, in order
    snapshot: dict[str, Any] | None = None
    replies: dict[str, asyncio.Future[dict[str, Any]]] = field(default_factory=dict)
    _ws: Any = None
    _reader: asyncio.Task[None] | None = None
    _snapshot_seen: asyncio.Event = field(default_factory=asyncio.Event)
    #: Set whenever a frame with a seq arrives or the connection ends; `wait_for` waits on it.
    _news: asyncio.Event = field(default_factory=asyncio.Event)
    close_code: int | None = None

    @property
    def last_seq(self) -> int:
        if self.events:
            return int(self.events[-1]["seq"])
        return int(self.snapshot["seq"]) if self.snapshot else 0

    async def connect(self, last_seq: int | None = None) -> RoomClient:
        self._snapshot_seen = asyncio.Event()
        self._ws = await websockets.connect(self.url, max_size=2**20, open_timeout=10)
        hello: dict[str, Any] = {"type": "hello"}
        if self.token:
            hello["token"] = self.token
        if last_seq is not None:
            hello["last_seq"] = last_seq
        await self._ws.send(json.dumps(hello))
        self._reader = asyncio.create_task(self._read())
        await asyncio.wait_for(self._snapshot_seen.wait(), 10)
        return self

    async def _read(self) -> None:
        try:
            async for raw in self._ws:
                frame = json.loads(raw)
                kind = frame["type"]
                if kind == "snapshot":
                    self.snapshot = frame
                    self._snapshot_seen.set()
                elif kind in ("accepted", "rejected", "error") and frame.get("ref") in self.replies:
                    self.replies.pop(frame["ref"]).set_result(frame)
                elif kind == "pong":
                    self.replies.pop("pong", asyncio.get_running_loop().create_future()).set_result(
                        frame
                    )
                elif "seq" in frame:
                    assert not self.events or frame["seq"] == self.events[-1]["seq"] + 1, (
                        f"gap or duplicate: {self.events[-1]['seq']} then {frame['seq']}"
                    )
                    self.events.append(frame)
                    self._news.set()
        except websockets.ConnectionClosed as closed:
            self.close_code = closed.rcvd.code if closed.rcvd else None
        finally:
            self.close_code = self.close_code or (self._ws.close_code if self._ws else None)
            self._news.set()

    async def bid(
        self,
        amount_fen: int,
        *,
        ref: str | None = None,
        based_on_seq: int | None = None,
        kind: str = "bid",
    ) -> dict[str, Any]:
        ref = ref or uuid.uuid4().hex
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.replies[ref] = future
        frame: dict[str, Any] = {"type": kind, "ref": ref, "amount_fen": amount_fen}
        if based_on_seq is not None:
            frame["based_on_seq"] = based_on_seq
        await self._ws.send(json.dumps(frame))
        return await asyncio.wait_for(future, 15)

    async def ping(self, t: int) -> dict[str, Any]:
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.replies["pong"] = future
        await self._ws.send(json.dumps({"type": "ping", "t": t}))
        return await asyncio.wait_for(future, 10)

    async def wait_for(self, predicate: Any, timeout: float = 30) -> dict[str, Any]:
        """The first received event that satisfies the predicate, waiting for it to come."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        checked = 0
        while True:
            self._news.clear()
            for frame in self.events[checked:]:
                if predicate(frame):
                    return frame
            checked = len(self.events)
            try:
                await asyncio.wait_for(self._news.wait(), max(deadline - loop.time(), 0))
            except TimeoutError:
                raise TimeoutError(f"no matching frame; last: {self.events[-3:]}") from None

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            await self._reader
