"""Invariants of the auction engine over random command sequences on an advancing clock."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from auction.draw import draw_priority_order
from auction.engine import (
    BidAccepted,
    Code,
    Command,
    Decision,
    Ended,
    Event,
    MatchPrice,
    Mode,
    Pause,
    PhaseChanged,
    PlaceBid,
    Resume,
    Rules,
    State,
    Status,
    advance,
    apply,
    initial_state,
)

T0 = datetime(2025, 6, 16, 9, 0, tzinfo=timezone(timedelta(hours=8)))
BIDDERS = ("A", "B", "C", "D")


# --- what a client means to do; turned into a command from the last state it saw -------------


@dataclass(frozen=True, slots=True)
class BidIntent:
    bidder: str | None
    steps: int  # above the price the client saw; may be invalid on purpose
    offset_fen: int  # non-zero: off the step grid
    seq_lag: int | None  # None: no based_on_seq; else how many events behind the client is


@dataclass(frozen=True, slots=True)
class MatchIntent:
    bidder: str | None
    seq_lag: int | None


@dataclass(frozen=True, slots=True)
class Tick:
    """Only the timer fires."""


Intent = BidIntent | MatchIntent | Pause | Resume | Tick


def _seen(state: State, lag: int | None) -> int | None:
    return None if lag is None else max(0, state.seq - lag)


def to_command(rules: Rules, seen: State, intent: Intent) -> Command | None:
    match intent:
        case BidIntent(bidder, steps, offset, lag):
            amount = seen.current_fen + steps * rules.increment_fen + offset
            return PlaceBid(bidder, amount, _seen(seen, lag))
        case MatchIntent(bidder, lag):
            return MatchPrice(bidder, _seen(seen, lag))
        case Pause() | Resume():
            return intent
        case Tick():
            return None


@st.composite
def auction_rules(draw: st.DrawFn) -> Rules:
    start = draw(st.integers(0, 10_000_000))
    increment = draw(st.integers(1, 50_000))
    reserve_steps = draw(st.none() | st.integers(-2, 12))
    duration = draw(st.integers(1, 900))
    cap = draw(st.none() | st.integers(0, 600))
    holders = draw(st.permutations(BIDDERS))[: draw(st.integers(0, 3))]
    return Rules(
        start_fen=start,
        increment_fen=increment,
        max_steps=draw(st.integers(1, 10)),
        starts_at=T0,
        reserve_fen=None if reserve_steps is None else max(0, start + reserve_steps * increment),
        self_outbid_allowed=draw(st.booleans()),
        first_bid_may_equal_start=draw(st.booleans()),
        mode=draw(st.sampled_from(Mode)),
        free_seconds=draw(st.integers(0, 120)),
        countdown_seconds=draw(st.integers(1, 300)),
        duration_seconds=duration,
        extension_seconds=draw(st.integers(0, 120)),
        hard_deadline=None if cap is None else T0 + timedelta(seconds=duration + cap),
        priority_order=tuple(holders),
    )


bidders = st.sampled_from((*BIDDERS, None))
lags = st.none() | st.integers(0, 3)
# Mostly bids that may well be accepted; resume more often than pause so paused auctions
# come back. (one_of would pick its distinct branches evenly, hence the weighted kinds.)
KINDS = ("fair_bid",) * 12 + ("any_bid", "match") * 3 + ("pause", "resume", "resume", "tick")


@st.composite
def intents(draw: st.DrawFn) -> Intent:
    match draw(st.sampled_from(KINDS)):
        case "fair_bid":
            return BidIntent(draw(st.sampled_from(BIDDERS)), draw(st.integers(0, 2)), 0, draw(lags))
        case "any_bid":
            offset = draw(st.just(0) | st.integers(-3, 3))
            return BidIntent(draw(bidders), draw(st.integers(-1, 12)), offset, draw(lags))
        case "match":
            return MatchIntent(draw(bidders), draw(lags))
        case "pause":
            return Pause("fault")
        case "resume":
            return Resume("fixed")
        case _:
            return Tick()


@st.composite
def gaps_ms(draw: st.DrawFn) -> int:
    """Mostly quick successive commands, sometimes a long silence that lets phases run out."""
    return draw(st.integers(0, draw(st.sampled_from((3_000,) * 38 + (30_000, 400_000)))))


@dataclass(frozen=True, slots=True)
class Step:
    before: State
    now: datetime
    command: Command | None
    advanced: Decision  # advance(before, now) alone
    decision: Decision  # what the engine answered (== advanced for a timer tick)


@dataclass(frozen=True, slots=True)
class Run:
    rules: Rules
    steps: tuple[Step, ...]

    @property
    def events(self) -> Iterator[Event]:
        return (e for step in self.steps for e in step.decision.events)

    @property
    def accepted(self) -> list[BidAccepted]:
        return [e for e in self.events if isinstance(e, BidAccepted)]


@st.composite
def runs(draw: st.DrawFn) -> Run:
    """Play random commands, then resume if paused and let the clock run out."""
    rules = draw(auction_rules())
    plan = draw(st.lists(st.tuples(gaps_ms(), intents()), min_size=20, max_size=80))
    plan += [(1, Resume("closing")), (30 * 86_400_000, Tick())]
    state = initial_state(rules)
    # Microseconds off the whole seconds of the phase ends, so pauses leave fractions of a ms.
    now = T0 - timedelta(microseconds=draw(st.integers(0, 3_000_000)))
    steps: list[Step] = []
    for gap, intent in plan:
        now += timedelta(milliseconds=gap)
        command = to_command(rules, state, intent)
        advanced = advance(rules, state, now)
        decision = advanced if command is None else apply(rules, state, command, now)
        steps.append(Step(state, now, command, advanced, decision))
        state = decision.state
    return Run(rules, tuple(steps))


# --- invariants, each checked on every generated session ------------------------------------


def accepted_prices_never_decrease_and_rise_except_for_matches(run: Run) -> None:
    price = run.rules.start_fen
    for bid in run.accepted:
        if bid.matched:
            assert bid.amount_fen == price
        else:
            assert bid.amount_fen > price or (bid.round == 1 and bid.amount_fen == price)
        price = bid.amount_fen


def every_raise_is_whole_steps_within_max_steps(run: Run) -> None:
    rules = run.rules
    price = rules.start_fen
    for bid in run.accepted:
        steps, remainder = divmod(bid.amount_fen - price, rules.increment_fen)
        if bid.matched:
            assert bid.bidder in rules.priority_order
            assert steps == remainder == 0
        elif steps == 0:
            assert bid.round == 1 and rules.first_bid_may_equal_start and remainder == 0
        else:
            assert remainder == 0 and 1 <= steps <= rules.max_steps
        price = bid.amount_fen


def round_and_leader_follow_the_accepted_bids(run: Run) -> None:
    count, leader = 0, None
    for step in run.steps:
        for event in step.decision.events:
            if isinstance(event, BidAccepted):
                count += 1
                leader = event.bidder
                assert event.round == count
        assert (step.decision.state.round, step.decision.state.leader) == (count, leader)


def event_seqs_are_contiguous_across_decisions(run: Run) -> None:
    seqs = [e.seq for e in run.events]
    assert seqs == list(range(1, len(seqs) + 1))
    assert run.steps[-1].decision.state.seq == len(seqs)
    for step in run.steps:
        if (accepted := step.decision.accepted) is not None:
            assert step.decision.state.price_seq == accepted.seq


def ends_at_never_moves_backwards_even_across_a_pause(run: Run) -> None:
    # A pause stores the remaining time rounded up and a resume adds it to a later `now`.
    last: datetime | None = None
    for step in run.steps:
        for event in step.decision.events:
            if isinstance(event, BidAccepted | PhaseChanged) and event.ends_at is not None:
                assert last is None or event.ends_at >= last
                last = event.ends_at


def exactly_one_end_and_nothing_after_it(run: Run) -> None:
    events = list(run.events)
    assert [type(e) for e in events].count(Ended) == 1
    assert isinstance(events[-1], Ended)
    final = run.steps[-1].decision.state
    assert final.status is Status.ENDED
    later = final.ends_at + timedelta(days=1) if final.ends_at else T0
    for command in (PlaceBid("A", 10**12), MatchPrice("A"), Pause("x"), Resume("x")):
        decision = apply(run.rules, final, command, later)
        assert decision.events == ()
        assert decision.rejection in {Code.NOT_RUNNING, Code.ALREADY_ENDED}


def result_follows_the_last_accepted_bid_and_the_reserve(run: Run) -> None:
    (end,) = [e for e in run.events if isinstance(e, Ended)]
    bids = run.accepted
    reserve = run.rules.reserve_fen
    assert end.rounds == len(bids)
    if not bids:
        assert (end.result, end.reason, end.winner) == ("unsold", "no_bids", None)
    elif reserve is not None and bids[-1].amount_fen < reserve:
        assert (end.result, end.reason, end.winner) == ("unsold", "below_reserve", None)
    else:
        assert (end.result, end.final_fen, end.winner) == (
            "sold",
            bids[-1].amount_fen,
            bids[-1].bidder,
        )


def rejected_command_leaves_the_advanced_state(run: Run) -> None:
    for step in run.steps:
        if step.decision.rejection is not None:
            assert step.decision.state == step.advanced.state
            assert step.decision.events == step.advanced.events
        elif step.command is not None:
            # An accepted command adds exactly its own event after the advance's.
            assert step.decision.events[:-1] == step.advanced.events


def event_times_are_ordered_and_never_after_now(run: Run) -> None:
    last = T0 - timedelta(days=1)
    for step in run.steps:
        for event in step.decision.events:
            assert last <= event.at <= step.now
            last = event.at


def a_late_timer_gives_the_same_result_as_a_punctual_one(run: Run) -> None:
    previous = T0 - timedelta(days=1)
    for step in run.steps:
        midway = previous + (step.now - previous) / 2
        first = advance(run.rules, step.before, midway)
        second = advance(run.rules, first.state, step.now)
        assert step.advanced == Decision(second.state, first.events + second.events)
        previous = step.now


def bids_restart_or_extend_the_end_as_the_mode_says(run: Run) -> None:
    rules = run.rules
    for step in run.steps:
        if (bid := step.decision.accepted) is None:
            continue
        before = step.advanced.state.ends_at
        assert before is not None
        if rules.mode is Mode.FIXED_END:
            window = timedelta(seconds=rules.extension_seconds)
            cap = rules.hard_deadline or bid.at + window
            assert before <= bid.ends_at <= max(before, bid.at + window)
            assert bid.ends_at - bid.at >= min(window, cap - bid.at)
        elif step.advanced.state.status is Status.COUNTDOWN:
            assert bid.ends_at == bid.at + timedelta(seconds=rules.countdown_seconds)
        else:
            assert bid.ends_at == before


def leaders_keep_their_rights(run: Run) -> None:
    order = run.rules.priority_order
    for step in run.steps:
        if (bid := step.decision.accepted) is None:
            continue
        leader = step.advanced.state.leader
        if bid.matched:
            assert leader is not None and leader != bid.bidder
            assert leader not in order or order.index(bid.bidder) < order.index(leader)
        elif not run.rules.self_outbid_allowed:
            assert bid.bidder != leader


def only_running_auctions_accept_bids(run: Run) -> None:
    for step in run.steps:
        if step.decision.accepted is not None:
            assert step.advanced.state.status in {Status.FREE, Status.COUNTDOWN}
        if step.advanced.state.status is Status.PAUSED:
            assert step.decision.state.status is Status.PAUSED or isinstance(step.command, Resume)


INVARIANTS = (
    accepted_prices_never_decrease_and_rise_except_for_matches,
    every_raise_is_whole_steps_within_max_steps,
    round_and_leader_follow_the_accepted_bids,
    event_seqs_are_contiguous_across_decisions,
    ends_at_never_moves_backwards_even_across_a_pause,
    exactly_one_end_and_nothing_after_it,
    result_follows_the_last_accepted_bid_and_the_reserve,
    rejected_command_leaves_the_advanced_state,
    event_times_are_ordered_and_never_after_now,
    a_late_timer_gives_the_same_result_as_a_punctual_one,
    only_running_auctions_accept_bids,
    bids_restart_or_extend_the_end_as_the_mode_says,
    leaders_keep_their_rights,
)


# One generated session feeds every invariant: generating sessions costs far more than checking.
@settings(max_examples=200, deadline=None)
@given(runs())
def test_invariants_hold_over_random_sessions(run: Run) -> None:
    for invariant in INVARIANTS:
        invariant(run)


@given(st.lists(st.text(min_size=1, max_size=8), unique=True, max_size=8), st.binary(max_size=16))
def test_draw_is_a_reproducible_permutation(holders: list[str], seed: bytes) -> None:
    order = draw_priority_order(holders, seed)
    assert sorted(order) == sorted(holders)
    assert draw_priority_order(list(reversed(holders)), seed) == order
