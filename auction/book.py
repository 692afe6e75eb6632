"""The bid book: accept commands atomically, one writer per auction, then publish.

Per command: an in-process lock per auction queues this worker's commands before they touch
the database; the transaction then holds the auction row (SELECT … FOR UPDATE on PostgreSQL;
the single BEGIN IMMEDIATE writer on SQLite), lets the pure engine decide, and writes the
bid, the events with their `seq`, the new state and the ledger entries together. Only after
the commit is the caller answered and the room told (persist → acknowledge → broadcast).
"""

from __future__ import annotations

import asyncio
import secrets
import weakref
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import asyncpg
from sqlalchemy import ScalarResult, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from auction import engine, pg_batch
from auction.models import Auction, AuctionEvent, Bid, Deal
from auction.wire import event_frame, iso
from core import ledger
from core.accounts import Actor
from core.clock import Clock
from core.db import Database, table_of
from core.errors import NotFound
from core.settings import ExchangeSettings
from listings import Listing, Registration, closing, policy, registration, service
from listings.policy import Action

Publish = Callable[[int, Sequence[dict[str, Any]]], Awaitable[None]]


def rules_for(
    listing: Listing, settings: ExchangeSettings, priority_order: tuple[str, ...]
) -> engine.Rules:
    """The auction's rules from the announced terms and the rules the announcement fixed."""
    settings = service.as_announced(listing, settings)
    terms = listing.terms
    assert listing.auction_starts_at is not None
    free_minutes = terms.free_bidding_minutes
    countdown = terms.countdown_seconds
    return engine.Rules(
        start_fen=terms.listing_price_fen,
        increment_fen=terms.increment_fen,
        max_steps=terms.max_steps or settings.max_steps,
        starts_at=listing.auction_starts_at,
        reserve_fen=terms.reserve_fen if settings.reserve_used else None,
        self_outbid_allowed=settings.self_outbid_allowed,
        first_bid_may_equal_start=settings.first_bid_may_equal_start,
        free_seconds=60 * (settings.free_bidding_minutes if free_minutes is None else free_minutes),
        countdown_seconds=settings.countdown_seconds if countdown is None else countdown,
        priority_order=priority_order,
    )


def rules_json(rules: engine.Rules) -> dict[str, Any]:
    return {
        "start_fen": rules.start_fen,
        "increment_fen": rules.increment_fen,
        "max_steps": rules.max_steps,
        "starts_at": iso(rules.starts_at),
        "reserve_fen": rules.reserve_fen,
        "self_outbid_allowed": rules.self_outbid_allowed,
        "first_bid_may_equal_start": rules.first_bid_may_equal_start,
        "mode": rules.mode.value,
        "free_seconds": rules.free_seconds,
        "countdown_seconds": rules.countdown_seconds,
        "duration_seconds": rules.duration_seconds,
        "extension_seconds": rules.extension_seconds,
        "hard_deadline": iso(rules.hard_deadline),
        "priority_order": list(rules.priority_order),
    }


def rules_of(row: Auction) -> engine.Rules:
    r = row.rules
    return engine.Rules(
        start_fen=r["start_fen"],
        increment_fen=r["increment_fen"],
        max_steps=r["max_steps"],
        starts_at=datetime.fromisoformat(r["starts_at"]),
        reserve_fen=r["reserve_fen"],
        self_outbid_allowed=r["self_outbid_allowed"],
        first_bid_may_equal_start=r["first_bid_may_equal_start"],
        mode=engine.Mode(r["mode"]),
        free_seconds=r["free_seconds"],
        countdown_seconds=r["countdown_seconds"],
        duration_seconds=r["duration_seconds"],
        extension_seconds=r["extension_seconds"],
        hard_deadline=datetime.fromisoformat(r["hard_deadline"]) if r["hard_deadline"] else None,
        priority_order=tuple(r["priority_order"]),
    )


def state_of(row: Auction) -> engine.State:
    return engine.State(
        status=engine.Status(row.status),
        seq=row.seq,
        round=row.round,
        current_fen=row.current_fen,
        leader=row.leader,
        ends_at=row.ends_at,
        price_seq=row.price_seq,
        paused_status=engine.Status(row.paused_status) if row.paused_status else None,
        paused_remaining_ms=row.paused_remaining_ms,
    )


