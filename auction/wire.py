"""The auction on the wire: engine events and state as the frames of docs/api.md §5."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, overload

from auction import engine
from auction.frames import BidFrame, EndedFrame, EventFrame, PhaseFrame, Result, SnapshotFrame, You
from auction.models import Auction


@overload
def iso(at: datetime) -> str: ...
@overload
def iso(at: None) -> None: ...
@overload
def iso(at: datetime | None) -> str | None: ...
def iso(at: datetime | None) -> str | None:
    """Millisecond UTC timestamps: what a browser's Date.parse reads exactly."""
    if at is None:
        return None
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def event_frame(event: engine.Event) -> EventFrame:
    """One room event; bidder numbers only, never identities (the room is public)."""
    if isinstance(event, engine.BidAccepted):
        return BidFrame(
            seq=event.seq,
            round=event.round,
            amount_fen=event.amount_fen,
            bidder_number=event.bidder,
            matched=event.matched,
            at=iso(event.at),
            ends_at=iso(event.ends_at),
        )
    if isinstance(event, engine.PhaseChanged):
        return PhaseFrame(
            seq=event.seq,
            status=event.status,
            ends_at=iso(event.ends_at),
            at=iso(event.at),
            reason=event.reason,
        )
    return EndedFrame(
        seq=event.seq,
        result=event.result,
        final_fen=event.final_fen,
        winner_number=event.winner,
        rounds=event.rounds,
        reason=event.reason,
        at=iso(event.at),
    )


def snapshot_frame(row: Auction, now: datetime, *, you: str | None = None) -> SnapshotFrame:
    rules = row.rules
    return SnapshotFrame(
        listing_id=row.listing_id,
        status=engine.Status(row.status),
        seq=row.seq,
        round=row.round,
        current_fen=row.current_fen,
        leader_number=row.leader,
        ends_at=iso(row.ends_at),
        server_time=iso(now),
        increment_fen=rules["increment_fen"],
        max_steps=rules["max_steps"],
        starts_at=rules["starts_at"],
        minimum_fen=row.current_fen
        if row.round == 0 and rules["first_bid_may_equal_start"]
        else row.current_fen + rules["increment_fen"],
        result=Result(row.result, row.final_fen, row.winner_number)  # type: ignore[arg-type]
        if row.status == engine.Status.ENDED
        else None,
        you=You(you) if you is not None else None,
    )


def fold(snapshot: dict[str, Any], event: dict[str, Any]) -> None:
    """Bring a snapshot (`snapshot_frame` without `you`) forward by its next room event.

    The same fields `snapshot_frame` would read from the auction row after the event.
    """
    snapshot["seq"] = event["seq"]
    if event["type"] == "bid":
        snapshot["round"] = event["round"]
        snapshot["current_fen"] = event["amount_fen"]
        snapshot["leader_number"] = event["bidder_number"]
        snapshot["ends_at"] = event["ends_at"]
        snapshot["minimum_fen"] = event["amount_fen"] + snapshot["increment_fen"]
    elif event["type"] == "phase":
        snapshot["status"] = event["status"]
        snapshot["ends_at"] = event["ends_at"]
    else:
        snapshot["status"] = engine.Status.ENDED.value
        snapshot["ends_at"] = event["at"]
        snapshot["result"] = {
            "result": event["result"],
            "final_fen": event["final_fen"],
            "winner_number": event["winner_number"],
        }
