"""The pure parts of statistics from rollups: a period split into whole months and days, the
premium-rate bins, and where a group's middle deals are from its bin counts."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from oversight import facts
from oversight.stats import period
from oversight.stats.medians import middle

DAYS = st.dates(date(2023, 11, 1), date(2025, 3, 31))
BUCKETS = st.integers(0, facts.MAX_BUCKET) | st.integers(95_000, 260_000)


@settings(deadline=None)
@given(st.none() | DAYS, st.none() | DAYS)
def test_every_day_of_a_period_is_in_a_whole_month_or_a_day_range_once(
    low: date | None, high: date | None
) -> None:
    if low and high and low > high:
        low, high = high, low
    split = period.split(low, high)
    day = date(2023, 10, 1)
    while day <= date(2025, 4, 30):
        inside = (low is None or day >= low) and (high is None or day <= high)
        month = period.month_of(day)
        in_months = split.months is not None and (
            (split.months[0] is None or month >= split.months[0])
            and (split.months[1] is None or month <= split.months[1])
        )
        in_days = sum(1 for first, last in split.days if first <= day <= last)
        assert int(in_months) + in_days == int(inside), (low, high, day, split)
        day += timedelta(days=1)


def test_a_period_inside_one_month_is_read_by_day() -> None:
    assert period.split(date(2024, 2, 3), date(2024, 2, 28)) == period.Split(
        None, ((date(2024, 2, 3), date(2024, 2, 28)),)
    )
    assert period.split(date(2024, 2, 1), date(2024, 2, 29)).months == (202402, 202402)
    assert period.split(None, None) == period.Split((None, None), ())


@given(BUCKETS)
def test_a_bucket_lies_in_its_bin(bucket: int) -> None:
    index = facts.premium_bin(bucket)
    low, high = facts.premium_bin_range(index)
    assert 0 <= index < facts.PREMIUM_BINS
    assert low <= bucket < high


@given(st.lists(BUCKETS, min_size=1, max_size=40))
def test_the_middle_ranks_point_at_the_middle_deals(buckets: list[int]) -> None:
    ordered = sorted(buckets)
    bins = [0] * facts.PREMIUM_BINS
    for bucket in ordered:
        bins[facts.premium_bin(bucket)] += 1
    found = middle(bins)
    inside = [b for b in ordered if found.low <= b < found.high]
    n = len(ordered)
    assert inside[found.first - 1] == ordered[(n - 1) // 2]
    assert inside[found.last - 1] == ordered[n // 2]
    assert found.last - found.first == (n + 1) % 2
