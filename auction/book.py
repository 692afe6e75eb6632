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
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from auction import engine
from auction.models import Auction, AuctionEvent, Bid, Deal
from auction.wire import event_frame, iso
from core import ledger
from core.accounts import Actor
from core.clock import Clock
from core.db import Database
from core.errors import NotFound
from core.settings import ExchangeSettings
from listings import Listing, Registration, registration, service

Publish = Callable[[int, Sequence[dict[str, Any]]], Awaitable[None]]


def rules_for(
    listing: Listing, settings: ExchangeSettings, priority_order: tuple[str, ...]
) -> engine.Rules:
    """The auction's rules from the announced terms, the exchange settings filling the gaps."""
    terms = listing.terms
    assert listing.auction_starts_at is not None
    free_minutes = terms.get("free_bidding_minutes")
    countdown = terms.get("countdown_seconds")
    return engine.Rules(
        start_fen=terms["listing_price_fen"], increment_fen=terms["increment_fen"],
        max_steps=terms.get("max_steps") or settings.max_steps,
        starts_at=listing.auction_starts_at,
        reserve_fen=terms.get("reserve_fen") if settings.reserve_used else None,
        self_outbid_allowed=settings.self_outbid_allowed,
        first_bid_may_equal_start=settings.first_bid_may_equal_start,
        free_seconds=60 * (settings.free_bidding_minutes if free_minutes is None else free_minutes),
        countdown_seconds=settings.countdown_seconds if countdown is None else countdown,
        priority_order=priority_order,
    )


def rules_json(rules: engine.Rules) -> dict[str, Any]:
    return {
        "start_fen": rules.start_fen, "increment_fen": rules.increment_fen,
        "max_steps": rules.max_steps, "starts_at": iso(rules.starts_at),
        "reserve_fen": rules.reserve_fen, "self_outbid_allowed": rules.self_outbid_allowed,
        "first_bid_may_equal_start": rules.first_bid_may_equal_start, "mode": rules.mode.value,
        "free_seconds": rules.free_seconds, "countdown_seconds": rules.countdown_seconds,
        "duration_seconds": rules.duration_seconds, "extension_seconds": rules.extension_seconds,
        "hard_deadline": iso(rules.hard_deadline), "priority_order": list(rules.priority_order),
    }


def rules_of(row: Auction) -> engine.Rules:
    r = row.rules
    return engine.Rules(
        start_fen=r["start_fen"], increment_fen=r["increment_fen"], max_steps=r["max_steps"],
        starts_at=datetime.fromisoformat(r["starts_at"]), reserve_fen=r["reserve_fen"],
        self_outbid_allowed=r["self_outbid_allowed"],
        first_bid_may_equal_start=r["first_bid_may_equal_start"], mode=engine.Mode(r["mode"]),
        free_seconds=r["free_seconds"], countdown_seconds=r["countdown_seconds"],
        duration_seconds=r["duration_seconds"], extension_seconds=r["extension_seconds"],
        hard_deadline=datetime.fromisoformat(r["hard_deadline"]) if r["hard_deadline"] else None,
        priority_order=tuple(r["priority_order"]),
    )


def state_of(row: Auction) -> engine.State:
    return engine.State(
        status=engine.Status(row.status), seq=row.seq, round=row.round,
        current_fen=row.current_fen, leader=row.leader, ends_at=row.ends_at,
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
    session: AsyncSession, listing: Listing, qualified: Sequence[Registration],
    settings: ExchangeSettings, now: datetime,
) -> Auction:
    """Registration closed with enough bidders: fix the rules, draw priority, schedule the start."""
    holders = sorted(r.bidder_number for r in qualified if r.priority_holder and r.bidder_number)
    seed = secrets.token_bytes(16)
    order = engine.draw_priority_order(holders, seed) if holders else ()
    rules = rules_for(listing, settings, order)
    state = engine.initial_state(rules)
    row = Auction(listing_id=listing.id, rules=rules_json(rules),
                  draw={"seed": seed.hex(), "holders": holders, "order": list(order)})
    _store(row, rules, state)
    session.add(row)
    await session.flush()
    await ledger.append(session, subject=subject(listing.id), type="auction.opened",
                        actor="system", at=now, payload={
                            "rules": rules_json(rules), "bidders": len(qualified),
                            "priority_draw": row.draw})
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