def _store(row: Auction, rules: engine.Rules, state: engine.State) -> None:
    row.status, row.seq, row.round = state.status.value, state.seq, state.round
    row.current_fen, row.leader, row.ends_at = state.current_fen, state.leader, state.ends_at
    row.price_seq = state.price_seq
    row.paused_status = state.paused_status.value if state.paused_status else None
    row.paused_remaining_ms = state.paused_remaining_ms
    row.next_deadline = engine.next_deadline(rules, state)


def subject(listing_id: int) -> str:
    return service.subject(listing_id)


async def open_auction(
    session: AsyncSession,
    listing: Listing,
    qualified: Sequence[Registration],
    settings: ExchangeSettings,
    now: datetime,
) -> Auction:
    """Registration closed with enough bidders: fix the rules, draw priority, schedule the start."""
    holders = sorted(r.bidder_number for r in qualified if r.priority_holder and r.bidder_number)
    seed = secrets.token_bytes(16)
    order = engine.draw_priority_order(holders, seed) if holders else ()
    rules = rules_for(listing, settings, order)
    state = engine.initial_state(rules)
    row = Auction(
        listing_id=listing.id,
        rules=rules_json(rules),
        draw={"seed": seed.hex(), "holders": holders, "order": list(order)},
    )
    _store(row, rules, state)
    session.add(row)
    await session.flush()
    await ledger.append(
        session,
        subject=subject(listing.id),
        type="auction.opened",
        actor="system",
        at=now,
        payload={"rules": rules_json(rules), "bidders": len(qualified), "priority_draw": row.draw},
    )
    return row


@dataclass(frozen=True, slots=True)
class Outcome:
    """The answer to one command; `frames` are what the room must be told."""

    accepted: bool
    code: str | None
    seq: int | None
    round: int | None
    amount_fen: int | None
    frames: tuple[dict[str, Any], ...] = ()
    replayed: bool = False

    @property
    def message(self) -> str | None:
        return engine.MESSAGES_ZH[engine.Code(self.code)] if self.code else None


