"""The auction on the wire: the engine's events and state encoded as the frames of
docs/api.md §5, and room events decoded back into engine events for the snapshot feeds.

Nothing here decides or folds: a snapshot is the engine's state (`engine.evolve` brings it
forward), the minimum bid is `engine.minimum_bid`, the result is `engine.verdict`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import fields
from datetime import datetime
from typing import TypeVar

from auction import engine
from auction.frames import (
    BidFrame,
    EndedFrame,
    EventFrame,
    FixedEnd,
    PhaseFrame,
    Result,
    Snapshot,
    SnapshotFrame,
    You,
    iso,
)
from auction.models import Auction
from auction.rows import state_of

S = TypeVar("S", bound=Snapshot)


def event_frames(
    rules: engine.Rules, state: engine.State, events: Iterable[engine.Event]
) -> list[EventFrame]:
    """The room frames of `events`, which followed `state`; bidder numbers only, never
    identities (the room is public). A bid frame carries the minimum bid after it."""
    frames: list[EventFrame] = []
    for event in events:
        state = engine.evolve(state, event)
        frames.append(_frame(event, engine.minimum_bid(rules, state)))
    return frames


#: The frame of each engine event; their fields share names, and timestamps are `_TIMES`.
_FRAMES: dict[type[engine.Event], type[EventFrame]] = {
    engine.BidAccepted: BidFrame,
    engine.PhaseChanged: PhaseFrame,
    engine.Ended: EndedFrame,
}
_EVENTS = {frame: event for event, frame in _FRAMES.items()}
_TIMES = frozenset({"at", "ends_at"})


def _frame(event: engine.Event, minimum_fen: int) -> EventFrame:
    values = {f.name: getattr(event, f.name) for f in fields(event)}
    values.update((name, iso(values[name])) for name in _TIMES & values.keys())
    if isinstance(event, engine.BidAccepted):
        values["minimum_fen"] = minimum_fen
    return _FRAMES[type(event)](**values)


def event_of(frame: EventFrame) -> engine.Event:
    """The engine event a room frame was made from (to the millisecond of its timestamps)."""
    event = _EVENTS[type(frame)]
    values = {f.name: getattr(frame, f.name) for f in fields(event)}
    for name in _TIMES & values.keys():
        if values[name] is not None:
            values[name] = datetime.fromisoformat(values[name])
    return event(**values)


def snapshot(
    listing_id: int,
    rules: engine.Rules,
    state: engine.State,
    now: datetime,
    *,
    you: str | None = None,
    cls: type[S],
) -> S:
    """The auction in `state` as a snapshot (`Snapshot` over HTTP, `SnapshotFrame` in rooms)."""
    result = None
    if state.status is engine.Status.ENDED:
        verdict, _ = engine.verdict(rules, state)
        sold = verdict == "sold"
        final_fen, winner = (state.current_fen, state.leader) if sold else (None, None)
        result = Result(verdict, final_fen, winner)
    return cls(
        listing_id=listing_id,
        status=state.status,
        seq=state.seq,
        round=state.round,
        current_fen=state.current_fen,
        leader_number=state.leader,
        ends_at=iso(state.ends_at),
        server_time=iso(now),
        increment_fen=rules.increment_fen,
        max_steps=rules.max_steps,
        starts_at=iso(rules.starts_at),
        minimum_fen=engine.minimum_bid(rules, state),
        mode=rules.mode,
        fixed_end=_fixed_end(rules),
        result=result,
        you=You(you) if you is not None else None,
    )


def _fixed_end(rules: engine.Rules) -> FixedEnd | None:
    if rules.mode is not engine.Mode.FIXED_END:
        return None
    return FixedEnd(iso(rules.fixed_end), rules.extension_seconds, iso(rules.hard_deadline))


def stored_snapshot(row: Auction, now: datetime, *, you: str | None = None, cls: type[S]) -> S:
    """The snapshot of a stored auction."""
    return snapshot(row.listing_id, row.rules, state_of(row), now, you=you, cls=cls)


def snapshot_frame(row: Auction, now: datetime, *, you: str | None = None) -> SnapshotFrame:
    """The snapshot frame of a stored auction (the room's after the replay, the live page's)."""
    return stored_snapshot(row, now, you=you, cls=SnapshotFrame)