@dataclass
class BidBook:
    db: Database
    clock: Clock
    publish: Publish
    #: Called in the closing transaction of a sold auction (the app drafts the contract there).
    on_deal: list[DealHook] = field(default_factory=list)
    _locks: weakref.WeakValueDictionary[int, asyncio.Lock] = field(
        default_factory=weakref.WeakValueDictionary)

    def _lock(self, listing_id: int) -> asyncio.Lock:
        lock = self._locks.get(listing_id)
        if lock is None:
            lock = self._locks[listing_id] = asyncio.Lock()
        return lock

    async def bid(
        self, listing_id: int, bidder: Actor, *, amount_fen: int | None, ref: str,
        based_on_seq: int | None = None, match: bool = False, channel: str = "http",
        ip: str | None = None, device: str | None = None,
    ) -> Outcome:
        """Place a bid (or a priority match); a retry with the same ref gets the first answer."""
        lock = self._lock(listing_id)
        try:
            async with lock, self.db.write() as session:
                first = await _first_answer(session, listing_id, bidder.id, ref)
                if first is not None:
                    return first
                row = await _locked(session, listing_id)
                number = await registration.qualified_number(session, listing_id, bidder.id)
                command: engine.Command = (
                    engine.MatchPrice(number, based_on_seq) if match
                    else engine.PlaceBid(number, amount_fen or 0, based_on_seq)
                )
                now = self.clock.now()
                decision = engine.apply(rules_of(row), state_of(row), command, now)
                frames = await self._persist(session, row, decision, bidder.name, now)
                accepted = decision.accepted
                session.add(Bid(
                    listing_id=listing_id, bidder_id=bidder.id, bidder_number=number, ref=ref,
                    kind="match" if match else "bid", amount_fen=amount_fen,
                    based_on_seq=based_on_seq, outcome="accepted" if accepted else "rejected",
                    code=decision.rejection.value if decision.rejection else None,
                    seq=accepted.seq if accepted else None,
                    round=accepted.round if accepted else None, at=now, channel=channel,
                    ip=ip, device=(device or "")[:256] or None,
                ))
                if decision.rejection is not None:
                    await ledger.append(
                        session, subject=subject(listing_id), type="bid.rejected",
                        actor=bidder.name, at=now, payload={
                            "bidder_number": number, "amount_fen": amount_fen, "ref": ref,
                            "code": decision.rejection.value, "based_on_seq": based_on_seq,
                            "channel": channel, "ip": ip})
                await session.flush()
        except IntegrityError:
            # The same ref committed by another worker while we waited: answer as it was.
            async with self.db.read() as session:
                first = await _first_answer(session, listing_id, bidder.id, ref)
            if first is None:
                raise
            return first
        await self.publish(listing_id, frames)
        if accepted is not None:
            return Outcome(True, None, accepted.seq, accepted.round, accepted.amount_fen, frames)
        assert decision.rejection is not None
        return Outcome(False, decision.rejection.value, None, None, amount_fen, frames)

    async def control(
        self, listing_id: int, staff: Actor, command: engine.Pause | engine.Resume
    ) -> Outcome:
        """Pause or resume (technical fault), with the reason in the ledger."""
        async with self._lock(listing_id), self.db.write() as session:
            row = await _locked(session, listing_id)
            now = self.clock.now()
            decision = engine.apply(rules_of(row), state_of(row), command, now)
            frames = await self._persist(session, row, decision, staff.name, now)
            code = decision.rejection.value if decision.rejection else None
            await ledger.append(
                session, subject=subject(listing_id),
                type=f"auction.{type(command).__name__.lower()}{'_rejected' if code else ''}",
                actor=staff.name, at=now, payload={"reason": command.reason, "code": code})
        await self.publish(listing_id, frames)
        return Outcome(code is None, code, row.seq, row.round, row.current_fen, frames)

    async def advance(self, listing_id: int) -> Outcome:
        """Apply the transitions that are due (timers); exactly once across workers."""
        async with self._lock(listing_id), self.db.write() as session:
            row = await _locked(session, listing_id)
            now = self.clock.now()
            decision = engine.advance(rules_of(row), state_of(row), now)
            frames = await self._persist(session, row, decision, "system", now)
        await self.publish(listing_id, frames)
        return Outcome(True, None, row.seq, row.round, row.current_fen, frames)

    async def _persist(
        self, session: AsyncSession, row: Auction, decision: engine.Decision, actor: str,
        now: datetime,
    ) -> tuple[dict[str, Any], ...]:
        """Write the decision's events and state; conclude the listing if the auction ended."""
        frames = []
        for event in decision.events:
            frame = event_frame(event)
            frames.append(frame)
            session.add(AuctionEvent(listing_id=row.listing_id, seq=event.seq, type=frame["type"],
                                     payload=frame, at=event.at))
            await ledger.append(session, subject=subject(row.listing_id),
                                type=f"auction.{frame['type']}",
                                actor=actor if isinstance(event, engine.BidAccepted) else "system",
                                at=event.at, payload=frame)
            if isinstance(event, engine.Ended):
                await self._conclude(session, row, event, now)
        _store(row, rules_of(row), decision.state)
        return tuple(frames)

    async def _conclude(
        self, session: AsyncSession, row: Auction, ended: engine.Ended, now: datetime
    ) -> None:
        row.result, row.final_fen, row.winner_number = ended.result, ended.final_fen, ended.winner
        winner: Registration | None = None
        if ended.result == "sold":
            winner = await session.scalar(select(Registration).where(
                Registration.listing_id == row.listing_id,
                Registration.bidder_number == ended.winner))
            assert winner is not None and ended.final_fen is not None
        await service.conclude(
            session, row.listing_id, sold=winner is not None,
            outcome="auction" if winner else f"unsold_{ended.reason}", actor="system", now=now,
            final_fen=ended.final_fen, winner_number=ended.winner, rounds=ended.rounds)
        await registration.settle_after_sale(session, row.listing_id,
                                             winner.id if winner else None, now)
        if winner is not None:
            assert ended.final_fen is not None
            deal = await record_deal(session, row.listing_id, winner, kind="auction",
                                     listing_fen=row.rules["start_fen"],
                                     final_fen=ended.final_fen, rounds=ended.rounds, now=ended.at)
            for hook in self.on_deal:
                await hook(session, deal, now)


