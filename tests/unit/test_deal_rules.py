"""The deal after the hammer (contracts.deal_rules, auction.deal.runner_up, listings.rules.
refund_due): docs/domain.md §6, with the dates worked out by hand."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from auction.deal import runner_up
from auction.models import DEAL_KINDS
from contracts.content import DEAL_KINDS_ZH
from contracts.deal_rules import (
    TRANSITIONS,
    DealAction,
    DealState,
    after_void,
    check_default,
    check_objection,
    may_confirm,
    publicity_end,
    transition,
)
from core.clock import CHINA_TZ
from core.errors import Conflict, RuleViolation
from core.workdays import WorkingDayCalendar, published_calendar
from listings.rules import refund_due

D, A = DealState, DealAction
PUBLISHED = published_calendar()


def bj(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=CHINA_TZ)


def test_the_deal_moves_only_as_specified() -> None:
    assert TRANSITIONS == {
        (D.PUBLICITY, A.CONFIRM): D.CONFIRMED,
        (D.PUBLICITY, A.VOID): D.VOIDED,
        (D.CONFIRMED, A.VOID): D.VOIDED,
        (D.VOIDED, A.OFFER): D.OFFERED,
        (D.OFFERED, A.ACCEPT_OFFER): D.PUBLICITY,
        (D.OFFERED, A.DECLINE_OFFER): D.VOIDED,
    }


@given(st.sampled_from(DealState), st.sampled_from(DealAction))
def test_any_other_move_is_a_conflict(state: DealState, action: DealAction) -> None:
    if (state, action) in TRANSITIONS:
        assert transition(state, action) is TRANSITIONS[(state, action)]
        return
    with pytest.raises(Conflict) as caught:
        transition(state, action)
    assert caught.value.code == "deal.illegal_transition"
    assert caught.value.extra == {"state": state.value, "action": action.value}


def test_a_confirmed_deal_is_never_published_again_without_an_offer() -> None:
    """From confirmed the only way back to publicity is void → offer → accept."""
    assert [a for (s, a) in TRANSITIONS if s is D.CONFIRMED] == [A.VOID]


def test_the_publicity_runs_over_the_national_day_holiday() -> None:
    # A deal on Friday 26 Sep 2025: Sun 28 Sep is a make-up working day (1), Mon 29 (2),
    # Tue 30 (3), 1–8 Oct are holidays, Thu 9 Oct (4), Fri 10 Oct (5): ends at 24:00 that day.
    deal = bj(2025, 9, 26, 17, 0)
    assert publicity_end(deal, 5, PUBLISHED, None) == bj(2025, 10, 11)
    # Where the exchange closes at 17:00, the period ends then on its last day.
    assert publicity_end(deal, 5, PUBLISHED, time(17, 0)) == bj(2025, 10, 10, 17, 0)
    # Without a publicity the deal is final when made.
    assert publicity_end(deal, 0, PUBLISHED, None) == deal


def test_a_refund_is_due_as_the_civil_code_counts_days() -> None:
    # Refundable on Saturday 12 Dec 2026: Mon 14 … Fri 18 Dec, due by 24:00 on the 18th.
    assert refund_due(bj(2026, 12, 12, 9, 5), 5, WorkingDayCalendar(), None) == bj(2026, 12, 19)
    # Refundable on Wednesday 31 Dec 2025 10:00: 2026's New Year holiday runs 1–3 January
    # and Sunday 4 January is worked, so the three working days are 4, 5 and 6 January.
    assert refund_due(bj(2025, 12, 31, 10), 3, PUBLISHED, None) == bj(2026, 1, 7)


def test_objections_are_filed_while_the_result_is_published() -> None:
    ends = bj(2026, 12, 19)
    check_objection(D.PUBLICITY, ends - timedelta(microseconds=1), ends)
    for state, now in ((D.PUBLICITY, ends), (D.CONFIRMED, ends - timedelta(days=1))):
        with pytest.raises(RuleViolation) as caught:
            check_objection(state, now, ends)
        assert caught.value.code == "objection.window_closed"


def test_the_deal_is_confirmed_after_the_publicity_with_no_objection_pending() -> None:
    ends = bj(2026, 12, 19)
    assert may_confirm(D.PUBLICITY, ends, ends, 0)
    assert not may_confirm(D.PUBLICITY, ends - timedelta(seconds=1), ends, 0)
    assert not may_confirm(D.PUBLICITY, ends + timedelta(days=30), ends, 1)
    assert not may_confirm(D.OFFERED, ends, ends, 0)


def test_a_default_needs_an_unsigned_contract_and_for_not_signing_a_passed_deadline() -> None:
    deadline = datetime(2026, 12, 31, 16, 0, tzinfo=UTC)
    with pytest.raises(RuleViolation) as caught:
        check_default("drafted", "not_signed", deadline - timedelta(seconds=1), deadline)
    assert caught.value.code == "default.before_deadline"
    check_default("drafted", "not_signed", deadline, deadline)
    check_default("signed_by_village", "withdrew", deadline - timedelta(days=9), deadline)
    for state in ("signed", "certified"):
        with pytest.raises(Conflict) as conflict:
            check_default(state, "withdrew", deadline, deadline)
        assert conflict.value.code == "default.contract_signed"


def test_the_runner_up_is_the_best_other_bidder_at_their_last_bid() -> None:
    # The reference steps: A 12,240, B 12,480, A 12,720 (yuan): A wins, B is the runner-up.
    bids = [("001", 1_224_000), ("002", 1_248_000), ("001", 1_272_000)]
    assert runner_up(bids, "001") == ("002", 1_248_000)
    # A priority holder matches each price and wins: the best other bid is B's 12,480.
    matched = [("001", 1_224_000), ("003", 1_224_000), ("002", 1_248_000), ("003", 1_248_000)]
    assert runner_up(matched, "003") == ("002", 1_248_000)
    # Equal amounts: the earlier bid ranks higher.
    assert runner_up([("001", 100), ("002", 100)], "009") == ("001", 100)
    # Nobody else bid (an agreement, or a lone bidder): no runner-up.
    assert runner_up([("001", 100)], "001") is None
    assert runner_up([], "001") is None


@given(st.lists(st.tuples(st.sampled_from(["001", "002", "003", "004"]), st.integers(1, 10**9))))
def test_the_runner_up_bid_is_the_highest_bid_of_anyone_but_the_winner(
    bids: list[tuple[str, int]],
) -> None:
    found = runner_up(bids, "001")
    others = [amount for number, amount in bids if number != "001"]
    if not others:
        assert found is None
        return
    assert found is not None and found[0] != "001"
    assert found[1] == max(others)
    assert (found[0], found[1]) in bids


def test_a_voided_deal_goes_to_the_runner_up_only_when_the_rule_says_so_and_one_is_there() -> None:
    assert after_void("runner_up", True) == "offer"
    assert after_void("runner_up", False) == "relist"
    assert after_void("relist", True) == "relist"
    assert after_void("relist", False) == "relist"


def test_every_deal_kind_has_words_for_the_documents() -> None:
    """The contract and the certificate name how the deal was made; a runner-up's deal says
    the first was voided, never a raw code."""
    assert set(DEAL_KINDS_ZH) == set(DEAL_KINDS)
    assert "候补竞买人递补成交" in DEAL_KINDS_ZH["runner_up"]
