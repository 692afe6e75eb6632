"""Specification of the live auction rules engine, one rule per test (docs/domain.md §5)."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from auction.codes import MESSAGES_ZH
from auction.draw import draw_priority_order
from auction.engine import (
    BidAccepted,
    Code,
    Command,
    Decision,
    Ended,
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
    minimum_bid,
    next_deadline,
)

CST = timezone(timedelta(hours=8), "CST")
T0 = datetime(2025, 6, 16, 9, 0, tzinfo=CST)
START = 1_200_000  # 12,000 yuan/year, the reference case
STEP = 24_000  # 240 yuan


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def make_rules(**overrides: Any) -> Rules:
    settings: dict[str, Any] = {
        "start_fen": START,
        "increment_fen": STEP,
        "max_steps": 10,
        "starts_at": T0,
        "free_seconds": 3600,
        "countdown_seconds": 300,
    }
    return Rules(**{**settings, **overrides})


def fixed_end_rules(**overrides: Any) -> Rules:
    return make_rules(
        mode=Mode.FIXED_END, duration_seconds=3600, extension_seconds=300, **overrides
    )


def opened(rules: Rules) -> State:
    """The state just after the auction opened at starts_at."""
    return advance(rules, initial_state(rules), rules.starts_at).state


def run(rules: Rules, state: State, *steps: tuple[float, Command]) -> State:
    """Apply commands that must all be accepted; return the resulting state."""
    for seconds, command in steps:
        decision = apply(rules, state, command, at(seconds))
        assert decision.rejection is None, (command, decision.rejection)
        state = decision.state
    return state


def bid(bidder: str | None, amount_fen: int, based_on_seq: int | None = None) -> PlaceBid:
    return PlaceBid(bidder=bidder, amount_fen=amount_fen, based_on_seq=based_on_seq)


def ended(decision: Decision) -> Ended:
    (event,) = [e for e in decision.events if isinstance(e, Ended)]
    return event


# --- phases ---------------------------------------------------------------------------------


def test_initial_state_is_scheduled_at_the_start_price() -> None:
    rules = make_rules()
    state = initial_state(rules)
    assert state == State(Status.SCHEDULED, 0, 0, START, None, T0, 0, None, None)
    assert next_deadline(rules, state) == T0


def test_nothing_happens_before_starts_at() -> None:
    rules = make_rules()
    decision = advance(rules, initial_state(rules), at(-1))
    assert decision == Decision(initial_state(rules), ())


def test_bids_before_the_start_are_not_running() -> None:
    rules = make_rules()
    decision = apply(rules, initial_state(rules), bid("A", START), at(-0.001))
    assert decision.rejection is Code.NOT_RUNNING


def test_auction_opens_the_free_phase_at_starts_at() -> None:
    rules = make_rules()
    decision = advance(rules, initial_state(rules), T0)
    assert decision.events == (PhaseChanged(1, Status.FREE, at(3600), T0, None),)
    assert decision.state.status is Status.FREE
    assert decision.state.ends_at == at(3600)
    assert next_deadline(rules, decision.state) == at(3600)


def test_free_phase_bids_do_not_move_its_end() -> None:
    rules = make_rules()
    state = run(rules, opened(rules), (3599, bid("A", START)))
    assert state.ends_at == at(3600)
    assert state.status is Status.FREE


def test_countdown_starts_when_the_free_phase_ends() -> None:
    rules = make_rules()
    decision = advance(rules, opened(rules), at(3600))
    assert decision.events == (PhaseChanged(2, Status.COUNTDOWN, at(3900), at(3600), None),)
    assert decision.state.status is Status.COUNTDOWN


def test_zero_free_seconds_goes_straight_to_countdown() -> None:
    rules = make_rules(free_seconds=0)
    decision = advance(rules, initial_state(rules), T0)
    assert decision.events == (PhaseChanged(1, Status.COUNTDOWN, at(300), T0, None),)


def test_countdown_restarts_on_each_bid() -> None:
    rules = make_rules(free_seconds=0)
    decision = apply(rules, opened(rules), bid("A", START), at(200))
    assert decision.accepted is not None
    assert decision.accepted.ends_at == decision.state.ends_at == at(500)
    decision = apply(rules, decision.state, bid("B", START + STEP), at(499))
    assert decision.state.ends_at == at(799)


def test_countdown_expiry_ends_the_auction_sold_to_the_leader() -> None:
    rules = make_rules(free_seconds=0)
    state = run(rules, opened(rules), (10, bid("A", START)), (20, bid("B", START + STEP)))
    decision = advance(rules, state, at(320))
    assert decision.events == (Ended(4, "sold", START + STEP, "B", 2, at(320), "sold"),)
    assert decision.state.status is Status.ENDED
    assert next_deadline(rules, decision.state) is None


def test_a_bid_at_the_exact_end_is_too_late() -> None:
    rules = make_rules(free_seconds=0)
    state = run(rules, opened(rules), (10, bid("A", START)))
    decision = apply(rules, state, bid("B", START + STEP), at(310))
    assert decision.rejection is Code.NOT_RUNNING
    assert ended(decision).winner == "A"


def test_late_timer_emits_all_due_transitions_with_their_due_times() -> None:
    rules = make_rules(free_seconds=60, countdown_seconds=30)
    decision = advance(rules, initial_state(rules), at(1000))
    assert decision.events == (
        PhaseChanged(1, Status.FREE, at(60), T0, None),
        PhaseChanged(2, Status.COUNTDOWN, at(90), at(60), None),
        Ended(3, "unsold", None, None, 0, at(90), "no_bids"),
    )


def test_rejected_command_keeps_the_events_of_the_advance() -> None:
    rules = make_rules()
    decision = apply(rules, initial_state(rules), bid(None, START), at(1))
    assert decision.rejection is Code.NOT_QUALIFIED
    assert decision == replace(
        advance(rules, initial_state(rules), at(1)), rejection=Code.NOT_QUALIFIED
    )
    assert [e.seq for e in decision.events] == [1]


def test_advance_is_idempotent_and_the_end_is_final() -> None:
    rules = make_rules(free_seconds=0)
    done = advance(rules, initial_state(rules), at(300)).state
    assert advance(rules, done, at(300)).events == ()
    assert advance(rules, done, at(10**6)) == Decision(done, ())


def test_now_must_be_timezone_aware() -> None:
    rules = make_rules()
    with pytest.raises(ValueError, match="timezone-aware"):
        advance(rules, initial_state(rules), datetime(2025, 6, 16, 9))


# --- bid validity ---------------------------------------------------------------------------


def test_first_bid_may_equal_start_when_allowed() -> None:
    rules = make_rules()
    state = opened(rules)
    assert minimum_bid(rules, state) == START
    decision = apply(rules, state, bid("A", START), at(1))
    assert decision.accepted == BidAccepted(2, 1, START, "A", at(1), at(3600), matched=False)
    assert (decision.state.current_fen, decision.state.leader) == (START, "A")
    assert decision.state.price_seq == 2


def test_first_bid_must_exceed_start_when_not_allowed() -> None:
    rules = make_rules(first_bid_may_equal_start=False)
    state = opened(rules)
    assert minimum_bid(rules, state) == START + STEP
    assert apply(rules, state, bid("A", START), at(1)).rejection is Code.BELOW_MINIMUM
    assert apply(rules, state, bid("A", START + STEP), at(1)).rejection is None


def test_after_the_first_bid_every_bid_must_beat_the_price() -> None:
    rules = make_rules()
    state = run(rules, opened(rules), (1, bid("A", START)))
    assert minimum_bid(rules, state) == START + STEP
    assert apply(rules, state, bid("B", START), at(2)).rejection is Code.BELOW_MINIMUM


def test_bid_must_be_a_whole_number_of_steps_above_the_price() -> None:
    rules = make_rules()
    state = run(rules, opened(rules), (1, bid("A", START)))
    assert (
        apply(rules, state, bid("B", START + STEP + 1), at(2)).rejection is Code.NOT_STEP_MULTIPLE
    )
    assert apply(rules, state, bid("B", START + 3 * STEP), at(2)).rejection is None


def test_at_most_max_steps_per_bid() -> None:
    rules = make_rules(max_steps=10)
    state = run(rules, opened(rules), (1, bid("A", START)))
    assert apply(rules, state, bid("B", START + 10 * STEP), at(2)).rejection is None
    assert apply(rules, state, bid("B", START + 11 * STEP), at(2)).rejection is Code.TOO_MANY_STEPS


def test_max_steps_counts_from_the_start_price_for_the_first_bid() -> None:
    rules = make_rules(max_steps=2)
    state = opened(rules)
    assert apply(rules, state, bid("A", START + 2 * STEP), at(1)).rejection is None
    assert apply(rules, state, bid("A", START + 3 * STEP), at(1)).rejection is Code.TOO_MANY_STEPS


def test_unqualified_caller_may_not_bid() -> None:
    rules = make_rules()
    assert apply(rules, opened(rules), bid(None, START), at(1)).rejection is Code.NOT_QUALIFIED


def test_leader_may_not_outbid_themselves_by_default() -> None:
    rules = make_rules()
    state = run(rules, opened(rules), (1, bid("A", START)))
    assert apply(rules, state, bid("A", START + STEP), at(2)).rejection is Code.SELF_OUTBID


def test_leader_may_outbid_themselves_when_allowed() -> None:
    rules = make_rules(self_outbid_allowed=True)
    state = run(rules, opened(rules), (1, bid("A", START)), (2, bid("A", START + STEP)))
    assert (state.leader, state.current_fen, state.round) == ("A", START + STEP, 2)


def test_stale_when_price_moved_since_client_seq() -> None:
    rules = make_rules()
    state = run(rules, opened(rules), (1, bid("A", START)))
    seen = state.seq
    state = run(rules, state, (2, bid("B", START + STEP)))
    # C saw the price at seq `seen` and bid one step above it: B got in first.
    decision = apply(rules, state, bid("C", START + STEP, based_on_seq=seen), at(3))
    assert decision.rejection is Code.STALE
    assert MESSAGES_ZH[Code.STALE] == "出价前价格已被他人刷新，请按最新价格重新出价"


def test_below_minimum_when_client_saw_the_current_price_or_sent_no_seq() -> None:
    rules = make_rules()
    state = run(rules, opened(rules), (1, bid("A", START)), (2, bid("B", START + STEP)))
    too_low = bid("C", START + STEP, based_on_seq=state.seq)
    assert apply(rules, state, too_low, at(3)).rejection is Code.BELOW_MINIMUM
    assert apply(rules, state, bid("C", START + STEP), at(3)).rejection is Code.BELOW_MINIMUM


def test_a_high_enough_bid_is_accepted_even_if_based_on_an_old_seq() -> None:
    rules = make_rules()
    state = run(rules, opened(rules), (1, bid("A", START)), (2, bid("B", START + STEP)))
    decision = apply(rules, state, bid("C", START + 2 * STEP, based_on_seq=1), at(3))
    assert decision.rejection is None


@pytest.mark.parametrize(
    ("command", "when", "expected"),
    [
        # paused/scheduled/ended beat everything, even an unqualified caller
        (bid(None, 0), "scheduled", Code.NOT_RUNNING),
        (bid(None, 0), "paused", Code.NOT_RUNNING),
        (bid(None, 0), "ended", Code.NOT_RUNNING),
        # not_qualified beats a too-low, off-step amount (and leader None == bidder None)
        (bid(None, 1, based_on_seq=0), "running", Code.NOT_QUALIFIED),
        # self_outbid beats stale
        (bid("B", START, based_on_seq=0), "running", Code.SELF_OUTBID),
        # stale / below_minimum beat not_step_multiple
        (bid("C", START + 1, based_on_seq=0), "running", Code.STALE),
        (bid("C", START + 1), "running", Code.BELOW_MINIMUM),
        # not_step_multiple beats too_many_steps
        (bid("C", START + 99 * STEP + 1), "running", Code.NOT_STEP_MULTIPLE),
        (bid("C", START + 99 * STEP), "running", Code.TOO_MANY_STEPS),
    ],
)
def test_rejection_precedence_follows_the_protocol(
    command: PlaceBid, when: str, expected: Code
) -> None:
    rules = make_rules()
    running = run(rules, opened(rules), (1, bid("A", START)), (2, bid("B", START + STEP)))
    state, now = {
        "scheduled": (initial_state(rules), at(-1)),
        "running": (running, at(3)),
        "paused": (run(rules, running, (3, Pause("fault"))), at(4)),
        "ended": (running, at(10_000)),
    }[when]
    assert apply(rules, state, command, now).rejection is expected


def test_rejected_bid_leaves_the_state_unchanged() -> None:
    rules = make_rules()
    state = run(rules, opened(rules), (1, bid("A", START)))
    assert apply(rules, state, bid("B", START + STEP + 1), at(2)) == Decision(
        state, (), Code.NOT_STEP_MULTIPLE
    )


# --- result ---------------------------------------------------------------------------------


def test_no_bids_is_unsold() -> None:
    rules = make_rules(free_seconds=0)
    event = ended(advance(rules, initial_state(rules), at(300)))
    assert (event.result, event.reason, event.final_fen, event.winner) == (
        "unsold",
        "no_bids",
        None,
        None,
    )


def test_final_price_below_hidden_reserve_is_unsold() -> None:
    rules = make_rules(free_seconds=0, reserve_fen=START + 2 * STEP)
    state = run(rules, opened(rules), (1, bid("A", START)), (2, bid("B", START + STEP)))
    assert ended(advance(rules, state, at(400))) == Ended(
        4, "unsold", None, None, 2, at(302), "below_reserve"
    )


def test_final_price_meeting_the_reserve_is_sold() -> None:
    rules = make_rules(free_seconds=0, reserve_fen=START + STEP)
    state = run(rules, opened(rules), (1, bid("A", START)), (2, bid("B", START + STEP)))
    assert ended(advance(rules, state, at(400))).result == "sold"


def test_reserve_does_not_change_the_minimum_bid() -> None:
    rules = make_rules(reserve_fen=10 * START)
    assert apply(rules, opened(rules), bid("A", START), at(1)).rejection is None


# --- priority right -------------------------------------------------------------------------


def test_priority_holder_matches_the_current_price_and_leads() -> None:
    rules = make_rules(priority_order=("P",))
    state = run(rules, opened(rules), (1, bid("A", START)), (2, bid("B", START + STEP)))
    decision = apply(rules, state, MatchPrice("P"), at(3))
    assert decision.accepted == BidAccepted(4, 3, START + STEP, "P", at(3), at(3600), matched=True)
    new = decision.state
    assert (new.leader, new.current_fen, new.round, new.price_seq) == ("P", START + STEP, 3, 4)


def test_others_must_beat_a_matched_price() -> None:
    rules = make_rules(priority_order=("P",))
    state = run(rules, opened(rules), (1, bid("A", START + STEP)), (2, MatchPrice("P")))
    assert minimum_bid(rules, state) == START + 2 * STEP
    assert apply(rules, state, bid("A", START + STEP), at(3)).rejection is Code.BELOW_MINIMUM
    state = run(rules, state, (3, bid("A", START + 2 * STEP)))
    assert state.leader == "A"
    assert apply(rules, state, MatchPrice("P"), at(4)).state.leader == "P"


def test_match_restarts_the_countdown_like_a_bid() -> None:
    rules = make_rules(free_seconds=0, priority_order=("P",))
    state = run(rules, opened(rules), (10, bid("A", START)), (250, MatchPrice("P")))
    assert state.ends_at == at(550)


def test_match_is_only_for_priority_holders() -> None:
    rules = make_rules(priority_order=("P",))
    state = run(rules, opened(rules), (1, bid("A", START)))
    assert apply(rules, state, MatchPrice("B"), at(2)).rejection is Code.NOT_PRIORITY_HOLDER
    assert apply(rules, state, MatchPrice(None), at(2)).rejection is Code.NOT_QUALIFIED


def test_match_needs_someone_else_to_match() -> None:
    rules = make_rules(priority_order=("P",))
    assert apply(rules, opened(rules), MatchPrice("P"), at(1)).rejection is Code.NOTHING_TO_MATCH
    state = run(rules, opened(rules), (1, bid("P", START)))
    assert apply(rules, state, MatchPrice("P"), at(2)).rejection is Code.NOTHING_TO_MATCH


def test_match_is_not_running_outside_the_bidding_phases() -> None:
    rules = make_rules(priority_order=("P",))
    assert apply(rules, initial_state(rules), MatchPrice(None), at(-1)).rejection is (
        Code.NOT_RUNNING
    )


def test_with_several_holders_only_a_higher_priority_may_match_a_holder() -> None:
    rules = make_rules(priority_order=("P1", "P2"))
    state = run(rules, opened(rules), (1, bid("A", START)), (2, MatchPrice("P2")))
    assert state.leader == "P2"
    # P1 outranks P2 (drawn first) and takes the lead at the same price
    state = run(rules, state, (3, MatchPrice("P1")))
    assert (state.leader, state.current_fen, state.round) == ("P1", START, 3)
    # P2 cannot take it back by matching: it must beat the price
    assert apply(rules, state, MatchPrice("P2"), at(4)).rejection is Code.NOTHING_TO_MATCH
    state = run(rules, state, (4, bid("P2", START + STEP)))
    assert apply(rules, state, MatchPrice("P1"), at(5)).state.leader == "P1"


def test_lower_holder_may_not_match_a_higher_holders_bid() -> None:
    rules = make_rules(priority_order=("P1", "P2"))
    state = run(rules, opened(rules), (1, bid("P1", START)))
    assert apply(rules, state, MatchPrice("P2"), at(2)).rejection is Code.NOTHING_TO_MATCH


def test_match_is_stale_when_the_price_moved_since_client_seq() -> None:
    rules = make_rules(priority_order=("P",))
    state = run(rules, opened(rules), (1, bid("A", START)))
    seen = state.seq
    state = run(rules, state, (2, bid("B", START + STEP)))
    assert apply(rules, state, MatchPrice("P", based_on_seq=seen), at(3)).rejection is Code.STALE
    assert apply(rules, state, MatchPrice("P", based_on_seq=state.seq), at(3)).rejection is None


def test_draw_priority_order_is_reproducible_from_the_seed() -> None:
    holders = ["007", "012", "031", "044"]
    seed = b"draw 2025-06-10 witnessed by notary"
    order = draw_priority_order(holders, seed)
    expected = sorted(holders, key=lambda h: hashlib.sha256(seed + h.encode()).digest())
    assert order == tuple(expected)
    assert draw_priority_order(list(reversed(holders)), seed) == order
    assert sorted(order) == holders
    orders = {draw_priority_order(holders, bytes([i])) for i in range(20)}
    assert len(orders) > 1  # the seed, not the input order, decides


def test_draw_rejects_duplicate_holders() -> None:
    with pytest.raises(ValueError, match="twice"):
        draw_priority_order(["A", "A"], b"seed")


# --- pause / resume -------------------------------------------------------------------------


def test_pause_resume_restores_the_remaining_countdown() -> None:
    rules = make_rules(free_seconds=0)
    state = run(rules, opened(rules), (100, bid("A", START)))  # countdown now ends at 400
    decision = apply(rules, state, Pause("network fault"), at(160.5))
    assert decision.events == (PhaseChanged(3, Status.PAUSED, None, at(160.5), "network fault"),)
    paused = decision.state
    assert paused.paused_status is Status.COUNTDOWN
    assert paused.paused_remaining_ms == 239_500
    assert next_deadline(rules, paused) is None
    decision = apply(rules, paused, Resume("fixed"), at(5000))
    assert decision.events == (PhaseChanged(4, Status.COUNTDOWN, at(5239.5), at(5000), "fixed"),)
    assert (decision.state.paused_status, decision.state.paused_remaining_ms) == (None, None)


def test_pause_rounds_the_remaining_time_up_to_the_millisecond() -> None:
    rules = make_rules(free_seconds=0)
    paused = run(rules, opened(rules), (298.9995, Pause("fault")))
    assert paused.paused_remaining_ms == 1001  # 1000.5 ms: bidders never lose the fraction
    assert run(rules, paused, (400, Resume("ok"))).ends_at == at(401.001)


def test_pause_in_the_free_phase_shifts_the_free_phase_end() -> None:
    rules = make_rules()
    state = run(rules, opened(rules), (600, Pause("fault")), (1200, Resume("ok")))
    assert (state.status, state.ends_at) == (Status.FREE, at(4200))


def test_the_end_never_occurs_while_paused() -> None:
    rules = make_rules(free_seconds=0)
    state = run(rules, opened(rules), (10, bid("A", START)), (20, Pause("fault")))
    assert advance(rules, state, at(10**6)) == Decision(state, ())
    assert apply(rules, state, bid("B", START + STEP), at(30)).rejection is Code.NOT_RUNNING


def test_pause_and_resume_rejections() -> None:
    rules = make_rules(free_seconds=0)
    running = opened(rules)
    paused = run(rules, running, (1, Pause("fault")))
    assert apply(rules, initial_state(rules), Pause("x"), at(-1)).rejection is Code.NOT_RUNNING
    assert apply(rules, paused, Pause("again"), at(2)).rejection is Code.NOT_RUNNING
    assert apply(rules, running, Resume("x"), at(2)).rejection is Code.NOT_PAUSED
    assert apply(rules, running, Pause("x"), at(400)).rejection is Code.ALREADY_ENDED
    assert apply(rules, running, Resume("x"), at(400)).rejection is Code.ALREADY_ENDED


# --- fixed end (judicial style) -------------------------------------------------------------


def test_fixed_end_auction_opens_until_its_fixed_end() -> None:
    rules = fixed_end_rules()
    decision = advance(rules, initial_state(rules), T0)
    assert decision.events == (PhaseChanged(1, Status.FREE, at(3600), T0, None),)


def test_fixed_end_bid_outside_the_last_seconds_does_not_extend() -> None:
    rules = fixed_end_rules()
    state = run(rules, opened(rules), (3300, bid("A", START)))
    assert state.ends_at == at(3600)


def test_fixed_end_bid_in_the_last_seconds_extends_the_end() -> None:
    rules = fixed_end_rules()
    state = run(rules, opened(rules), (3301, bid("A", START)))
    assert state.ends_at == at(3601)
    state = run(rules, state, (3600, bid("B", START + STEP)))
    assert state.ends_at == at(3900)
    assert ended(advance(rules, state, at(3900))) == Ended(
        4, "sold", START + STEP, "B", 2, at(3900), "sold"
    )


def test_fixed_end_extension_is_capped_by_the_hard_deadline() -> None:
    rules = fixed_end_rules(hard_deadline=at(3700))
    state = run(rules, opened(rules), (3500, bid("A", START)))
    assert state.ends_at == at(3700)
    state = run(rules, state, (3650, bid("B", START + STEP)))
    assert state.ends_at == at(3700)
    assert ended(advance(rules, state, at(3700))).at == at(3700)


def test_resume_restores_the_full_remaining_time_even_past_the_hard_deadline() -> None:
    rules = fixed_end_rules(hard_deadline=at(3700))
    paused = run(rules, opened(rules), (3500, Pause("fault")))
    state = run(rules, paused, (4000, Resume("fixed")))
    assert state.ends_at == at(4100)
    # a late bid may not pull the end back to the cap that has passed
    state = run(rules, state, (4050, bid("A", START)))
    assert state.ends_at == at(4100)


def test_fixed_end_without_bids_ends_unsold_at_the_fixed_end() -> None:
    rules = fixed_end_rules()
    event = ended(advance(rules, initial_state(rules), at(9999)))
    assert (event.at, event.reason) == (at(3600), "no_bids")


# --- settings, messages, reference case -----------------------------------------------------


@pytest.mark.parametrize(
    "overrides",
    [
        {"increment_fen": 0},
        {"max_steps": 0},
        {"start_fen": -1},
        {"reserve_fen": -1},
        {"countdown_seconds": 0},
        {"free_seconds": -1},
        {"starts_at": datetime(2025, 6, 16, 9)},
        {"mode": Mode.FIXED_END, "duration_seconds": 0},
        {"mode": Mode.FIXED_END, "duration_seconds": 60, "hard_deadline": at(59)},
        {"priority_order": ("P", "P")},
    ],
)
def test_inconsistent_rules_are_refused(overrides: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        make_rules(**overrides)


def test_every_code_has_a_chinese_message() -> None:
    assert set(MESSAGES_ZH) == set(Code)
    assert all(message.strip() for message in MESSAGES_ZH.values())


def test_reference_case_fifty_one_step_rounds_double_the_price() -> None:
    rules = make_rules()  # 12,000 yuan, 240 yuan steps, 60 min free, 300 s countdown
    state = opened(rules)
    for i in range(50):
        bidder = "A" if i % 2 == 0 else "B"
        amount = state.current_fen + STEP
        decision = apply(
            rules, state, bid(bidder, amount, based_on_seq=state.seq), at(100 * i + 10)
        )
        assert decision.accepted is not None and decision.accepted.round == i + 1
        state = decision.state
    assert (state.current_fen, state.round, state.leader) == (2_400_000, 50, "B")
    # the last bid at 4,910 s fell in the countdown, which then runs out with no new bid
    assert state.status is Status.COUNTDOWN
    assert advance(rules, state, at(5209.999)).events == ()
    event = ended(advance(rules, state, at(5210)))
    assert event == Ended(event.seq, "sold", 2_400_000, "B", 50, at(5210), "sold")
    assert event.seq == 50 + 3  # opened, countdown started, ended
