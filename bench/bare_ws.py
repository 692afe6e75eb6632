"""Baseline for the fan-out benchmark: a bare `websockets` server that broadcasts each
message a trigger connection sends to every other connection."""

from __future__ import annotations

import asyncio
import sys

from websockets.asyncio.server import ServerConnection, broadcast, serve

watchers: set[ServerConnection] = set()


async def handler(ws: ServerConnection) -> None:
    if ws.request is not None and ws.request.path == "/trigger":
        async for message in ws:
            broadcast(watchers, message)
        return
    watchers.add(ws)
    try:
        await ws.wait_closed()
    finally:
        watchers.discard(ws)


async def main(port: int) -> None:
    async with serve(handler, "127.0.0.1", port, max_size=2**20):
        await asyncio.Future()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
