"""Writing the book's decisions: two paths to the same rows.

A batch's bid rows, room events and ledger entries are queued as the engine decides each
command (`decide`), then written together. The ORM path (`through_orm`) serves SQLite and
every batch that ends the auction, since concluding the listing is ORM work; on PostgreSQL
the plain-SQL path (`through_sql`, `auction.pg_batch`) takes the rest — in one autocommit
statement when the worker's memory of the auction (`pg_batch.Known`) still holds, else in
four round trips — and hands a closing batch back by answering None before anything is
written.
"""

from __future__ import annotations

from collections.abc import MutableMapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import asyncpg
import msgspec
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from auction import engine, notices, pg_batch
from auction.answers import BidRequest, Outcome, answers, first_answers
from auction.deal import DealHook, conclude
from auction.frames import EventFrame, kind
from auction.models import Auction, AuctionEvent, Bid
from auction.rows import state_of, store
from auction.wire import event_frames
from core import ledger
from core.clock import Clock
from core.db import Database, table_of
from core.errors import NotFound
from listings import registration
from listings.reading import subject

#: The answers to a batch's commands, in order, and the frames the room must be told.
Decided = tuple[list[Outcome], list[EventFrame]]


@dataclass(frozen=True, slots=True)
class Proof:
    """A batch's last ledger entry: found in the chain, it proves the batch committed."""

    subject: str
    seq: int
    hash: str


class CommitUnknown(Exception):
    """The batch was written but its COMMIT (or its one autocommit statement) got no reply
    (the connection dropped): it is in the database entirely or not at all, and `committed`
    tells which (docs/performance.md)."""

    def __init__(self, decided: Decided, proof: Proof) -> None:
        super().__init__(f"commit of {proof.subject} up to entry {proof.seq} unanswered")
        self.decided, self.proof = decided, proof


async def committed(db: Database, listing_id: int, proof: Proof) -> bool:
    """Whether the batch whose COMMIT went unanswered is in the database.

    Taking the auction's row lock first waits out the old transaction, should its server
    process still be finishing; the entry's hash then settles it (a later batch of another
    worker may have moved the head on, so the head alone cannot).
    """
    async with db.write() as session:
        await locked(session, listing_id)
        found = await session.scalar(
            select(ledger.LedgerEntry.hash).where(
                ledger.LedgerEntry.subject == proof.subject,
                ledger.LedgerEntry.subject_seq == proof.seq,
            )
        )
    return found == proof.hash


def _proof(entries: ledger.Entries) -> Proof:
    return Proof(entries.subject, entries.seq, entries.hash)


@dataclass
class Writes:
    """A transaction's bid rows, events and ledger entries, written in one INSERT each.

    Core inserts, not ORM objects: a batch of 64 bids costs three statements and no unit of
    work. Order within each table is the order of the engine's decisions.
    """

    #: None on the plain-SQL path (`auction.pg_batch`), which writes the rows itself.
    session: AsyncSession | None
    chain: ledger.Entries
    bids: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)

    async def flush(self) -> None:
        assert self.session is not None and isinstance(self.chain, ledger.Chain)
        if self.bids:
            rows, self.bids = self.bids, []
            await self.session.execute(insert(table_of(Bid)), rows)
        if self.events:
            rows, self.events = self.events, []
            await self.session.execute(insert(table_of(AuctionEvent)), rows)
        await self.chain.flush()


async def open_writes(session: AsyncSession, listing_id: int) -> Writes:
    return Writes(session, await ledger.Chain.open(session, subject(listing_id)))


async def locked(session: AsyncSession, listing_id: int) -> Auction:
    """The auction row, held until the transaction ends (one writer per auction)."""
    row = await session.scalar(
        select(Auction).where(Auction.listing_id == listing_id).with_for_update()
    )
    if row is None:
        raise NotFound("auction.not_found", "该项目没有竞价")
    return row


async def record(
    writes: Writes,
    row: Auction,
    rules: engine.Rules,
    before: engine.State,
    decision: engine.Decision,
    actor: str,
    now: datetime,
    on_deal: Sequence[DealHook],
) -> list[EventFrame] | None:
    """Queue the events of the decision taken in `before` and conclude the listing if the
    auction ended; the frames for the room. None, with nothing queued, if it ended on the
    plain-SQL path."""
    ended = next((e for e in decision.events if isinstance(e, engine.Ended)), None)
    if ended is not None and writes.session is None:
        return None
    frames = event_frames(rules, before, decision.events)
    for event, frame in zip(decision.events, frames, strict=True):
        payload = msgspec.to_builtins(frame)  # as sent: the replay sends it again
        writes.events.append(
            {
                "listing_id": row.listing_id,
                "seq": event.seq,
                "type": kind(frame),
                "payload": payload,
                "at": event.at,
            }
        )
        writes.chain.append(
            type=f"auction.{kind(frame)}",
            at=event.at,
            payload=payload,
            actor=actor if isinstance(event, engine.BidAccepted) else "system",
        )
    if writes.session is not None and _starts(before, decision):
        # The timers start an auction (never the plain-SQL bid path): its bidders are told.
        await notices.started(writes.session, row.listing_id, now)
    if ended is not None:  # always the decision's last event
        assert writes.session is not None
        await writes.flush()  # the conclusion reads and appends after these
        await conclude(writes.session, row, ended, now, on_deal)
    return frames


