"""The bid book's ways to write a batch agree: plain SQL on PostgreSQL, the ORM elsewhere.

On PostgreSQL every batch of bids goes through `auction.pg_batch`: one guarded statement when
the worker remembers the auction, else four round trips; a batch that ends the auction, and
SQLite, take the ORM path. All must leave the same rows, events, ledger entries and auction
state behind, and answer a ref committed elsewhere the same way. The guarded statement writes
only while the memory holds — another worker's write, a bidder no longer qualified, a
retried ref all send the batch to the locked path — and writes all of it or none of it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy import select, update

from auction import pg_batch
from auction.answers import Outcome
from auction.book import BidBook
from auction.frames import EventFrame
from auction.models import Auction, AuctionEvent, Bid
from core.accounts import Actor, User
from core.ledger import LedgerEntry, verify_subject
from listings.reading import subject
from tests.integration.conftest import Exchange, make_exchange
from tests.support import Http, entrust_review_announce, sign_up_and_qualify

pytestmark = pytest.mark.postgres

START_FEN, STEP = 1_200_000, 24_000


@pytest.fixture
async def exchange(pg_url: str, tmp_path: Path) -> AsyncIterator[Exchange]:
    async with make_exchange(pg_url, tmp_path) as ex:
        yield ex


async def qualify(ex: Exchange, reviewer: Http, person: Http, listing_id: int) -> None:
    reg = await person.ok("POST", f"/api/v1/listings/{listing_id}/registrations", {}, status=201)
    assert (await ex.http.pay(reg["payment_reference"], reg["deposit_fen"])).status_code == 200
    await reviewer.ok("POST", f"/api/v1/registrations/{reg['id']}/review", {"decision": "qualify"})


async def twin_auctions(ex: Exchange, bidders: int) -> tuple[int, int, list[Actor]]:
    """Two auctions running side by side, from the same instant, with the same bidders."""
    admin = await ex.http.login("admin")
    await admin.ok("PUT", "/api/v1/settings", {"free_bidding_minutes": 0, "countdown_seconds": 300})
    lots = []
    for _ in range(2):
        listing_id, _, reviewer = await entrust_review_announce(
            ex.http, ex.clock.now(), closes_in=timedelta(days=10), starts_in=timedelta(days=11)
        )
        lots.append(listing_id)
    people, _ = await sign_up_and_qualify(ex.http, reviewer, lots[0], bidders)
    for person in people:
        await qualify(ex, reviewer, person, lots[1])
    ex.clock.advance(timedelta(days=11, seconds=1))
    await ex.tick()
    actors = []
    for person in people:
        me = await (await person.relogin()).ok("GET", "/api/v1/auth/me")
        async with ex.services.db.read() as session:
            user = await session.get(User, me["id"])
            assert user is not None
            actors.append(Actor(user, None))
    return lots[0], lots[1], actors


def orm_only(ex: Exchange, monkeypatch: pytest.MonkeyPatch) -> Callable[[bool], None]:
    """A switch between the two paths: off, the bid book finds no raw pool (as on SQLite)."""
    raw = ex.services.db.raw

    async def no_pool() -> None:
        return None

    def use_orm(on: bool) -> None:
        monkeypatch.setattr(ex.services.db, "raw", no_pool if on else raw)

    return use_orm


def guarded_tries(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """How each guarded statement ended: written, unchanged (a guard failed), or the server
    error that refused it."""
    tries: list[str] = []
    guarded = pg_batch.write_guarded

    async def spying(*args: Any, **kwargs: Any) -> bool:
        try:
            written = await guarded(*args, **kwargs)
        except asyncpg.PostgresError as exc:
            tries.append(type(exc).__name__)
            raise
        tries.append("written" if written else "unchanged")
        return written

    monkeypatch.setattr(pg_batch, "write_guarded", spying)
    return tries


Step = Callable[[int], Awaitable[Any]]


def side_by_side(
    ex: Exchange, monkeypatch: pytest.MonkeyPatch, fast: int, slow: int
) -> Callable[[Step], Awaitable[tuple[Any, Any]]]:
    """Run a step on `fast` in plain SQL, then on `slow` through the ORM."""
    use_orm = orm_only(ex, monkeypatch)

    async def both(step: Step) -> tuple[Any, Any]:
        use_orm(False)
        first = await step(fast)
        use_orm(True)
        second = await step(slow)
        use_orm(False)
        return first, second

    return both


def bid(book: BidBook, who: Actor, amount_fen: int, ref: str) -> Step:
    async def run(lot: int) -> Outcome:
        return await book.bid(lot, who, amount_fen=amount_fen, ref=ref)

    return run


def answered(pairs: Sequence[tuple[Outcome, Outcome]]) -> list[tuple[Any, ...]]:
    """The plain-SQL answers, each checked equal to the ORM's."""
    for on_sql, on_orm in pairs:
        assert (on_sql.accepted, on_sql.code, on_sql.seq, on_sql.round, on_sql.replayed) == (
            on_orm.accepted,
            on_orm.code,
            on_orm.seq,
            on_orm.round,
            on_orm.replayed,
        )
    return [(o.accepted, o.code) for o, _ in pairs]


