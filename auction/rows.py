"""The auction row and the pure engine: rules and state to and from `auction.models.Auction`.

The row keeps the rules as JSON (fixed when the auction is opened) and the state in columns;
everything that reads or writes the state goes through here, so the two never disagree.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import msgspec

from auction import engine
from auction.frames import iso
from auction.models import Auction
from core.settings import ExchangeSettings
from listings import Listing
from listings.announced import as_announced
from listings.schemas import Terms


def rules_for(
    listing: Listing, settings: ExchangeSettings, priority_order: tuple[str, ...]
) -> engine.Rules:
    """The auction's rules from the announced terms and the rules the announcement fixed."""
    settings = as_announced(listing, settings)
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
        **variant(terms, listing.auction_starts_at),
    )


def variant(terms: Terms, starts_at: datetime) -> dict[str, Any]:
    """The engine's mode and, for a fixed end, its timing, from the listing's 竞价方式
    (terms checked by listings.rules.check_auction_variant)."""
    if terms.auction_mode == "countdown":
        return {"mode": engine.Mode.COUNTDOWN}
    assert terms.duration_minutes is not None and terms.extension_seconds is not None
    cap = terms.hard_cap_minutes
    return {
        "mode": engine.Mode.FIXED_END,
        "duration_seconds": 60 * terms.duration_minutes,
        "extension_seconds": terms.extension_seconds,
        "hard_deadline": None if cap is None else starts_at + timedelta(minutes=cap),
    }


def rules_json(rules: engine.Rules) -> dict[str, Any]:
    """The rules as the `auction.opened` ledger entry states them: times in the one textual
    form of hashed entries (`frames.iso`, milliseconds, Z)."""
    data: dict[str, Any] = msgspec.to_builtins(rules)
    data["starts_at"], data["hard_deadline"] = iso(rules.starts_at), iso(rules.hard_deadline)
    return data


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


def store(row: Auction, rules: engine.Rules, state: engine.State) -> None:
    """Write `state` into the row's columns, with the deadline the timers look for."""
    row.status, row.seq, row.round = state.status.value, state.seq, state.round
    row.current_fen, row.leader, row.ends_at = state.current_fen, state.leader, state.ends_at
    row.price_seq = state.price_seq
    row.paused_status = state.paused_status.value if state.paused_status else None
    row.paused_remaining_ms = state.paused_remaining_ms
    row.next_deadline = engine.next_deadline(rules, state)