DealHook = Callable[[AsyncSession, Deal, datetime], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class BidRequest:
    bidder: Actor
    amount_fen: int | None
    ref: str
    based_on_seq: int | None
    match: bool
    channel: str
    ip: str | None
    device: str | None

    @property
    def key(self) -> tuple[int, str]:
        return (self.bidder.id, self.ref)


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
                    first = await _first_answers(session, listing_id, [request.key])
                if (answer := first.get(request.key)) is not None:
                    _settle(future, answer)
                    return
            if not future.done():
                future.set_exception(exc)
            return
        for (_, future), outcome in zip(batch, outcomes, strict=True):
            _settle(future, outcome)  # acknowledge …
        await self.publish(listing_id, frames)  # … then tell the room

    async def _apply_batch(
        self, listing_id: int, batch: list[BidRequest]
    ) -> tuple[list[Outcome], list[dict[str, Any]]]:
        if (pool := await self.db.raw()) is not None:
            async with pool.acquire() as conn:
                done = await self._apply_pg(conn, listing_id, batch)
            if done is not None:
                return done
        async with self.db.write() as session:
            firsts = await _first_answers(session, listing_id, [r.key for r in batch])
            row = await _locked(session, listing_id)
            numbers = await registration.qualified_numbers(
                session, listing_id, {r.bidder.id for r in batch}
            )
            writes = _Writes(session, await ledger.Chain.open(session, subject(listing_id)))
            rules = rules_of(row)
            outcomes, frames, state = await self._decide(
                writes, row, rules, state_of(row), batch, firsts, numbers
            )
            await writes.flush()
            _store(row, rules, state)
        return outcomes, frames

    async def _apply_pg(
        self, conn: asyncpg.Connection, listing_id: int, batch: list[BidRequest]
    ) -> tuple[list[Outcome], list[dict[str, Any]]] | None:
        """The batch in plain SQL (`auction.pg_batch`); None leaves it to the ORM path."""
        try:
            async with conn.transaction():
                locked = await pg_batch.lock(
                    conn,
                    listing_id,
                    subject(listing_id),
                    sorted({r.bidder.id for r in batch}),
                    sorted({r.ref for r in batch}),
                )
                if locked is None:
                    return None
                row = Auction(listing_id=listing_id, **locked.auction)  # never in a session
                rules = rules_of(row)
                entries = ledger.Entries(subject(listing_id), locked.head_seq, locked.head_hash)
                writes = _Writes(None, entries)
                outcomes, frames, state = await self._decide(
                    writes,
                    row,
                    rules,
                    state_of(row),
                    batch,
                    _answers(locked.firsts, {r.key for r in batch}),
                    locked.numbers,
                )
                _store(row, rules, state)
                await pg_batch.write(
                    conn,
                    listing_id,
                    subject(listing_id),
                    bids=writes.bids,
                    events=writes.events,
                    entries=entries.take(),
                    head=(entries.seq, entries.hash),
                    auction=[getattr(row, name) for name in pg_batch.AUCTION_COLUMNS],
                )
        except _Concludes:
            return None  # rolled back; the ORM path decides again and concludes
        except asyncpg.UniqueViolationError as exc:  # as the ORM path would raise it
            raise IntegrityError(pg_batch.WRITE, None, exc) from exc
        return outcomes, frames

    async def _decide(
        self,
        writes: _Writes,
        row: Auction,
        rules: engine.Rules,
        state: engine.State,
        batch: list[BidRequest],
        firsts: dict[tuple[int, str], Outcome],
        numbers: dict[int, str],
    ) -> tuple[list[Outcome], list[dict[str, Any]], engine.State]:
        """Let the engine decide each command in order; queue the rows and ledger entries."""
        outcomes: list[Outcome] = []
        frames: list[dict[str, Any]] = []
        answered: dict[tuple[int, str], Outcome] = {}
        for r in batch:
            earlier = firsts.get(r.key) or answered.get(r.key)
            if earlier is not None:
                outcomes.append(replace(earlier, frames=(), replayed=True))
                continue
            now = self.clock.now()
            number = numbers.get(r.bidder.id)
            command: engine.Command = (
                engine.MatchPrice(number, r.based_on_seq)
                if r.match
                else engine.PlaceBid(number, r.amount_fen or 0, r.based_on_seq)
            )
            decision = engine.apply(rules, state, command, now)
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
            new_frames = await self._persist(writes, row, decision, r.bidder.name, now)
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
            outcome = (
                Outcome(
                    True, None, accepted.seq, accepted.round, accepted.amount_fen, tuple(new_frames)
                )
                if accepted
                else Outcome(False, code, None, None, r.amount_fen, tuple(new_frames))
            )
            answered[r.key] = outcome
            outcomes.append(outcome)
        return outcomes, frames, state

    async def control(
        self, listing_id: int, staff: Actor, command: engine.Pause | engine.Resume
    ) -> Outcome:
        """Pause or resume (technical fault) within the reviewer's jurisdiction, ledgered."""
        async with self._lock(listing_id):
            async with self.db.write() as session:
                visible = await service.load(session, staff, listing_id)
                policy.require_to(staff, Action.DECIDE, visible.village)
                row = await _locked(session, listing_id)
                writes = _Writes(session, await ledger.Chain.open(session, subject(listing_id)))
                now = self.clock.now()
                decision = engine.apply(rules_of(row), state_of(row), command, now)
                frames = await self._persist(writes, row, decision, staff.name, now)
                _store(row, rules_of(row), decision.state)
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
            async with self.db.write() as session:
                row = await _locked(session, listing_id)
                now = self.clock.now()
                decision = engine.advance(rules_of(row), state_of(row), now)
                frames: list[dict[str, Any]] = []
                if decision.events:
                    writes = _Writes(session, await ledger.Chain.open(session, subject(listing_id)))
                    frames = await self._persist(writes, row, decision, "system", now)
                    await writes.flush()
                    _store(row, rules_of(row), decision.state)
            await self.publish(listing_id, frames)  # under the lock: in order with the bids
        return Outcome(True, None, row.seq, row.round, row.current_fen, tuple(frames))

    async def _persist(
        self,
        writes: _Writes,
        row: Auction,
        decision: engine.Decision,
        actor: str,
        now: datetime,
    ) -> list[dict[str, Any]]:
        """Queue the decision's events; conclude the listing if the auction ended."""
        frames = []
        for event in decision.events:
            frame = event_frame(event)
            frames.append(frame)
            writes.events.append(
                {
                    "listing_id": row.listing_id,
                    "seq": event.seq,
                    "type": frame["type"],
                    "payload": frame,
                    "at": event.at,
                }
            )
            writes.chain.append(
                type=f"auction.{frame['type']}",
                at=event.at,
                payload=frame,
                actor=actor if isinstance(event, engine.BidAccepted) else "system",
            )
            if isinstance(event, engine.Ended):
                if writes.session is None:
                    raise _Concludes
                await writes.flush()  # the conclusion reads and appends after these
                await self._conclude(writes.session, row, event, now)
        return frames

    async def _conclude(
        self, session: AsyncSession, row: Auction, ended: engine.Ended, now: datetime
    ) -> None:
        row.result, row.final_fen, row.winner_number = ended.result, ended.final_fen, ended.winner
        winner: Registration | None = None
        if ended.result == "sold":
            winner = await session.scalar(
                select(Registration).where(
                    Registration.listing_id == row.listing_id,
                    Registration.bidder_number == ended.winner,
                )
            )
            assert winner is not None and ended.final_fen is not None
        await service.conclude(
            session,
            row.listing_id,
            sold=winner is not None,
            outcome="auction" if winner else f"unsold_{ended.reason}",
            actor="system",
            now=now,
            final_fen=ended.final_fen,
            winner_number=ended.winner,
            rounds=ended.rounds,
        )
        await closing.settle_after_sale(session, row.listing_id, winner.id if winner else None, now)
        if winner is not None:
            assert ended.final_fen is not None
            deal = await record_deal(
                session,
                row.listing_id,
                winner,
                kind="auction",
                listing_fen=row.rules["start_fen"],
                final_fen=ended.final_fen,
                rounds=ended.rounds,
                now=ended.at,
            )
            for hook in self.on_deal:
                await hook(session, deal, now)


@dataclass
class _Writes:
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


class _Concludes(Exception):
    """The batch ends the auction: only the ORM path can conclude the listing."""


def _settle(future: asyncio.Future[Outcome], outcome: Outcome) -> None:
    if not future.done():  # else the caller went away; the outcome is in the database anyway
        future.set_result(outcome)


async def record_deal(
    session: AsyncSession,
    listing_id: int,
    winner: Registration,
    *,
    kind: str,
    listing_fen: int,
    final_fen: int,
    rounds: int,
    now: datetime,
) -> Deal:
    assert winner.bidder_number is not None
    deal = Deal(
        listing_id=listing_id,
        kind=kind,
        registration_id=winner.id,
        winner_number=winner.bidder_number,
        listing_fen=listing_fen,
        final_fen=final_fen,
        rounds=rounds,
        decided_at=now,
    )
    session.add(deal)
    await session.flush()
    await ledger.append(
        session,
        subject=subject(listing_id),
        type="deal.recorded",
        actor="system",
        at=now,
        payload={
            "kind": kind,
            "winner_number": deal.winner_number,
            "registration_id": winner.id,
            "listing_fen": listing_fen,
            "final_fen": final_fen,
            "rounds": rounds,
        },
    )
    return deal


async def _locked(session: AsyncSession, listing_id: int) -> Auction:
    row = await session.scalar(
        select(Auction).where(Auction.listing_id == listing_id).with_for_update()
    )
    if row is None:
        raise NotFound("auction.not_found", "该项目没有竞价")
    return row


async def _first_answers(
    session: AsyncSession, listing_id: int, keys: list[tuple[int, str]]
) -> dict[tuple[int, str], Outcome]:
    """First answers already recorded for (bidder, ref) pairs: a retry is answered the same."""
    bidders = {bidder for bidder, _ in keys}
    refs = {ref for _, ref in keys}
    rows = await session.execute(
        select(
            Bid.bidder_id, Bid.ref, Bid.outcome, Bid.code, Bid.seq, Bid.round, Bid.amount_fen
        ).where(Bid.listing_id == listing_id, Bid.bidder_id.in_(bidders), Bid.ref.in_(refs))
    )
    return _answers(rows, set(keys))


def _answers(
    rows: Iterable[Sequence[Any]], wanted: set[tuple[int, str]]
) -> dict[tuple[int, str], Outcome]:
    """Recorded (bidder_id, ref, outcome, code, seq, round, amount_fen) rows as first answers;
    the query matches bidders and refs separately, so only the wanted pairs are kept."""
    return {
        (bidder_id, ref): Outcome(
            outcome == "accepted", code, seq, round_, amount_fen, replayed=True
        )
        for bidder_id, ref, outcome, code, seq, round_, amount_fen in rows
        if (bidder_id, ref) in wanted
    }


async def due(session: AsyncSession, now: datetime) -> list[int]:
    rows = await session.scalars(select(Auction.listing_id).where(Auction.next_deadline <= now))
    return list(rows)


async def events_after(session: AsyncSession, listing_id: int, seq: int) -> list[dict[str, Any]]:
    rows: ScalarResult[dict[str, Any]] = await session.scalars(
        select(AuctionEvent.payload)
        .where(AuctionEvent.listing_id == listing_id, AuctionEvent.seq > seq)
        .order_by(AuctionEvent.seq)
    )
    return list(rows)