async def nobody_told(_: int, __: Sequence[EventFrame]) -> None:
    return None


async def recorded(ex: Exchange, listing_id: int, numbers: dict[str, str]) -> dict[str, Any]:
    """What the auction left behind, bidder numbers replaced by who holds them (and without
    the registration's id, which differs between the twins)."""

    def anonymous(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: anonymous(v) for k, v in value.items() if k != "registration_id"}
        return numbers.get(value, value) if isinstance(value, str) else value

    async with ex.services.db.read() as session:
        auction = await session.get(Auction, listing_id)
        assert auction is not None
        bids = await session.scalars(
            select(Bid).where(Bid.listing_id == listing_id).order_by(Bid.id)
        )
        events = await session.scalars(
            select(AuctionEvent)
            .where(AuctionEvent.listing_id == listing_id)
            .order_by(AuctionEvent.seq)
        )
        entries = await session.scalars(
            select(LedgerEntry)
            .where(LedgerEntry.subject == subject(listing_id))
            .order_by(LedgerEntry.id)
        )
        assert await verify_subject(session, subject(listing_id)) is None
        return {
            "auction": anonymous(columns(auction)),
            "bids": [anonymous(columns(b)) for b in bids],
            "events": [(e.seq, e.type, anonymous(e.payload), e.at) for e in events],
            # Entries after the auction opened (with its random priority-draw seed).
            "ledger": [
                (e.type, e.actor, anonymous(e.payload), e.at)
                for e in entries
                if e.type.startswith(("auction.", "bid.", "deal.")) and e.type != "auction.opened"
            ],
        }


def columns(row: Any) -> dict[str, Any]:
    return {
        c.key: getattr(row, c.key)
        for c in row.__table__.columns
        if c.key not in ("id", "listing_id", "draw")
    }


async def numbers_of(ex: Exchange, listing_id: int, actors: list[Actor]) -> dict[str, str]:
    from listings import Registration

    async with ex.services.db.read() as session:
        rows = await session.execute(
            select(Registration.bidder_number, Registration.bidder_id).where(
                Registration.listing_id == listing_id
            )
        )
        index = {a.id: f"bidder-{k}" for k, a in enumerate(actors)}
        return {number: index[bidder_id] for number, bidder_id in rows if number}