def _starts(before: engine.State, decision: engine.Decision) -> bool:
    """Whether the decision moves a scheduled auction into bidding."""
    return before.status is engine.Status.SCHEDULED and any(
        isinstance(e, engine.PhaseChanged) and e.status in _BIDDING for e in decision.events
    )


_BIDDING = frozenset({engine.Status.FREE, engine.Status.COUNTDOWN})


async def decide(
    writes: Writes,
    row: Auction,
    batch: Sequence[BidRequest],
    firsts: dict[tuple[int, str], Outcome],
    numbers: dict[int, str],
    clock: Clock,
    on_deal: Sequence[DealHook],
) -> Decided | None:
    """Let the engine decide each command in order; queue the rows and ledger entries and
    store the new state in `row`. None if the batch ends the auction on the plain-SQL path."""
    rules, state = row.rules, state_of(row)
    outcomes: list[Outcome] = []
    frames: list[EventFrame] = []
    answered: dict[tuple[int, str], Outcome] = {}
    for r in batch:
        earlier = firsts.get(r.key) or answered.get(r.key)
        if earlier is not None:
            outcomes.append(replace(earlier, frames=(), replayed=True))
            continue
        now = clock.now()
        number = numbers.get(r.bidder.id)
        command: engine.Command = (
            engine.MatchPrice(number, r.based_on_seq)
            if r.match
            else engine.PlaceBid(number, r.amount_fen or 0, r.based_on_seq)
        )
        before, decision = state, engine.apply(rules, state, command, now)
        if number is None:
            # Not a bidder of this auction: answered (in the engine's precedence of codes)
            # but nothing is written, so no stranger can fill the bid table and the
            # regulators' log (docs/security.md).
            assert decision.rejection is not None
            outcome = Outcome(False, decision.rejection.value, None, None, r.amount_fen)
            answered[r.key] = outcome
            outcomes.append(outcome)
            continue
        state = decision.state
        accepted = decision.accepted
        code = decision.rejection.value if decision.rejection else None
        # Queued before the events, so a sale they conclude finds this bid written.
        writes.bids.append(
            {
                "listing_id": row.listing_id,
                "bidder_id": r.bidder.id,
                "bidder_number": number,
                "ref": r.ref,
                "kind": "match" if r.match else "bid",
                "amount_fen": r.amount_fen,
                "based_on_seq": r.based_on_seq,
                "outcome": "accepted" if accepted else "rejected",
                "code": code,
                "seq": accepted.seq if accepted else None,
                "round": accepted.round if accepted else None,
                "at": now,
                "channel": r.channel,
                "ip": r.ip,
                "device": r.device,
            }
        )
        new_frames = await record(writes, row, rules, before, decision, r.bidder.name, now, on_deal)
        if new_frames is None:
            return None
        frames.extend(new_frames)
        if code is not None:
            writes.chain.append(
                type="bid.rejected",
                actor=r.bidder.name,
                at=now,
                payload={
                    "bidder_number": number,
                    "amount_fen": r.amount_fen,
                    "ref": r.ref,
                    "code": code,
                    "based_on_seq": r.based_on_seq,
                    "channel": r.channel,
                    "ip": r.ip,
                },
            )
        told = tuple(new_frames)
        outcome = (
            Outcome(True, None, accepted.seq, accepted.round, accepted.amount_fen, told)
            if accepted
            else Outcome(False, code, None, None, r.amount_fen, told)
        )
        answered[r.key] = outcome
        outcomes.append(outcome)
    store(row, rules, state)
    return outcomes, frames


async def through_orm(
    db: Database,
    clock: Clock,
    listing_id: int,
    batch: Sequence[BidRequest],
    on_deal: Sequence[DealHook],
) -> Decided:
    unanswered: CommitUnknown | None = None
    try:
        async with db.write() as session:
            firsts = await first_answers(session, listing_id, [r.key for r in batch])
            row = await locked(session, listing_id)
            numbers = await registration.qualified_numbers(
                session, listing_id, {r.bidder.id for r in batch}
            )
            writes = await open_writes(session, listing_id)
            head_seq = writes.chain.seq
            decided = await decide(writes, row, batch, firsts, numbers, clock, on_deal)
            assert decided is not None  # with a session, an ending batch concludes here
            await writes.flush()
            if writes.chain.seq != head_seq:
                unanswered = CommitUnknown(decided, _proof(writes.chain))
    except IntegrityError:
        raise
    except Exception as exc:
        if unanswered is None:
            raise
        raise unanswered from exc
    return decided


#: How the guarded statement refuses a batch: a retried ref or a ledger entry's seq already
#: taken (unique violations), a head moved on under a row as remembered (division by zero).
_REFUSED = (asyncpg.UniqueViolationError, asyncpg.DivisionByZeroError)

#: Auctions whose memory a worker keeps at most (least recently written forgotten first).
KNOWN_AUCTIONS = 1024


