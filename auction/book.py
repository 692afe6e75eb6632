"""The bid book: accept commands atomically, one writer per auction, then publish.

Per command: an in-process lock per auction queues this worker's commands before they touch
the database; the transaction then holds the auction row (SELECT … FOR UPDATE on PostgreSQL;
the single BEGIN IMMEDIATE writer on SQLite), lets the pure engine decide, and writes the
bid, the events with their `seq`, the new state and the ledger entries together
(`auction.persist`). On PostgreSQL the book remembers what it last wrote per auction, so
that while no other writer comes between, a batch is decided from memory and written by one
guarded autocommit statement instead (`auction.pg_batch`). Only after the commit is the
caller answered and the room told (persist → acknowledge → broadcast).
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy.exc import IntegrityError

from auction import engine, persist, pg_batch
from auction.answers import BidRequest, Outcome, first_answers
from auction.deal import DealHook
from auction.frames import EventFrame
from auction.rows import state_of, store
from core.accounts import Actor
from core.clock import Clock
from core.db import Database
from listings import policy, reading
from listings.policy import Action

Publish = Callable[[int, Sequence[EventFrame]], Awaitable[None]]


@dataclass
class _Lane:
    """Commands waiting for one auction, drained by one task at a time (group commit)."""

    waiting: list[tuple[BidRequest, asyncio.Future[Outcome]]] = field(default_factory=list)
    draining: bool = False


@dataclass
class BidBook:
    db: Database
    clock: Clock
    publish: Publish
    #: Called in the closing transaction of a sold auction (the app drafts the contract there).
    on_deal: list[DealHook] = field(default_factory=list)
    #: Most commands one transaction takes; under load a batch amortises the row lock, the
    #: idempotency lookup, the registration lookup and the ledger head over many bids.
    max_batch: int = 64
    _locks: weakref.WeakValueDictionary[int, asyncio.Lock] = field(
        default_factory=weakref.WeakValueDictionary
    )
    _lanes: dict[int, _Lane] = field(default_factory=dict)
    #: What this worker last wrote per auction (PostgreSQL), for the one-statement path.
    _known: dict[int, pg_batch.Known] = field(default_factory=dict)
    _drainers: set[asyncio.Task[None]] = field(default_factory=set)

    def _lock(self, listing_id: int) -> asyncio.Lock:
        lock = self._locks.get(listing_id)
        if lock is None:
            lock = self._locks[listing_id] = asyncio.Lock()
        return lock

    async def bid(
        self,
        listing_id: int,
        bidder: Actor,
        *,
        amount_fen: int | None,
        ref: str,
        based_on_seq: int | None = None,
        match: bool = False,
        channel: str = "http",
        ip: str | None = None,
        device: str | None = None,
    ) -> Outcome:
        """Place a bid (or a priority match); a retry with the same ref gets the first answer.

        The command joins its auction's lane; whoever finds the lane idle drains it, so
        commands that arrive together commit together, in arrival order.
        """
        request = BidRequest(
            bidder, amount_fen, ref, based_on_seq, match, channel, ip, (device or "")[:256] or None
        )
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        lane = self._lanes.setdefault(listing_id, _Lane())
        lane.waiting.append((request, future))
        if not lane.draining:
            lane.draining = True
            task = asyncio.create_task(self._drain(listing_id, lane))
            self._drainers.add(task)
            task.add_done_callback(self._drainers.discard)
        return await future

    async def _drain(self, listing_id: int, lane: _Lane) -> None:
        try:
            while lane.waiting:
                batch = lane.waiting[: self.max_batch]
                del lane.waiting[: self.max_batch]
                async with self._lock(listing_id):
                    try:
                        await self._run_batch(listing_id, batch)
                    except Exception as exc:  # e.g. publishing failed: nobody may hang
                        for _, future in batch:
                            if not future.done():
                                future.set_exception(exc)
        finally:
            lane.draining = False
            if not lane.waiting and self._lanes.get(listing_id) is lane:
                del self._lanes[listing_id]

    async def _run_batch(
        self, listing_id: int, batch: list[tuple[BidRequest, asyncio.Future[Outcome]]]
    ) -> None:
        try:
            outcomes, frames = await self._apply_batch(listing_id, [r for r, _ in batch])
        except Exception as exc:
            if len(batch) > 1:
                # Nothing was written. One command spoiled the batch (a ref another worker
                # committed meanwhile, or bad data): isolate it so the others still go in.
                for item in batch:
                    await self._run_batch(listing_id, [item])
                return
            request, future = batch[0]
            if isinstance(exc, IntegrityError):  # the same ref, committed elsewhere first
                async with self.db.read() as session:
                    first = await first_answers(session, listing_id, [request.key])
                if (answer := first.get(request.key)) is not None:
                    _settle(future, answer)
                    return
            if not future.done():
                future.set_exception(exc)
            return
        for (_, future), outcome in zip(batch, outcomes, strict=True):
            _settle(future, outcome)  # acknowledge …
        await self.publish(listing_id, frames)  # … then tell the room

    async def _apply_batch(self, listing_id: int, batch: list[BidRequest]) -> persist.Decided:
        try:
            return await self._write_batch(listing_id, batch)
        except persist.CommitUnknown as lost:
            # The COMMIT's reply was lost: the batch is in the database whole or not at all.
            # Committed, its answers and frames stand (published once, below); if not,
            # nothing was written and the batch is decided again.
            if await persist.committed(self.db, listing_id, lost.proof):
                return lost.decided
            return await self._write_batch(listing_id, batch)

    async def _write_batch(self, listing_id: int, batch: list[BidRequest]) -> persist.Decided:
        if (pool := await self.db.raw()) is not None:
            async with pool.acquire() as conn:
                decided = await persist.through_sql(
                    conn, self.clock, listing_id, batch, self._known
                )
            if decided is not None:
                return decided
        return await persist.through_orm(self.db, self.clock, listing_id, batch, self.on_deal)

    async def control(
        self, listing_id: int, staff: Actor, command: engine.Pause | engine.Resume
    ) -> Outcome:
        """Pause or resume (technical fault) within the reviewer's jurisdiction, ledgered."""
        async with self._lock(listing_id):
            self._known.pop(listing_id, None)  # written below, not by the bid path
            async with self.db.write() as session:
                visible = await reading.load(session, staff, listing_id)
                policy.require_to(staff, Action.DECIDE, visible.village)
                row = await persist.locked(session, listing_id)
                writes = await persist.open_writes(session, listing_id)
                now = self.clock.now()
                rules, before = row.rules, state_of(row)
                decision = engine.apply(rules, before, command, now)
                frames = await persist.record(
                    writes, row, rules, before, decision, staff.name, now, self.on_deal
                )
                assert frames is not None  # with a session, an ending decision concludes
                store(row, rules, decision.state)
                code = decision.rejection.value if decision.rejection else None
                writes.chain.append(
                    type=f"auction.{type(command).__name__.lower()}{'_rejected' if code else ''}",
                    actor=staff.name,
                    at=now,
                    payload={"reason": command.reason, "code": code},
                )
                await writes.flush()
            await self.publish(listing_id, frames)  # under the lock: in order with the bids
        return Outcome(code is None, code, row.seq, row.round, row.current_fen, tuple(frames))

    async def advance(self, listing_id: int) -> Outcome:
        """Apply the transitions that are due (timers); exactly once across workers."""
        async with self._lock(listing_id):
            self._known.pop(listing_id, None)  # written below, not by the bid path
            async with self.db.write() as session:
                row = await persist.locked(session, listing_id)
                now = self.clock.now()
                rules, before = row.rules, state_of(row)
                decision = engine.advance(rules, before, now)
                frames: list[EventFrame] | None = []
                if decision.events:
                    writes = await persist.open_writes(session, listing_id)
                    frames = await persist.record(
                        writes, row, rules, before, decision, "system", now, self.on_deal
                    )
                    await writes.flush()
                    store(row, rules, decision.state)
            assert frames is not None  # with a session, an ending decision concludes
            await self.publish(listing_id, frames)  # under the lock: in order with the bids
        return Outcome(True, None, row.seq, row.round, row.current_fen, tuple(frames))


def _settle(future: asyncio.Future[Outcome], outcome: Outcome) -> None:
    if not future.done():  # else the caller went away; the outcome is in the database anyway
        future.set_result(outcome)