async def record_deal(
    session: AsyncSession, listing_id: int, winner: Registration, *, kind: str, listing_fen: int,
    final_fen: int, rounds: int, now: datetime,
) -> Deal:
    assert winner.bidder_number is not None
    deal = Deal(listing_id=listing_id, kind=kind, registration_id=winner.id,
                winner_number=winner.bidder_number, listing_fen=listing_fen, final_fen=final_fen,
                rounds=rounds, decided_at=now)
    session.add(deal)
    await session.flush()
    await ledger.append(session, subject=subject(listing_id), type="deal.recorded", actor="system",
                        at=now, payload={"kind": kind, "winner_number": deal.winner_number,
                                         "registration_id": winner.id, "listing_fen": listing_fen,
                                         "final_fen": final_fen, "rounds": rounds})
    return deal


async def _locked(session: AsyncSession, listing_id: int) -> Auction:
    row = await session.scalar(
        select(Auction).where(Auction.listing_id == listing_id).with_for_update())
    if row is None:
        raise NotFound("auction.not_found", "该项目没有竞价")
    return row


async def _first_answer(
    session: AsyncSession, listing_id: int, bidder_id: int, ref: str
) -> Outcome | None:
    first = await session.scalar(select(Bid).where(
        Bid.listing_id == listing_id, Bid.bidder_id == bidder_id, Bid.ref == ref))
    if first is None:
        return None
    return Outcome(first.outcome == "accepted", first.code, first.seq, first.round,
                   first.amount_fen, replayed=True)


async def due(session: AsyncSession, now: datetime) -> list[int]:
    rows = await session.scalars(
        select(Auction.listing_id).where(Auction.next_deadline <= now))
    return list(rows)


async def events_after(session: AsyncSession, listing_id: int, seq: int) -> list[dict[str, Any]]:
    rows = await session.scalars(
        select(AuctionEvent.payload).where(AuctionEvent.listing_id == listing_id,
                                           AuctionEvent.seq > seq)
        .order_by(AuctionEvent.seq))
    return list(rows)


