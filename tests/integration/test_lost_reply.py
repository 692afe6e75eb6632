"""A batch whose COMMIT got no reply is neither lost nor told twice (docs/performance.md §2).

Two workers' bid books race on one auction in real PostgreSQL; one reaches the database
through a proxy that cuts its connection at a COMMIT, or at the one autocommit statement of
a batch decided from the worker's memory, either after the server committed (the reply is
dropped) or before it reaches the server (nothing is written). Either way
every command is answered, every committed event is published exactly once, and a retry with
the same ref gets the first answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import uuid
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Literal

import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from auction import pg_batch
from auction.answers import Outcome
from auction.book import BidBook
from auction.frames import EventFrame
from auction.models import AuctionEvent, Bid
from core.accounts import Actor, User
from core.db import Database
from core.ledger import verify_subject
from listings.reading import subject
from tests.integration.conftest import Exchange, make_exchange
from tests.integration.test_auction_api import running

pytestmark = pytest.mark.postgres

Cut = Literal["after_commit", "before_commit"]
STEP = 24_000
#: The prepared guarded statement's name, in the Parse message that carries its text.
GUARDED_NAME = re.compile(
    rb"(__asyncpg_stmt_\w+__)\x00" + re.escape(pg_batch.GUARDED[:40].encode())
)


class CommitCutter:
    """A TCP proxy to PostgreSQL that, when armed, cuts the next connection to send COMMIT or
    to execute the guarded one-statement batch (`pg_batch.GUARDED`): `after_commit` lets it
    through and drops the server's reply; `before_commit` drops it. Both then close the
    connection on both sides."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.armed: Cut | None = None
        self.cuts: list[Cut] = []
        self.port = 0
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        swallow = asyncio.Event()
        guarded: bytes | None = None  # its name on this connection, once prepared

        async def to_server() -> None:
            nonlocal guarded
            while data := await reader.read(65536):
                commits = b"COMMIT" in data or (guarded is not None and guarded in data)
                if guarded is None and (found := GUARDED_NAME.search(data)):
                    guarded = found.group(1)  # prepared now, executed by a later message
                if self.armed is not None and commits:
                    cut, self.armed = self.armed, None
                    self.cuts.append(cut)
                    if cut == "before_commit":
                        return
                    swallow.set()
                up_writer.write(data)
                await up_writer.drain()

        async def to_client() -> None:
            while data := await up_reader.read(65536):
                if swallow.is_set():
                    return  # the COMMIT's reply: the server has committed; the client never hears
                writer.write(data)
                await writer.drain()

        pumps = [asyncio.create_task(to_server()), asyncio.create_task(to_client())]
        with contextlib.suppress(Exception):
            await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        for task in pumps:
            task.cancel()
        for w in (writer, up_writer):
            w.close()
            with contextlib.suppress(Exception):
                await w.wait_closed()


@pytest.fixture
async def exchange(pg_url: str, tmp_path: Path) -> AsyncIterator[Exchange]:
    async with make_exchange(pg_url, tmp_path) as ex:
        yield ex


async def actors(ex: Exchange, people: Sequence[object]) -> list[Actor]:
    found = []
    for person in people:
        me = await person.ok("GET", "/api/v1/auth/me")  # type: ignore[attr-defined]
        async with ex.services.db.read() as session:
            user = await session.get(User, me["id"])
            assert user is not None
            found.append(Actor(user, None))
    return found


@pytest.mark.parametrize("cut", ["after_commit", "before_commit"])
async def test_a_lost_commit_reply_is_resolved_and_published_once(
    exchange: Exchange, pg_url: str, cut: Cut
) -> None:
    listing_id, people, _ = await running(exchange, bidders=4)
    bidders = await actors(exchange, people)
    url = make_url(pg_url)
    proxy = CommitCutter((url.host or "127.0.0.1", url.port or 5432))
    await proxy.start()
    through_proxy = Database(url.set(port=proxy.port).render_as_string(hide_password=False))
    published: dict[str, list[EventFrame]] = {"a": [], "b": []}

    def recorder(worker: str):  # type: ignore[no-untyped-def]
        async def publish(_: int, frames: Sequence[EventFrame]) -> None:
            published[worker].extend(frames)

        return publish

    workers = {
        "a": BidBook(through_proxy, exchange.clock, recorder("a")),
        "b": BidBook(exchange.services.db, exchange.clock, recorder("b")),
    }
    sent: list[tuple[str, Actor, str, Outcome]] = []
    try:
        price = 1_200_000
        for round_ in range(6):
            proxy.armed = cut  # worker a's next COMMIT is cut
            commands = [
                (("a", "b")[i % 2], bidder, uuid.uuid4().hex, price + STEP * (i + 1))
                for i, bidder in enumerate(bidders)
            ]
            outcomes = await asyncio.gather(
                *(
                    workers[w].bid(listing_id, bidder, amount_fen=amount, ref=ref)
                    for w, bidder, ref, amount in commands
                )
            )
            sent += [(w, b, ref, o) for (w, b, ref, _), o in zip(commands, outcomes, strict=True)]
            price = max([price] + [o.amount_fen or 0 for o in outcomes if o.accepted])
            assert proxy.cuts == [cut] * (round_ + 1), "every round cut one COMMIT of worker a"
    finally:
        await through_proxy.dispose()
        await proxy.stop()

    async with exchange.services.db.read() as session:
        events = list(
            await session.scalars(
                select(AuctionEvent.seq).where(AuctionEvent.listing_id == listing_id)
            )
        )
        bids = {
            (b.bidder_id, b.ref): b
            for b in await session.scalars(select(Bid).where(Bid.listing_id == listing_id))
        }
        assert await verify_subject(session, subject(listing_id)) is None
    told = [f.seq for frames in published.values() for f in frames]
    # Every committed event told once (those before the race were told by the app's own book).
    first_raced = min(told)
    assert sorted(told) == [s for s in sorted(events) if s >= first_raced]
    assert len(told) == len(set(told))
    # Every command answered as the database has it, and a retry gets the same answer.
    for _, bidder, ref, outcome in sent:
        row = bids[(bidder.id, ref)]
        assert outcome.accepted == (row.outcome == "accepted") and outcome.seq == row.seq
        again = await workers["b"].bid(listing_id, bidder, amount_fen=1, ref=ref)
        assert again.replayed and (again.accepted, again.seq) == (outcome.accepted, outcome.seq)
