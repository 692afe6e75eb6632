"""listings/rules.py as a specification: the listing state machine and the branch rules.

The tables below are written from docs/domain.md §3–§4 and docs/api.md §3.2, not copied
from the code, so a change to the machine has to be made on purpose in both places.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.errors import Conflict, RuleViolation
from core.settings import ExchangeSettings
from core.workdays import WorkingDayCalendar, published_calendar
from listings.rules import (
    EDITABLE,
    PUBLIC,
    Action,
    ListingState,
    Outcome,
    action_for,
    check_announced_lease_start,
    check_announcement,
    check_lease_start,
    earliest_lease_start,
    ensure_editable,
    first_timetable,
    registration_outcome,
    transition,
    unexplained_price,
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
    (S.SOLD, A.VOID): S.FAILED,  # the deal voided and nobody takes it over: relist
}
ALL_PAIRS = [(s, a) for s in ListingState for a in Action]
ILLEGAL = [pair for pair in ALL_PAIRS if pair not in LEGAL]
TERMINAL = {S.FAILED, S.WITHDRAWN}


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
        "void",
    }
    assert len(ILLEGAL) == len(ALL_PAIRS) - len(LEGAL) == 9 * 10 - 14


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
        if state is S.SOLD:  # a sale ends only by being voided
            assert (action, new) == (A.VOID, S.FAILED)
        state = new
    assert announced <= 1


def test_terminal_states_accept_no_action() -> None:
    for state in TERMINAL:
        for action in Action:
            with pytest.raises(Conflict):
                transition(state, action)
    for action in set(Action) - {A.VOID}:
        with pytest.raises(Conflict):
            transition(S.SOLD, action)


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
        ("extend_then_agreement", False, Outcome.EXTEND),  # 再次公告 once
        ("extend_then_agreement", True, Outcome.AGREEMENT),  # then 协商 with the one bidder
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
    day_ends: time | None = None,
    window: timedelta = timedelta(0),
) -> None:
    check_announcement(
        now=now,
        registration_closes_at=closes,
        auction_starts_at=starts or closes + timedelta(days=1),
        notice_working_days=days,
        calendar=calendar,
        day_ends=day_ends,
        qualification_window=window,
    )


def refused(code: str, closes: datetime, **kwargs: Any) -> dict[str, Any]:
    with pytest.raises(RuleViolation) as caught:
        announce(closes, **kwargs)
    assert caught.value.code == code
    assert caught.value.status == 422
    return caught.value.extra


def test_notice_period_counts_working_days_from_the_next_day_to_24_00_of_the_last() -> None:
    # Tue 29, Wed 30, Thu 31, Fri 1, Mon 4, Tue 5, Wed 6: the period ends at 24:00 on Wed 6 Jan.
    extra = refused("announce.notice_too_short", bj(2027, 1, 6, 17))
    assert extra == {"earliest": "2027-01-07T00:00:00+08:00", "last_day": "2027-01-06"}
    announce(bj(2027, 1, 7, 0))  # 24:00 on the 6th
    announce(bj(2027, 1, 7, 9))


def test_announced_monday_17_00_with_five_working_days_closes_no_earlier_than_tuesday() -> None:
    # The case of issue 17: the old rule let registration close on Monday at 00:00:01.
    monday_5pm = bj(2026, 11, 30, 17)
    extra = refused(
        "announce.notice_too_short", bj(2026, 12, 7) + timedelta(seconds=1), now=monday_5pm, days=5
    )
    assert extra["earliest"] == "2026-12-08T00:00:00+08:00"
    announce(bj(2026, 12, 8), now=monday_5pm, days=5)


def test_with_business_hours_the_period_ends_at_the_close_of_business() -> None:
    five_pm = time(17, 0)
    extra = refused("announce.notice_too_short", bj(2027, 1, 6, 16, 59), day_ends=five_pm)
    assert extra["earliest"] == "2027-01-06T17:00:00+08:00"
    announce(bj(2027, 1, 6, 17), day_ends=five_pm)


def test_a_holiday_pushes_the_end_by_a_working_day() -> None:
    extra = refused("announce.notice_too_short", bj(2027, 1, 7, 9), calendar=WITH_HOLIDAY)
    assert extra["earliest"] == "2027-01-08T00:00:00+08:00"
    announce(bj(2027, 1, 8, 9), calendar=WITH_HOLIDAY)


def test_a_makeup_workday_counts() -> None:
    # The holiday (Fri 1) and the makeup Saturday (2) cancel out: the end is as without them.
    announce(bj(2027, 1, 7, 0), calendar=WITH_MAKEUP)
    refused("announce.notice_too_short", bj(2027, 1, 6, 23, 59), calendar=WITH_MAKEUP)


def test_registration_never_closes_on_a_rest_day() -> None:
    # Saturday 9 Jan and Sunday 10 Jan are late enough, but not working days.
    for closes in (bj(2027, 1, 9, 10), bj(2027, 1, 10, 23, 59)):
        assert refused("announce.closes_on_rest_day", closes)["day"] in ("2027-01-09", "2027-01-10")
    # 24:00 on Friday is Friday's; 00:00:01 on Saturday is Saturday's.
    announce(bj(2027, 1, 9, 0))
    refused("announce.closes_on_rest_day", bj(2027, 1, 9) + timedelta(seconds=1))
    # New Year's Day is a rest day in that calendar.
    new_year = bj(2027, 1, 1, 10)
    refused(
        "announce.closes_on_rest_day",
        new_year,
        days=1,
        now=bj(2026, 12, 30, 9),
        calendar=WITH_HOLIDAY,
    )
    # Without a notice period (demonstrations, test setups) no day is counted, none is refused.
    announce(bj(2027, 1, 2, 10), days=0)


def test_the_published_calendars_give_the_right_dates() -> None:
    calendar = published_calendar()
    # Issue 17: five working days after Monday 2025-09-29, over the National Day holiday
    # (1–8 October off, Saturday 11 October worked), end on Monday 2025-10-13.
    assert calendar.add_working_days(date(2025, 9, 29), 5) == date(2025, 10, 13)
    assert not calendar.is_working_day(date(2026, 2, 16))  # Spring Festival 2026
    assert calendar.is_working_day(date(2026, 2, 14))  # a Saturday worked instead
    assert calendar.is_working_day(date(2026, 10, 10))
    assert not calendar.is_working_day(date(2026, 10, 7))
    assert calendar.add_working_days(date(2026, 9, 30), 1) == date(2026, 10, 8)


def test_dates_are_beijing_dates() -> None:
    # 2027-01-07 16:30 UTC is already 2027-01-08 00:30 in Beijing: late enough with the holiday.
    announce(datetime(2027, 1, 7, 16, 30, tzinfo=UTC), calendar=WITH_HOLIDAY)
    # 2027-01-07 15:59 UTC is 23:59 on the 7th in Beijing: one minute short.
    refused(
        "announce.notice_too_short", datetime(2027, 1, 7, 15, 59, tzinfo=UTC), calendar=WITH_HOLIDAY
    )
    # "now" late on Sunday evening UTC is Monday in Beijing, so counting starts on Tuesday.
    sunday_utc_evening = datetime(2026, 12, 27, 17, 0, tzinfo=UTC)  # Mon 01:00 in Beijing
    announce(bj(2027, 1, 7, 0), now=sunday_utc_evening)


@given(
    days=st.integers(min_value=0, max_value=30), hours=st.integers(min_value=1, max_value=24 * 60)
)
def test_notice_rule_agrees_with_the_calendar(days: int, hours: int) -> None:
    closes = MONDAY + timedelta(hours=hours)
    last = WITH_HOLIDAY.add_working_days(date(2026, 12, 28), days)
    end = MONDAY if days == 0 else bj(last.year, last.month, last.day) + timedelta(days=1, hours=-9)
    local = closes + timedelta(hours=8)
    day = (local - timedelta(days=1)).date() if local.time() == time(0) else local.date()
    if closes < end:
        refused("announce.notice_too_short", closes, days=days, calendar=WITH_HOLIDAY)
    elif days and not WITH_HOLIDAY.is_working_day(day):
        refused("announce.closes_on_rest_day", closes, days=days, calendar=WITH_HOLIDAY)
    else:
        announce(closes, days=days, calendar=WITH_HOLIDAY)


def test_zero_notice_allows_closing_later_today() -> None:
    announce(MONDAY + timedelta(hours=1), days=0)


def test_registration_must_close_in_the_future() -> None:
    for closes in (MONDAY, MONDAY - timedelta(seconds=1), MONDAY - timedelta(days=30)):
        refused("announce.closes_in_past", closes, days=0)


def test_the_qualification_window_separates_close_and_auction() -> None:
    closes = bj(2027, 1, 8, 17)
    refused("announce.auction_before_close", closes, starts=closes - timedelta(seconds=1))
    announce(closes, closes)  # without a window, starting right at the close is allowed
    hour = timedelta(hours=1)
    extra = refused("announce.auction_before_close", closes, starts=closes, window=hour)
    assert extra == {"qualification_window_minutes": 60}
    announce(closes, closes + hour, window=hour)


def test_the_first_timetable_is_the_earliest_the_rules_allow() -> None:
    hour = timedelta(hours=1)
    # Monday 09:00, seven working days: the period ends at 24:00 Wed 6 Jan; registration
    # closes at 17:00 on Thu 7 Jan, the auction starts at 09:30 on Fri 8 Jan.
    closes, starts = first_timetable(MONDAY, 7, PLAIN, qualification_window=hour)
    assert (closes, starts) == (bj(2027, 1, 7, 17), bj(2027, 1, 8, 9, 30))
    announce(closes, starts, window=hour)
    # With business hours ending at 17:00 the last day itself will do.
    closes, _ = first_timetable(MONDAY, 7, PLAIN, day_ends=time(17, 0))
    assert closes == bj(2027, 1, 6, 17)
    # A holiday and a weekend after the last day move the close to the next working day.
    closes, starts = first_timetable(MONDAY, 3, WITH_HOLIDAY)
    assert (closes, starts) == (bj(2027, 1, 4, 17), bj(2027, 1, 5, 9, 30))
    # No notice, asked after 17:00: the next working day.
    closes, _ = first_timetable(bj(2026, 12, 28, 18), 0, PLAIN)
    assert closes == bj(2026, 12, 29, 17)
    # A long window pushes the start past the morning.
    _, starts = first_timetable(MONDAY, 7, PLAIN, qualification_window=timedelta(hours=20))
    assert starts == bj(2027, 1, 8, 13)


def test_a_price_below_the_appraisal_or_a_deep_relist_cut_must_say_why() -> None:
    def check(price: int, reason: str | None = None, **kw: Any) -> None:
        unexplained_price(
            price,
            appraisal_fen=kw.get("appraisal"),
            previous_price_fen=kw.get("previous"),
            floor_percent=70,
            reason=reason,
        )

    check(1_200_000, appraisal=1_200_000)  # at the appraisal: fine
    with pytest.raises(RuleViolation) as caught:
        check(1_199_999, appraisal=1_200_000)
    assert caught.value.code == "terms.below_appraisal"
    check(1_199_999, "村民代表会议决议：现状较差，按九折挂牌", appraisal=1_200_000)
    # Issue 17: a 流拍 lot relisted at 1,000 yuan a year after 12,000.
    with pytest.raises(RuleViolation) as caught:
        check(100_000, previous=1_200_000)
    assert caught.value.code == "terms.deep_relist_cut"
    assert caught.value.extra == {"previous_price_fen": 1_200_000, "floor_percent": 70}
    with pytest.raises(RuleViolation):
        check(100_000, "   ", previous=1_200_000)  # blank is no reason
    check(100_000, "第二次流拍，村民代表会议决议降价", previous=1_200_000)
    check(840_000, previous=1_200_000)  # exactly 70 %: no reason needed
    with pytest.raises(RuleViolation):
        check(839_999, previous=1_200_000)


# --- a lease start fixed at listing ----------------------------------------------------------

#: Tuesday 2026-12-01 09:00 in Beijing, with the default settings: seven working days of
#: notice (2–10 Dec) end at 24:00 on Thursday 10 Dec; registration closes at the earliest at
#: 17:00 on Friday 11 Dec; the auction starts at 09:30 on Monday 14 Dec; a deal that day is
#: signed within ten working days (15–18, 21–25, 28 Dec), so the lease may start on 29 Dec.
TUESDAY = bj(2026, 12, 1)
DEFAULTS = ExchangeSettings()


def start_refused(code: str, start: date, *, now: datetime = TUESDAY) -> dict[str, Any]:
    with pytest.raises(RuleViolation) as caught:
        check_lease_start(start, now=now, settings=DEFAULTS)
    assert caught.value.code == code and caught.value.status == 422
    assert caught.value.message  # shown to people
    return caught.value.extra


def test_a_fixed_lease_start_is_not_in_the_past() -> None:
    extra = start_refused("terms.lease_start_past", date(2026, 11, 30))
    assert extra == {"lease_start": "2026-11-30", "today": "2026-12-01"}
    # The day is Beijing's: 2026-11-30 20:00 UTC is already 1 December there.
    late_evening_utc = datetime(2026, 11, 30, 20, 0, tzinfo=UTC)
    start_refused("terms.lease_start_past", date(2026, 11, 30), now=late_evening_utc)


def test_a_fixed_lease_start_follows_the_earliest_auction_and_its_signing_period() -> None:
    # Without a result publicity: the earliest auction is on Monday 14 Dec, its deal signed by
    # Monday 28 Dec, so the lease may start on the 29th.
    quick = ExchangeSettings(result_publicity_working_days=0)

    def refused(start: date, settings: ExchangeSettings = quick) -> dict[str, Any]:
        with pytest.raises(RuleViolation) as caught:
            check_lease_start(start, now=TUESDAY, settings=settings)
        assert caught.value.code == "terms.lease_start_too_early"
        return caught.value.extra

    assert refused(date(2026, 12, 1))["earliest"] == "2026-12-29"
    assert refused(date(2026, 12, 28)) == {"lease_start": "2026-12-28", "earliest": "2026-12-29"}
    check_lease_start(date(2026, 12, 29), now=TUESDAY, settings=quick)
    check_lease_start(date(2027, 3, 15), now=TUESDAY, settings=quick)
    # Longer settings push the earliest start: three more days of notice move the auction
    # to Thursday 17 Dec, and the signing period to Thursday 31 Dec.
    slower = ExchangeSettings(notice_period_working_days=10, result_publicity_working_days=0)
    assert refused(date(2026, 12, 29), slower)["earliest"] == "2027-01-01"
    # With the default publicity of 5 working days the deal is confirmed at 24:00 on Monday
    # 21 Dec; signing runs 10 working days from Tuesday 22 Dec to Tuesday 5 Jan (2027 has no
    # holiday calendar here), so the lease may start on 6 January.
    assert start_refused("terms.lease_start_too_early", date(2027, 1, 5))["earliest"] == (
        "2027-01-06"
    )
    check_lease_start(date(2027, 1, 6), now=TUESDAY, settings=DEFAULTS)


def test_a_fixed_lease_start_lies_within_five_years() -> None:
    check_lease_start(date(2031, 12, 1), now=TUESDAY, settings=DEFAULTS)
    extra = start_refused("terms.lease_start_too_far", date(2031, 12, 2))
    assert extra == {"lease_start": "2031-12-02", "latest": "2031-12-01"}
    # From 29 February the horizon ends on 28 February.
    leap = bj(2028, 2, 29)
    check_lease_start(date(2033, 2, 28), now=leap, settings=DEFAULTS)
    start_refused("terms.lease_start_too_far", date(2033, 3, 1), now=leap)


def test_at_announcement_the_lease_starts_after_the_signing_period_of_the_auction_day() -> None:
    def check(start: date, auction: datetime, calendar: WorkingDayCalendar = PLAIN) -> None:
        check_announced_lease_start(
            start, auction_starts_at=auction, sign_deadline_working_days=10, calendar=calendar
        )

    # An auction on Monday 14 Dec 2026: signed by Monday 28 Dec, the lease from the 29th.
    monday = bj(2026, 12, 14, 9, 30)
    assert earliest_lease_start(monday, 10, PLAIN) == date(2026, 12, 29)
    check(date(2026, 12, 29), monday)
    with pytest.raises(RuleViolation) as caught:
        check(date(2026, 12, 28), monday)
    assert caught.value.code == "announce.lease_start_before_signing"
    assert caught.value.extra == {"lease_start": "2026-12-28", "earliest": "2026-12-29"}
    # New Year's Day is no working day: an auction on Monday 28 Dec is signed by 12 Jan.
    later = bj(2026, 12, 28, 9, 30)
    assert earliest_lease_start(later, 10, WITH_HOLIDAY) == date(2027, 1, 13)
    assert earliest_lease_start(later, 10, PLAIN) == date(2027, 1, 12)
    check(date(2027, 1, 12), later)
    with pytest.raises(RuleViolation):
        check(date(2027, 1, 12), later, WITH_HOLIDAY)
    # The auction's day is Beijing's: 23:30 UTC on Sunday 13 Dec is Monday there.
    assert earliest_lease_start(datetime(2026, 12, 13, 23, 30, tzinfo=UTC), 10, PLAIN) == date(
        2026, 12, 29
    )


@given(
    hours=st.integers(min_value=0, max_value=24 * 400),
    days=st.integers(min_value=1, max_value=60),
)
def test_the_earliest_start_is_after_the_deadline_drafting_counts(hours: int, days: int) -> None:
    """The earliest start is the day after a deadline that is a working day, exactly `days`
    working days after the auction's date in Beijing (as contracts.drafting counts it)."""
    auction = MONDAY + timedelta(hours=hours)
    day = (auction + timedelta(hours=8)).date()
    earliest = earliest_lease_start(auction, days, WITH_HOLIDAY)
    deadline = earliest - timedelta(days=1)
    assert deadline == WITH_HOLIDAY.add_working_days(day, days)
    assert WITH_HOLIDAY.working_days_between(day, deadline) == days
    assert WITH_HOLIDAY.is_working_day(deadline)
