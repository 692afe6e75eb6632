"""The waits after failed passwords (core/accounts/throttle.py)."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from core.accounts.throttle import Budget


@given(st.integers(0, 20), st.integers(0, 10_000))
def test_waits_are_free_then_doubling_then_capped(free: int, failures: int) -> None:
    budget = Budget(free)
    delay = budget.delay(failures)
    if failures <= free:
        assert delay is None
        return
    assert delay is not None and timedelta(seconds=2) <= delay <= timedelta(minutes=5)
    following = budget.delay(failures + 1)
    assert following is not None and following >= delay
    assert following == min(2 * delay, timedelta(minutes=5))