async def through_sql(
    conn: asyncpg.Connection,
    clock: Clock,
    listing_id: int,
    batch: Sequence[BidRequest],
    memory: MutableMapping[int, pg_batch.Known],
) -> Decided | None:
    """The batch in plain SQL (`auction.pg_batch`); None leaves it to the ORM path (no row
    or ledger head yet, or the batch ends the auction), with nothing written.

    `memory` holds what this worker last wrote per auction. With it, the batch is decided
    from memory and written by one guarded statement; if that writes nothing (another
    writer came between, a bidder is no longer qualified, a retried ref) or the batch is
    not for it, the locked path decides. Either way what was written is remembered; an
    auction whose batch failed or went elsewhere is forgotten.
    """
    known = memory.pop(listing_id, None)
    if known is not None and all(r.bidder.id in known.numbers for r in batch):
        done = await _guarded(conn, clock, listing_id, batch, known)
        if done is not None:
            decided, memory[listing_id] = done
            return decided
    done = await _locked(conn, clock, listing_id, batch)
    if done is None:
        return None
    decided, memory[listing_id] = done
    while len(memory) > KNOWN_AUCTIONS:
        del memory[next(iter(memory))]
    return decided


def _rows(writes: Writes, entries: ledger.Entries, row: Auction) -> pg_batch.Rows:
    """What the batch's statement writes: the decided rows, the head, the auction's state."""
    return pg_batch.Rows(
        bids=writes.bids,
        events=writes.events,
        entries=entries.take(),
        head=(entries.seq, entries.hash),
        auction=[getattr(row, name) for name in pg_batch.AUCTION_COLUMNS],
    )


def _known(row: Auction, entries: ledger.Entries, numbers: dict[int, str]) -> pg_batch.Known:
    return pg_batch.Known(
        rules=row.rules,
        state=tuple(getattr(row, name) for name in pg_batch.STATE_COLUMNS),
        head_seq=entries.seq,
        head_hash=entries.hash,
        numbers=numbers,
    )


async def _guarded(
    conn: asyncpg.Connection,
    clock: Clock,
    listing_id: int,
    batch: Sequence[BidRequest],
    known: pg_batch.Known,
) -> tuple[Decided, pg_batch.Known] | None:
    """The batch decided from memory and written in one statement; None if nothing was
    written (the locked path then decides it afresh)."""
    row = Auction(listing_id=listing_id, rules=known.rules)  # never in a session
    for name, value in zip(pg_batch.STATE_COLUMNS, known.state, strict=True):
        setattr(row, name, value)
    entries = ledger.Entries(subject(listing_id), known.head_seq, known.head_hash)
    writes = Writes(None, entries)
    # No recorded answers are read: a retried ref is a unique violation below.
    decided = await decide(writes, row, batch, {}, known.numbers, clock, ())
    if decided is None or entries.seq == known.head_seq:
        return None  # it ends the auction (the ORM path's work), or there is nothing to write
    try:
        written = await pg_batch.write_guarded(
            conn,
            listing_id,
            subject(listing_id),
            _rows(writes, entries, row),
            known=known,
            bidders=sorted({r.bidder.id for r in batch}),
        )
    except _REFUSED:
        return None  # a guard refused the statement whole (see pg_batch.GUARDED)
    except Exception as exc:
        # Perhaps executed, no (or no clear) reply: in entirely or not at all, as a COMMIT.
        # (asyncpg reports a dropped connection as a PostgresError too.)
        raise CommitUnknown(decided, _proof(entries)) from exc
    if not written:
        return None
    return decided, _known(row, entries, known.numbers)


async def _locked(
    conn: asyncpg.Connection,
    clock: Clock,
    listing_id: int,
    batch: Sequence[BidRequest],
) -> tuple[Decided, pg_batch.Known] | None:
    """The batch in four round trips, under the auction's and the head's locks."""
    unanswered: CommitUnknown | None = None  # what to raise should the COMMIT fail
    try:
        async with conn.transaction():
            found = await pg_batch.lock(
                conn,
                listing_id,
                subject(listing_id),
                sorted({r.bidder.id for r in batch}),
                sorted({r.ref for r in batch}),
            )
            if found is None:
                return None
            row = Auction(listing_id=listing_id, **found.auction)  # never in a session
            entries = ledger.Entries(subject(listing_id), found.head_seq, found.head_hash)
            writes = Writes(None, entries)
            firsts = answers(found.firsts, {r.key for r in batch})
            decided = await decide(writes, row, batch, firsts, found.numbers, clock, ())
            if decided is None:
                return None  # only locks were taken; the ORM path decides again and concludes
            await pg_batch.write(conn, listing_id, subject(listing_id), _rows(writes, entries, row))
            if entries.seq != found.head_seq:
                unanswered = CommitUnknown(decided, _proof(entries))
    except asyncpg.UniqueViolationError as exc:  # as the ORM path would raise it
        raise IntegrityError(pg_batch.WRITE, None, exc) from exc
    except Exception as exc:
        if unanswered is None:
            raise  # nothing was written, or only in a transaction that cannot have committed
        raise unanswered from exc
    return decided, _known(row, entries, found.numbers)