async def test_the_plain_sql_batch_writes_what_the_orm_path_writes(
    exchange: Exchange, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast, slow, (a, b, c) = await twin_auctions(exchange, bidders=3)
    book, both = exchange.app.state.bids, side_by_side(exchange, monkeypatch, fast, slow)
    tries = guarded_tries(monkeypatch)
    written, write = 0, pg_batch.write

    async def counting_write(*args: Any, **kwargs: Any) -> None:
        nonlocal written
        written += 1
        await write(*args, **kwargs)

    monkeypatch.setattr(pg_batch, "write", counting_write)

    def burst(*commands: tuple[Actor, int, str, int | None]) -> Callable[[int], Any]:
        async def run(lot: int) -> list[Outcome]:
            return await asyncio.gather(
                *(
                    book.bid(lot, who, amount_fen=amt, ref=ref, based_on_seq=seen)
                    for who, amt, ref, seen in commands
                )
            )

        return run

    # One batch: accepted, accepted, self-outbid, stale, accepted at the minimum, a retry.
    outcomes = await both(
        burst(
            (a, START_FEN + STEP, "r1", 1),
            (b, START_FEN + 2 * STEP, "r2", 2),
            (b, START_FEN + 4 * STEP, "r3", 3),
            (c, START_FEN + STEP, "r4", 1),
            (c, START_FEN + 3 * STEP, "r5", 1),
            (a, START_FEN + STEP, "r1", 1),
        )
    )
    exchange.clock.advance(timedelta(seconds=10))
    # Alone: not a step multiple, too many steps, accepted; a retry answered from the database.
    outcomes += await both(burst((a, START_FEN + 4 * STEP + 1000, "r6", None)))
    outcomes += await both(burst((a, START_FEN + 20 * STEP, "r7", None)))
    outcomes += await both(burst((a, START_FEN + 4 * STEP, "r8", None)))
    outcomes += await both(burst((b, START_FEN + 2 * STEP, "r2", 2)))
    # After the countdown: the bid's own batch ends the auction (and falls back to the ORM).
    exchange.clock.advance(timedelta(seconds=301))
    outcomes += await both(burst((b, START_FEN + 6 * STEP, "r9", None)))

    pairs = list(zip(outcomes[::2], outcomes[1::2], strict=True))
    for on_sql, on_orm in pairs:
        assert [(o.accepted, o.code, o.seq, o.round, o.replayed) for o in on_sql] == [
            (o.accepted, o.code, o.seq, o.round, o.replayed) for o in on_orm
        ]
    first = [(o.accepted, o.code) for o in pairs[0][0]]
    assert first == [
        (True, None),
        (True, None),
        (False, "self_outbid"),
        (False, "stale"),
        (True, None),
        (True, None),
    ]
    assert [[(o.code, o.replayed) for o in burst] for burst, _ in pairs[1:5]] == [
        [("not_step_multiple", False)],
        [("too_many_steps", False)],
        [(None, False)],
        [(None, True)],
    ]
    assert pairs[-1][0][0].code == "not_running"
    on_sql = await recorded(exchange, fast, await numbers_of(exchange, fast, [a, b, c]))
    on_orm = await recorded(exchange, slow, await numbers_of(exchange, slow, [a, b, c]))
    assert on_sql == on_orm
    assert on_sql["auction"]["status"] == "ended" and on_sql["auction"]["result"] == "sold"
    assert len(on_sql["bids"]) == 9  # the two retries wrote nothing
    # The first batch and the lone retry under lock; the three lone bids in one statement
    # each; the retry's guarded statement was refused whole; the closing batch by the ORM.
    assert tries == ["written", "written", "written", "UniqueViolationError"]
    assert written == 2


async def test_a_ref_committed_elsewhere_meanwhile_is_answered_as_the_first_time(
    exchange: Exchange, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, lot, (a, _) = await twin_auctions(exchange, bidders=2)
    book = exchange.app.state.bids
    first = await book.bid(lot, a, amount_fen=START_FEN + STEP, ref="twice")
    lock = pg_batch.lock

    async def blind_lock(*args: Any) -> pg_batch.Locked | None:
        # As if another worker committed the ref after this statement's snapshot was taken.
        locked = await lock(*args)
        assert locked is not None and locked.firsts
        return replace(locked, firsts=[])

    monkeypatch.setattr(pg_batch, "lock", blind_lock)
    again = await book.bid(lot, a, amount_fen=START_FEN + STEP, ref="twice")
    assert again.replayed and (again.accepted, again.seq) == (first.accepted, first.seq)
    async with exchange.services.db.read() as session:
        rows = await session.scalars(select(Bid).where(Bid.listing_id == lot, Bid.ref == "twice"))
        assert len(list(rows)) == 1


async def test_memory_overtaken_by_another_worker_sends_the_batch_to_the_locked_path(
    exchange: Exchange, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast, slow, (a, b, c) = await twin_auctions(exchange, bidders=3)
    mine = exchange.app.state.bids
    other = BidBook(exchange.services.db, exchange.clock, nobody_told)  # another worker
    both, tries = side_by_side(exchange, monkeypatch, fast, slow), guarded_tries(monkeypatch)
    pairs = [
        await both(bid(mine, a, START_FEN + STEP, "s1")),  # under lock: nothing remembered
        await both(bid(mine, b, START_FEN + 2 * STEP, "s2")),  # from memory
        await both(bid(other, c, START_FEN + 3 * STEP, "s3")),  # the other moves the row on
        await both(bid(mine, a, START_FEN + 4 * STEP, "s4")),  # the row is not as remembered
        await both(bid(other, b, START_FEN + 4 * STEP, "s5")),  # rejected: only the head moves
        await both(bid(mine, b, START_FEN + 5 * STEP, "s6")),  # the head is not as remembered
        await both(bid(mine, c, START_FEN + 6 * STEP, "s7")),  # from memory again
    ]
    assert answered(pairs) == [(True, None)] * 4 + [(False, "below_minimum")] + [(True, None)] * 2
    assert [o.seq for o, _ in pairs if o.accepted] == [2, 3, 4, 5, 6, 7]
    # s4 and s5 found the row moved on, s6 the head only (the statement refused whole).
    assert tries == ["written", "unchanged", "unchanged", "DivisionByZeroError", "written"]
    on_sql = await recorded(exchange, fast, await numbers_of(exchange, fast, [a, b, c]))
    on_orm = await recorded(exchange, slow, await numbers_of(exchange, slow, [a, b, c]))
    assert on_sql == on_orm  # and both chains verify


async def test_a_bidder_no_longer_qualified_is_refused_though_remembered(
    exchange: Exchange, monkeypatch: pytest.MonkeyPatch
) -> None:
    from listings import Registration

    fast, slow, (a, b, c) = await twin_auctions(exchange, bidders=3)
    book = exchange.app.state.bids
    both, tries = side_by_side(exchange, monkeypatch, fast, slow), guarded_tries(monkeypatch)

    async def change(statement: Any) -> None:
        async with exchange.services.db.write() as session:
            await session.execute(statement)

    pairs = [
        await both(bid(book, a, START_FEN + STEP, "q1")),
        await both(bid(book, b, START_FEN + 2 * STEP, "q2")),
    ]
    # a's registration is disqualified on both lots, between two of a's bids.
    await change(
        update(Registration).where(Registration.bidder_id == a.id).values(state="rejected")
    )
    pairs.append(await both(bid(book, a, START_FEN + 3 * STEP, "q3")))
    pairs.append(await both(bid(book, c, START_FEN + 4 * STEP, "q4")))
    # b's account is deactivated: its open socket bids no more.
    await change(update(User).where(User.id == b.id).values(active=False))
    pairs.append(await both(bid(book, b, START_FEN + 5 * STEP, "q5")))
    refused = pairs[2][0].code
    assert refused is not None
    accepted = (True, None)
    assert answered(pairs) == [accepted, accepted, (False, refused), accepted, (False, refused)]
    assert tries == ["written", "unchanged", "written", "unchanged"]
    on_sql = await recorded(exchange, fast, await numbers_of(exchange, fast, [a, b, c]))
    on_orm = await recorded(exchange, slow, await numbers_of(exchange, slow, [a, b, c]))
    assert on_sql == on_orm


async def test_the_guarded_statement_writes_all_of_the_batch_or_none_of_it(
    exchange: Exchange, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, lot, (a, b) = await twin_auctions(exchange, bidders=2)
    book = exchange.app.state.bids
    first = await book.bid(lot, a, amount_fen=START_FEN + STEP, ref="w1")
    guarded, refused = pg_batch.write_guarded, []

    async def wrong_head(*args: Any, known: pg_batch.Known, **kwargs: Any) -> bool:
        # A head that moved on without its entries (no appender does that): the auction row
        # is as remembered and the entries' seq is free, only the head's guard fails.
        try:
            return await guarded(*args, known=replace(known, head_hash="0" * 64), **kwargs)
        except asyncpg.PostgresError as exc:
            refused.append(exc)
            raise

    monkeypatch.setattr(pg_batch, "write_guarded", wrong_head)
    second = await book.bid(lot, b, amount_fen=START_FEN + 2 * STEP, ref="w2")
    assert len(refused) == 1  # the statement was refused whole; the locked path wrote it
    assert second.accepted and second.seq == (first.seq or 0) + 1
    async with exchange.services.db.read() as session:
        seqs = list(
            await session.scalars(
                select(AuctionEvent.seq)
                .where(AuctionEvent.listing_id == lot)
                .order_by(AuctionEvent.seq)
            )
        )
        auction = await session.get(Auction, lot)
        assert auction is not None and auction.seq == second.seq
        assert seqs == list(range(1, auction.seq + 1))
        assert await verify_subject(session, subject(lot)) is None


@pytest.mark.parametrize("cut", ["after_execution", "before_execution"])
async def test_a_lost_reply_to_the_guarded_statement_is_resolved_once(
    exchange: Exchange, monkeypatch: pytest.MonkeyPatch, cut: str
) -> None:
    _, lot, (a, b) = await twin_auctions(exchange, bidders=2)
    told: list[EventFrame] = []

    async def publish(_: int, frames: Sequence[EventFrame]) -> None:
        told.extend(frames)

    book = BidBook(exchange.services.db, exchange.clock, publish)
    first = await book.bid(lot, a, amount_fen=START_FEN + STEP, ref="c1")  # remembered
    guarded, lost = pg_batch.write_guarded, []

    async def losing(*args: Any, **kwargs: Any) -> bool:
        if lost:
            return await guarded(*args, **kwargs)
        lost.append(cut)
        if cut == "after_execution":
            await guarded(*args, **kwargs)  # committed; its reply never arrives
        raise asyncpg.ConnectionDoesNotExistError("connection was closed in the middle")

    monkeypatch.setattr(pg_batch, "write_guarded", losing)
    second = await book.bid(lot, b, amount_fen=START_FEN + 2 * STEP, ref="c2")
    assert lost == [cut]
    assert second.accepted and second.seq == (first.seq or 0) + 1
    again = await book.bid(lot, b, amount_fen=1, ref="c2")
    assert again.replayed and (again.accepted, again.seq) == (True, second.seq)
    async with exchange.services.db.read() as session:
        events = list(
            await session.scalars(
                select(AuctionEvent.seq).where(
                    AuctionEvent.listing_id == lot, AuctionEvent.seq >= (first.seq or 0)
                )
            )
        )
        rows = list(await session.scalars(select(Bid.ref).where(Bid.listing_id == lot)))
        assert await verify_subject(session, subject(lot)) is None
    assert sorted(rows) == ["c1", "c2"]
    told_seqs = [f.seq for f in told]
    assert sorted(told_seqs) == sorted(events) and len(told_seqs) == len(set(told_seqs))
