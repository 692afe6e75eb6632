"""listings/rules.py as a specification: the listing state machine and the branch rules.

The tables below are written from docs/domain.md §3–§4 and docs/api.md §3.2, not copied
from the code, so a change to the machine has to be made on purpose in both places.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.clock import WorkingDayCalendar
from core.errors import Conflict, RuleViolation
from listings.rules import (
    EDITABLE,
    PUBLIC,
    Action,
    ListingState,
    Outcome,
    action_for,
    check_announcement,
    ensure_editable,
    registration_outcome,
    transition,
)

S, A = ListingState, Action

#: Every legal move of a listing and where it leads (docs/domain.md §3, steps 1–5).
LEGAL: dict[tuple[ListingState, Action], ListingState] = {
    (S.DRAFT, A.SUBMIT): S.SUBMITTED,
    (S.RETURNED, A.SUBMIT): S.SUBMITTED,  # returned entrustments can be edited and resubmitted
    (S.SUBMITTED, A.ACCEPT): S.ACCEPTED,
    (S.SUBMITTED, A.RETURN): S.RETURNED,
    (S.ACCEPTED, A.ANNOUNCE): S.ANNOUNCED,
    (S.DRAFT, A.WITHDRAW): S.WITHDRAWN,
    (S.RETURNED, A.WITHDRAW): S.WITHDRAWN,
    (S.ANNOUNCED, A.OPEN_AUCTION): S.AUCTION,  # ≥ 2 qualified
    (S.ANNOUNCED, A.SELL): S.SOLD,  # 1 qualified, agreement at the listing price
    (S.ANNOUNCED, A.FAIL): S.FAILED,  # 0 qualified, or 1 and the policy says fail
    (S.ANNOUNCED, A.EXTEND): S.ANNOUNCED,  # 1 qualified, registration extended
    (S.AUCTION, A.SELL): S.SOLD,
    (S.AUCTION, A.FAIL): S.FAILED,
}
ALL_PAIRS = [(s, a) for s in ListingState for a in Action]
ILLEGAL = [pair for pair in ALL_PAIRS if pair not in LEGAL]
TERMINAL = {S.SOLD, S.FAILED, S.WITHDRAWN}


# --- transitions ---------------------------------------------------------------------


def test_the_machine_has_the_states_and_actions_of_the_spec() -> None:
    assert {s.value for s in ListingState} == {
        "draft",
        "submitted",
        "returned",
        "accepted",
        "announced",
        "auction",
        "sold",
        "failed",
        "withdrawn",
    }
    assert {a.value for a in Action} == {
        "submit",
        "accept",
        "return",
        "announce",
        "withdraw",
        "open_auction",
        "sell",
        "fail",
        "extend",
    }
    assert len(ILLEGAL) == len(ALL_PAIRS) - len(LEGAL) == 9 * 9 - 13


@pytest.mark.parametrize(("state", "action"), list(LEGAL), ids=lambda v: str(v))
def test_every_legal_transition(state: ListingState, action: Action) -> None:
    assert transition(state, action) is LEGAL[(state, action)]


@pytest.mark.parametrize(("state", "action"), ILLEGAL, ids=lambda v: str(v))
def test_every_illegal_pair_is_a_conflict(state: ListingState, action: Action) -> None:
    with pytest.raises(Conflict) as caught:
        transition(state, action)
    assert caught.value.code == "listing.illegal_transition"
    assert caught.value.status == 409
    assert caught.value.extra == {"state": state.value, "action": action.value}
    assert caught.value.message  # shown to people


@given(st.sampled_from(ListingState), st.sampled_from(Action))
def test_any_pair_either_moves_as_specified_or_is_refused(
    state: ListingState, action: Action
) -> None:
    if (state, action) in LEGAL:
        assert transition(state, action) is LEGAL[(state, action)]
    else:
        with pytest.raises(Conflict) as caught:
            transition(state, action)
        assert caught.value.code == "listing.illegal_transition"
        assert caught.value.extra["state"] == state.value
        assert caught.value.extra["action"] == action.value


@given(st.lists(st.sampled_from(Action), max_size=30))
def test_random_walks_never_leave_the_machine(actions: list[Action]) -> None:
    """Terminal states stay terminal; nothing goes back to draft; announce happens once."""
    state, announced = S.DRAFT, 0
    for action in actions:
        try:
            new = transition(state, action)
        except Conflict:
            continue
        assert state not in TERMINAL
        assert new is not S.DRAFT
        if action is A.ANNOUNCE:
            announced += 1
        if state in (S.ANNOUNCED, S.AUCTION):
            assert new in (S.ANNOUNCED, S.AUCTION, S.SOLD, S.FAILED)
        state = new
    assert announced <= 1


def test_terminal_states_accept_no_action() -> None:
    for state in TERMINAL:
        for action in Action:
            with pytest.raises(Conflict):
                transition(state, action)


def test_public_states_are_from_the_announcement_on() -> None:
    assert frozenset({S.ANNOUNCED, S.AUCTION, S.SOLD, S.FAILED}) == PUBLIC


# --- terms frozen after announcement ---------------------------------------------------


@pytest.mark.parametrize("state", [S.DRAFT, S.RETURNED])
def test_terms_are_editable_before_review(state: ListingState) -> None:
    ensure_editable(state)  # no exception
    assert state in EDITABLE


@pytest.mark.parametrize(
    "state", [s for s in ListingState if s not in (S.DRAFT, S.RETURNED)], ids=str
)
def test_terms_are_frozen_from_submission_and_after_announcement(state: ListingState) -> None:
    with pytest.raises(Conflict) as caught:
        ensure_editable(state)
    assert caught.value.code == "listing.terms_frozen"
    assert caught.value.status == 409


# --- registration close ------------------------------------------------------------------

POLICIES = ["agreement", "fail", "extend"]


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("extended", [False, True])
@pytest.mark.parametrize("min_bidders", [1, 2, 3])
def test_no_qualified_bidder_fails(policy: str, extended: bool, min_bidders: int) -> None:
    assert (
        registration_outcome(
            0, min_bidders=min_bidders, single_policy=policy, already_extended=extended
        )
        is Outcome.FAILED
    )


@pytest.mark.parametrize(
    ("policy", "extended", "expected"),
    [
        ("agreement", False, Outcome.AGREEMENT),
        ("agreement", True, Outcome.AGREEMENT),
        ("fail", False, Outcome.FAILED),
        ("fail", True, Outcome.FAILED),
        ("extend", False, Outcome.EXTEND),
        ("extend", True, Outcome.FAILED),  # extended once; the second close fails
    ],
)
@pytest.mark.parametrize("min_bidders", [1, 2, 3])
def test_single_qualified_bidder_follows_the_policy(
    policy: str, extended: bool, expected: Outcome, min_bidders: int
) -> None:
    assert (
        registration_outcome(
            1, min_bidders=min_bidders, single_policy=policy, already_extended=extended
        )
        is expected
    )


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("extended", [False, True])
def test_two_qualified_bidders_go_to_auction(policy: str, extended: bool) -> None:
    assert (
        registration_outcome(2, min_bidders=2, single_policy=policy, already_extended=extended)
        is Outcome.AUCTION
    )
    # one bidder cannot compete, so a minimum of 1 still means at least two for an auction
    assert (
        registration_outcome(2, min_bidders=1, single_policy=policy, already_extended=extended)
        is Outcome.AUCTION
    )


@pytest.mark.parametrize("policy", POLICIES)
def test_fewer_than_the_configured_minimum_fails(policy: str) -> None:
    assert (
        registration_outcome(2, min_bidders=3, single_policy=policy, already_extended=False)
        is Outcome.FAILED
    )
    assert (
        registration_outcome(3, min_bidders=3, single_policy=policy, already_extended=False)
        is Outcome.AUCTION
    )


@given(
    qualified=st.integers(min_value=0, max_value=500),
    min_bidders=st.integers(min_value=1, max_value=20),
    policy=st.sampled_from(POLICIES),
    extended=st.booleans(),
)
def test_outcome_for_n_qualified(
    qualified: int, min_bidders: int, policy: str, extended: bool
) -> None:
    outcome = registration_outcome(
        qualified, min_bidders=min_bidders, single_policy=policy, already_extended=extended
    )
    if qualified == 0:
        assert outcome is Outcome.FAILED
    elif qualified == 1:
        assert outcome in (Outcome.AGREEMENT, Outcome.FAILED, Outcome.EXTEND)
    elif qualified >= max(2, min_bidders):
        assert outcome is Outcome.AUCTION
    else:
        assert outcome is Outcome.FAILED
    # only a single bidder can ever lead to an agreement or an extension
    if outcome in (Outcome.AGREEMENT, Outcome.EXTEND):
        assert qualified == 1
    # whatever the outcome, the machine can take it from the announced state
    transition(S.ANNOUNCED, action_for(outcome))


def test_outcomes_map_to_actions() -> None:
    assert action_for(Outcome.AUCTION) is A.OPEN_AUCTION
    assert action_for(Outcome.AGREEMENT) is A.SELL
    assert action_for(Outcome.FAILED) is A.FAIL
    assert action_for(Outcome.EXTEND) is A.EXTEND
    assert transition(S.ANNOUNCED, action_for(Outcome.EXTEND)) is S.ANNOUNCED


# --- announcement: the notice period in working days --------------------------------------


def bj(y: int, m: int, d: int, hh: int = 9, mm: int = 0) -> datetime:
    """A time given in Beijing, as an aware UTC datetime."""
    return datetime(y, m, d, hh, mm, tzinfo=UTC) - timedelta(hours=8)


# Monday 2026-12-28 09:00 in Beijing; 2027-01-01 (Friday) is New Year's Day.
MONDAY = bj(2026, 12, 28)
NEW_YEAR = date(2027, 1, 1)
PLAIN = WorkingDayCalendar()
WITH_HOLIDAY = WorkingDayCalendar(holidays=[NEW_YEAR])
WITH_MAKEUP = WorkingDayCalendar(holidays=[NEW_YEAR], makeup_workdays=[date(2027, 1, 2)])


def announce(
    closes: datetime,
    starts: datetime | None = None,
    *,
    now: datetime = MONDAY,
    days: int = 7,
    calendar: WorkingDayCalendar = PLAIN,
) -> None:
    check_announcement(
        now=now,
        registration_closes_at=closes,
        auction_starts_at=starts or closes + timedelta(days=1),
        notice_working_days=days,
        calendar=calendar,
    )


def test_notice_period_counts_working_days_only() -> None:
    # Tue 29, Wed 30, Thu 31, Fri 1, Mon 4, Tue 5, Wed 6 → seven working days end Wed 6 Jan.
    announce(bj(2027, 1, 6, 17))
    with pytest.raises(RuleViolation) as caught:
        announce(bj(2027, 1, 5, 17))
    assert caught.value.code == "announce.notice_too_short"
    assert caught.value.status == 422
    assert caught.value.extra == {"earliest": "2027-01-06"}


def test_a_holiday_pushes_the_earliest_close_by_a_working_day() -> None:
    with pytest.raises(RuleViolation) as caught:
        announce(bj(2027, 1, 6, 17), calendar=WITH_HOLIDAY)
    assert caught.value.code == "announce.notice_too_short"
    assert caught.value.extra == {"earliest": "2027-01-07"}
    announce(bj(2027, 1, 7, 9), calendar=WITH_HOLIDAY)


def test_a_makeup_workday_counts() -> None:
    announce(bj(2027, 1, 6, 9), calendar=WITH_MAKEUP)
    with pytest.raises(RuleViolation):
        announce(bj(2027, 1, 5, 23, 59), calendar=WITH_MAKEUP)


def test_dates_are_beijing_dates() -> None:
    # 2027-01-06 16:30 UTC is already 2027-01-07 00:30 in Beijing: late enough with the holiday.
    announce(datetime(2027, 1, 6, 16, 30, tzinfo=UTC), calendar=WITH_HOLIDAY)
    # 2027-01-06 15:59 UTC is 23:59 on the 6th in Beijing: one day short.
    with pytest.raises(RuleViolation) as caught:
        announce(datetime(2027, 1, 6, 15, 59, tzinfo=UTC), calendar=WITH_HOLIDAY)
    assert caught.value.code == "announce.notice_too_short"
    # "now" late on Sunday evening UTC is Monday in Beijing, so counting starts on Monday.
    sunday_utc_evening = datetime(2026, 12, 27, 17, 0, tzinfo=UTC)  # Mon 01:00 in Beijing
    announce(bj(2027, 1, 6, 9), now=sunday_utc_evening)


@given(
    days=st.integers(min_value=0, max_value=30), hours=st.integers(min_value=1, max_value=24 * 60)
)
def test_notice_rule_agrees_with_the_calendar(days: int, hours: int) -> None:
    closes = MONDAY + timedelta(hours=hours)
    earliest = WITH_HOLIDAY.add_working_days(date(2026, 12, 28), days)
    local_close = (closes + timedelta(hours=8)).date()
    if local_close >= earliest:
        announce(closes, days=days, calendar=WITH_HOLIDAY)
    else:
        with pytest.raises(RuleViolation) as caught:
            announce(closes, days=days, calendar=WITH_HOLIDAY)
        assert caught.value.code == "announce.notice_too_short"


def test_zero_notice_allows_closing_later_today() -> None:
    announce(MONDAY + timedelta(hours=1), days=0)


def test_registration_must_close_in_the_future() -> None:
    for closes in (MONDAY, MONDAY - timedelta(seconds=1), MONDAY - timedelta(days=30)):
        with pytest.raises(RuleViolation) as caught:
            announce(closes, days=0)
        assert caught.value.code == "announce.closes_in_past"


def test_auction_may_not_start_before_registration_closes() -> None:
    closes = bj(2027, 1, 8, 17)
    with pytest.raises(RuleViolation) as caught:
        announce(closes, closes - timedelta(seconds=1))
    assert caught.value.code == "announce.auction_before_close"
    announce(closes, closes)  # starting right at the close is allowed
