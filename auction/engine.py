"""Pure rules of the live ascending auction: rules, state, command and `now` in; decision out."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Literal, assert_never

# The rejection codes are the engine's vocabulary (defined beside their messages).
from auction.codes import Code as Code

_MS = timedelta(milliseconds=1)


class Status(StrEnum):
    SCHEDULED = "scheduled"
    FREE = "free"
    COUNTDOWN = "countdown"
    PAUSED = "paused"
    ENDED = "ended"


class Mode(StrEnum):
    COUNTDOWN = "countdown"  # free bidding, then a countdown restarted by each bid
    FIXED_END = "fixed_end"  # judicial style: fixed end, anti-sniping extension, optional cap


_RUNNING = frozenset({Status.FREE, Status.COUNTDOWN})
# Statuses whose `ends_at` is a deadline that advance() acts on.
_TIMED = frozenset({Status.SCHEDULED, Status.FREE, Status.COUNTDOWN})


def _require_aware(name: str, value: datetime) -> None:
    # Naive datetimes would silently compare in the host's local time.
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")


@dataclass(frozen=True, slots=True)
class Rules:
    """The settings of one auction, fixed once the listing is announced."""

    start_fen: int
    increment_fen: int
    max_steps: int
    starts_at: datetime
    reserve_fen: int | None = None  # hidden: never shown to bidders, only decides the result
    self_outbid_allowed: bool = False
    first_bid_may_equal_start: bool = True
    mode: Mode = Mode.COUNTDOWN
    free_seconds: int = 3600
    countdown_seconds: int = 300
    # FIXED_END: ends at starts_at + duration_seconds; a bid within the last extension_seconds
    # moves the end to bid time + extension_seconds, never past hard_deadline.
    duration_seconds: int = 0
    extension_seconds: int = 300
    hard_deadline: datetime | None = None
    # Bidder numbers holding a priority right, highest priority first (result of the draw).
    priority_order: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _require_aware("starts_at", self.starts_at)
        if self.start_fen < 0 or self.increment_fen <= 0 or self.max_steps < 1:
            raise ValueError("need start_fen >= 0, increment_fen > 0 and max_steps >= 1")
        if self.reserve_fen is not None and self.reserve_fen < 0:
            raise ValueError("reserve_fen must not be negative")
        if self.free_seconds < 0 or self.countdown_seconds <= 0 or self.extension_seconds < 0:
            raise ValueError("need free_seconds, extension_seconds >= 0 and countdown_seconds > 0")
        if self.mode is Mode.FIXED_END and self.duration_seconds <= 0:
            raise ValueError("a fixed-end auction needs duration_seconds > 0")
        if self.hard_deadline is not None:
            _require_aware("hard_deadline", self.hard_deadline)
            if self.hard_deadline < self.fixed_end:
                raise ValueError("hard_deadline must not precede the scheduled end")
        if len(set(self.priority_order)) != len(self.priority_order):
            raise ValueError("priority_order lists a holder twice")

    @property
    def fixed_end(self) -> datetime:
        """The scheduled end of a FIXED_END auction, before any extension."""
        return self.starts_at + timedelta(seconds=self.duration_seconds)


@dataclass(frozen=True, slots=True)
class State:
    status: Status
    seq: int  # events emitted so far; the next event gets seq + 1
    round: int  # accepted bids, matches included
    current_fen: int  # the start price before any bid
    leader: str | None
    ends_at: datetime | None  # end of the current phase; None while paused
    price_seq: int  # seq of the last accepted bid, 0 if none
    paused_status: Status | None = None
    paused_remaining_ms: int | None = None


def initial_state(rules: Rules) -> State:
    return State(
        status=Status.SCHEDULED,
        seq=0,
        round=0,
        current_fen=rules.start_fen,
        leader=None,
        ends_at=rules.starts_at,
        price_seq=0,
    )


# --- commands -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PlaceBid:
    bidder: str | None  # None: the caller is not qualified for this auction
    amount_fen: int
    based_on_seq: int | None = None  # last seq the client had seen; lets us answer `stale`


@dataclass(frozen=True, slots=True)
class MatchPrice:
    """A priority-right holder takes the lead at the current price instead of beating it."""

    bidder: str | None
    # As for bids: a holder must not be bound to a price that moved after they decided.
    based_on_seq: int | None = None


@dataclass(frozen=True, slots=True)
class Pause:
    reason: str


@dataclass(frozen=True, slots=True)
class Resume:
    reason: str


Command = PlaceBid | MatchPrice | Pause | Resume


# --- events, and the queries on rules and state ---------------------------------------------


@dataclass(frozen=True, slots=True)
class BidAccepted:
    seq: int
    round: int
    amount_fen: int
    bidder: str
    at: datetime
    ends_at: datetime
    matched: bool  # True: a priority-right match at the unchanged price


@dataclass(frozen=True, slots=True)
class PhaseChanged:
    seq: int
    status: Status
    ends_at: datetime | None
    at: datetime
    reason: str | None  # staff's reason for pause/resume; None for timed transitions


@dataclass(frozen=True, slots=True)
class Ended:
    seq: int
    result: Literal["sold", "unsold"]
    final_fen: int | None  # None when unsold: there is no deal price
    winner: str | None
    rounds: int
    at: datetime
    reason: Literal["sold", "no_bids", "below_reserve"]


Event = BidAccepted | PhaseChanged | Ended


@dataclass(frozen=True, slots=True)
class Decision:
    state: State
    events: tuple[Event, ...]
    rejection: Code | None = None

    @property
    def accepted(self) -> BidAccepted | None:
        """The accepted bid or match among the events, if the command was one."""
        return next((e for e in self.events if isinstance(e, BidAccepted)), None)


def next_deadline(rules: Rules, state: State) -> datetime | None:
    """When advance() will next have something to do; None while paused or after the end."""
    return state.ends_at if state.status in _TIMED else None


def verdict(
    rules: Rules, state: State
) -> tuple[Literal["sold", "unsold"], Literal["sold", "no_bids", "below_reserve"]]:
    """How the auction ends (or ended) in `state`: sold to the leader, or unsold and why."""
    if state.leader is None:
        return "unsold", "no_bids"
    if rules.reserve_fen is not None and state.current_fen < rules.reserve_fen:
        return "unsold", "below_reserve"
    return "sold", "sold"


def minimum_bid(rules: Rules, state: State) -> int:
    """The lowest amount a bid may have now (a match is not a bid)."""
    if state.round == 0 and rules.first_bid_may_equal_start:
        return state.current_fen
    return state.current_fen + rules.increment_fen


def evolve(state: State, event: Event) -> State:
    """The state after `event`, the one fold of events into state: the engine makes its states
    with it, so whoever holds the events (a snapshot fed by the room) holds the state."""
    match event:
        case BidAccepted():
            return replace(
                state,
                seq=event.seq,
                round=event.round,
                current_fen=event.amount_fen,
                leader=event.bidder,
                ends_at=event.ends_at,
                price_seq=event.seq,
            )
        case PhaseChanged():
            paused = event.status is Status.PAUSED
            # A pause keeps the time left, rounded up: it never costs bidders a fraction of a ms.
            left_ms = -((event.at - state.ends_at) // _MS) if paused and state.ends_at else None
            return replace(
                state,
                seq=event.seq,
                status=event.status,
                ends_at=event.ends_at,
                paused_status=state.status if paused else None,
                paused_remaining_ms=left_ms,
            )
        case Ended():
            return replace(state, seq=event.seq, status=Status.ENDED, ends_at=event.at)
        case _:
            assert_never(event)


# --- time -----------------------------------------------------------------------------------


def advance(rules: Rules, state: State, now: datetime) -> Decision:
    """Apply every transition due at `now`, in order, each stamped with the time it was due."""
    _require_aware("now", now)
    events: list[Event] = []
    while state.status in _TIMED and state.ends_at is not None and now >= state.ends_at:
        state, event = _transition(rules, state, state.ends_at)
        events.append(event)
    return Decision(state, tuple(events))


def _transition(rules: Rules, state: State, at: datetime) -> tuple[State, Event]:
    if state.status is Status.SCHEDULED:
        if rules.mode is Mode.FIXED_END:
            return _phase(state, Status.FREE, rules.fixed_end, at)
        if rules.free_seconds > 0:
            return _phase(state, Status.FREE, at + timedelta(seconds=rules.free_seconds), at)
        return _phase(state, Status.COUNTDOWN, at + timedelta(seconds=rules.countdown_seconds), at)
    if state.status is Status.FREE and rules.mode is Mode.COUNTDOWN:
        return _phase(state, Status.COUNTDOWN, at + timedelta(seconds=rules.countdown_seconds), at)
    return _end(rules, state, at)


def _phase(
    state: State, status: Status, ends_at: datetime | None, at: datetime, reason: str | None = None
) -> tuple[State, PhaseChanged]:
    event = PhaseChanged(seq=state.seq + 1, status=status, ends_at=ends_at, at=at, reason=reason)
    return evolve(state, event), event


def _end(rules: Rules, state: State, at: datetime) -> tuple[State, Ended]:
    result, reason = verdict(rules, state)
    sold = result == "sold"
    final_fen, winner = (state.current_fen, state.leader) if sold else (None, None)
    event = Ended(state.seq + 1, result, final_fen, winner, state.round, at, reason)
    return evolve(state, event), event


# --- commands -------------------------------------------------------------------------------

# A command either yields the new state and its one event, or is rejected with a code.
_Outcome = tuple[State, Event] | Code


def apply(rules: Rules, state: State, command: Command, now: datetime) -> Decision:
    """Advance to `now`, then apply `command`; the advance's events stand even on rejection.

    Precondition: `now` is not earlier than the `now` of any earlier call for this auction.
    """
    advanced = advance(rules, state, now)
    outcome: _Outcome
    match command:
        case PlaceBid():
            outcome = _place_bid(rules, advanced.state, command, now)
        case MatchPrice():
            outcome = _match_price(rules, advanced.state, command, now)
        case Pause():
            outcome = _pause(advanced.state, command, now)
        case Resume():
            outcome = _resume(advanced.state, command, now)
        case _:
            assert_never(command)
    if isinstance(outcome, Code):
        return replace(advanced, rejection=outcome)
    new_state, event = outcome
    return Decision(new_state, (*advanced.events, event))


def _is_stale(state: State, based_on_seq: int | None) -> bool:
    return based_on_seq is not None and based_on_seq < state.price_seq


def _place_bid(rules: Rules, state: State, bid: PlaceBid, now: datetime) -> _Outcome:
    # The order of these checks is the public precedence of rejection codes (docs/domain.md §5).
    if state.status not in _RUNNING:
        return Code.NOT_RUNNING
    if bid.bidder is None:
        return Code.NOT_QUALIFIED
    if bid.bidder == state.leader and not rules.self_outbid_allowed:
        return Code.SELF_OUTBID
    if bid.amount_fen < minimum_bid(rules, state):
        return Code.STALE if _is_stale(state, bid.based_on_seq) else Code.BELOW_MINIMUM
    steps, remainder = divmod(bid.amount_fen - state.current_fen, rules.increment_fen)
    if remainder:
        return Code.NOT_STEP_MULTIPLE
    if steps > rules.max_steps:
        return Code.TOO_MANY_STEPS
    return _accept(rules, state, bid.bidder, bid.amount_fen, now, matched=False)


def _match_price(rules: Rules, state: State, match: MatchPrice, now: datetime) -> _Outcome:
    if state.status not in _RUNNING:
        return Code.NOT_RUNNING
    if match.bidder is None:
        return Code.NOT_QUALIFIED
    if match.bidder not in rules.priority_order:
        return Code.NOT_PRIORITY_HOLDER
    if state.leader is None or not _outranks(rules.priority_order, match.bidder, state.leader):
        return Code.NOTHING_TO_MATCH
    if _is_stale(state, match.based_on_seq):
        return Code.STALE
    return _accept(rules, state, match.bidder, state.current_fen, now, matched=True)


def _outranks(order: tuple[str, ...], holder: str, leader: str) -> bool:
    """Whether `holder` may take the lead from `leader` by matching (never from itself)."""
    return leader not in order or order.index(holder) < order.index(leader)


def _accept(
    rules: Rules, state: State, bidder: str, amount_fen: int, now: datetime, *, matched: bool
) -> tuple[State, BidAccepted]:
    ends_at = _end_after_bid(rules, state, now)
    event = BidAccepted(state.seq + 1, state.round + 1, amount_fen, bidder, now, ends_at, matched)
    return evolve(state, event), event


def _end_after_bid(rules: Rules, state: State, now: datetime) -> datetime:
    ends_at = state.ends_at
    assert ends_at is not None, "a running auction always has an end"
    if rules.mode is Mode.FIXED_END:
        extension = timedelta(seconds=rules.extension_seconds)
        if ends_at - now >= extension:
            return ends_at
        extended = now + extension
        if rules.hard_deadline is not None:
            extended = min(extended, rules.hard_deadline)
        # A resume may already have carried the end past the cap; never pull it back.
        return max(ends_at, extended)
    if state.status is Status.COUNTDOWN:
        return now + timedelta(seconds=rules.countdown_seconds)
    return ends_at  # the free phase has a fixed end; bids do not move it


def _pause(state: State, pause: Pause, now: datetime) -> _Outcome:
    if state.status is Status.ENDED:
        return Code.ALREADY_ENDED
    if state.status not in _RUNNING or state.ends_at is None:
        return Code.NOT_RUNNING
    return _phase(state, Status.PAUSED, None, now, pause.reason)


def _resume(state: State, resume: Resume, now: datetime) -> _Outcome:
    if state.status is Status.ENDED:
        return Code.ALREADY_ENDED
    if state.status is not Status.PAUSED:
        return Code.NOT_PAUSED
    assert state.paused_status is not None and state.paused_remaining_ms is not None
    ends_at = now + state.paused_remaining_ms * _MS
    return _phase(state, state.paused_status, ends_at, now, resume.reason)
