"""The engine's state is the snapshot: folding the events with `evolve` gives the state that
`apply`/`advance` made, and a snapshot fed by the room's frames encodes as the one read from
the stored auction row."""

from __future__ import annotations

import msgspec
from hypothesis import given, settings

from auction import engine
from auction.frames import BidFrame, EventFrame, Snapshot
from auction.models import Auction
from auction.rows import state_of, store
from auction.wire import event_frames, event_of, snapshot, snapshot_frame
from tests.unit.test_engine_properties import Run, runs


@settings(max_examples=150, deadline=None)
@given(runs())
def test_folding_the_events_with_evolve_gives_the_engines_state(run: Run) -> None:
    state = engine.initial_state(run.rules)
    for step in run.steps:
        assert state == step.before
        for event in step.decision.events:
            state = engine.evolve(state, event)
        assert state == step.decision.state


@settings(max_examples=150, deadline=None)
@given(runs())
def test_a_snapshot_fed_by_frames_encodes_as_the_stored_rows(run: Run) -> None:
    rules = run.rules
    row = Auction(listing_id=7, rules=rules)
    store(row, rules, engine.initial_state(rules))
    fed = state_of(row)  # what a snapshot feed starts from, brought forward by frames alone
    for step in run.steps:
        frames = event_frames(rules, step.before, step.decision.events)
        for frame in frames:
            wire = msgspec.json.encode(frame)
            fed = engine.evolve(fed, event_of(msgspec.json.decode(wire, type=EventFrame)))
            if isinstance(frame, BidFrame):
                assert frame.minimum_fen == engine.minimum_bid(rules, fed)
        store(row, rules, step.decision.state)
        stored = msgspec.to_builtins(snapshot_frame(row, step.now))
        folded = msgspec.to_builtins(snapshot(7, row.rules, fed, step.now, cls=Snapshot))
        assert {"type": "snapshot", **folded} == stored
        for event in step.decision.events:
            if isinstance(event, engine.Ended):  # what the row's result columns record
                assert stored["result"] == {
                    "result": event.result,
                    "final_fen": event.final_fen,
                    "winner_number": event.winner,
                }
