"""A rent item's status on a day (contracts.receivables.owed): docs/domain.md §7."""

from __future__ import annotations

from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from contracts.models import RentItem
from contracts.receivables import Status, arrears_level, owed
from contracts.rent import outstanding, refusal

DUE = date(2027, 2, 1)


def status(state: str = "open", *, credited: int = 0, paid: int = 0, today: date = DUE) -> tuple:
    o = owed(
        state=state,
        due=DUE,
        amount_fen=2_400_000,
        credited_fen=credited,
        paid_fen=paid,
        today=today,
    )
    return o.status, o.outstanding_fen, o.days_overdue


def test_an_open_item_is_due_partly_paid_paid_or_overdue_by_the_day() -> None:
    assert status() == (Status.NOT_DUE, 2_400_000, 0)
    # The winner's deposit of 2,000 yuan pays part of the first year's 24,000.
    assert status(credited=200_000) == (Status.PARTLY_PAID, 2_200_000, 0)
    assert status(credited=200_000, paid=2_200_000) == (Status.PAID, 0, 0)
    # Due on 1 February: late from the 2nd, 30 days late on 3 March.
    assert status(today=date(2027, 2, 2)) == (Status.OVERDUE, 2_400_000, 1)
    assert status(paid=1_000_000, today=date(2027, 3, 3)) == (Status.OVERDUE, 1_400_000, 30)
    # Paid early, before it is due.
    assert status(paid=2_400_000, today=date(2026, 12, 1)) == (Status.PAID, 0, 0)


def test_pending_waived_and_void_items_owe_nothing_now() -> None:
    assert status("pending", credited=200_000) == (Status.PENDING, 2_200_000, 0)
    assert status("waived", today=date(2027, 9, 1)) == (Status.WAIVED, 0, 0)
    assert status("void", today=date(2027, 9, 1)) == (Status.VOID, 0, 0)


@given(
    credited=st.integers(0, 2_400_000),
    paid=st.integers(0, 3_000_000),
    days=st.integers(-400, 400),
)
def test_outstanding_never_goes_below_zero_and_late_means_owing(
    credited: int, paid: int, days: int
) -> None:
    today = date.fromordinal(DUE.toordinal() + days)
    s, outstanding, late = status(credited=credited, paid=paid, today=today)
    assert outstanding == max(2_400_000 - credited - paid, 0)
    assert (s is Status.OVERDUE) == (outstanding > 0 and days > 0)
    assert late == (days if s is Status.OVERDUE else 0)


def test_arrears_turn_yellow_then_red_at_the_thresholds() -> None:
    assert [arrears_level(d, 30, 90) for d in (0, 29, 30, 89, 90, 400)] == [
        None,
        None,
        "yellow",
        "yellow",
        "red",
        "red",
    ]


@given(st.integers(0, 2000), st.integers(1, 365), st.integers(1, 365))
def test_red_is_never_earlier_than_yellow(days: int, yellow: int, extra: int) -> None:
    level = arrears_level(days, yellow, yellow + extra)
    assert (level is not None) == (days >= yellow)
    assert (level == "red") == (days >= yellow + extra)


def item(state: str = "open", paid: int = 0) -> RentItem:
    return RentItem(state=state, amount_fen=2_400_000, credited_fen=200_000, paid_fen=paid)


def test_an_item_takes_money_while_open_and_up_to_what_it_owes() -> None:
    assert outstanding(item(paid=1_000_000)) == 1_200_000
    assert refusal(item(paid=1_000_000), 1_200_000) is None
    assert refusal(item(paid=1_000_000), 1_200_001) == "rent.overpaid"
    assert refusal(None, 1) == "rent.unknown_reference"
    for state in ("pending", "paid", "waived", "settled", "void"):
        assert refusal(item(state), 1) == "rent.not_open"
