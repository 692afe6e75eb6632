"""The dashboard's buckets (oversight.stats.bands): premium-rate bands at their exact bounds,
the months of a period, months as dates, the collection rate."""

from __future__ import annotations

import itertools
import re
from datetime import date
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.errors import InvalidInput
from core.money import format_percent
from oversight.stats.bands import (
    BAND_NAMES_ZH,
    BANDS,
    band_of,
    collection_rate,
    month_bounds,
    month_label,
    months_between,
)

ORDER = [b.code for b in BANDS]


@pytest.mark.parametrize(
    ("listing", "final", "band"),
    [
        (1000, 999, "below"),
        (1000, 1000, "zero"),
        (1000, 1001, "0-10"),
        (1000, 1100, "0-10"),  # exactly 10 %: the upper bound is inclusive
        (1000, 1101, "10-50"),
        (1000, 1500, "10-50"),
        (1000, 1501, "50-100"),
        (1000, 2000, "50-100"),  # exactly 100 %, the reference case's rate
        (1000, 2001, "100+"),
        (3, 4, "10-50"),  # 33.33… %
        (30, 33, "0-10"),  # 10 % with a denominator that is no multiple of 100
        (1_200_000, 2_400_000, "50-100"),
        (1_200_000, 1_200_001, "0-10"),  # the smallest premium of all is above zero
        (7, 0, "below"),
    ],
)
def test_bands_at_their_bounds(listing: int, final: int, band: str) -> None:
    assert band_of(listing, final) == band


def test_band_needs_a_listing_price() -> None:
    with pytest.raises(ValueError):
        band_of(0, 10)


def test_every_band_has_a_chinese_name_without_its_code() -> None:
    assert list(BAND_NAMES_ZH) == ORDER
    for name in BAND_NAMES_ZH.values():
        assert not re.search(r"[A-Za-z]", name), name


@given(st.integers(1, 10**9), st.integers(0, 10**10))
def test_a_band_holds_exactly_its_rates(listing: int, final: int) -> None:
    band = next(b for b in BANDS if b.code == band_of(listing, final))
    rate = Fraction(final - listing, listing) * 100
    if band.code == "below":
        assert rate < 0
    elif band.code == "zero":
        assert rate == 0
    else:
        assert band.low is not None and rate > band.low
        assert band.high is None or rate <= band.high


@given(st.integers(1, 10**9), st.integers(0, 10**10), st.integers(0, 10**9))
def test_bands_rise_with_the_price(listing: int, final: int, more: int) -> None:
    assert ORDER.index(band_of(listing, final)) <= ORDER.index(band_of(listing, final + more))


def test_months_between() -> None:
    assert months_between(202511, 202602) == [202511, 202512, 202601, 202602]
    assert months_between(202603, 202603) == [202603]
    assert months_between(202604, 202603) == []
    assert month_label(202601) == "2026-01"


@given(st.integers(2000, 2100), st.integers(1, 12), st.integers(0, 150))
def test_months_between_are_consecutive(year: int, month: int, span: int) -> None:
    first = year * 100 + month
    y, m = divmod(year * 12 + month - 1 + span, 12)
    last = y * 100 + m + 1
    months = months_between(first, last)
    assert len(months) == span + 1 and months[0] == first and months[-1] == last
    for a, b in itertools.pairwise(months):
        assert b - a == 1 or (a % 100 == 12 and b == (a // 100 + 1) * 100 + 1)


def test_month_bounds() -> None:
    assert month_bounds("2026-02", end=False) == date(2026, 2, 1)
    assert month_bounds("2026-02", end=True) == date(2026, 2, 28)
    assert month_bounds("2024-02", end=True) == date(2024, 2, 29)
    assert month_bounds(" 2026-12 ", end=True) == date(2026, 12, 31)
    assert month_bounds("", end=True) is None and month_bounds(None, end=False) is None


@pytest.mark.parametrize("text", ["2026-13", "2026-00", "2026-1", "26-01", "2026/01", "本月"])
def test_month_bounds_refuse_what_is_no_month(text: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        month_bounds(text, end=False)
    assert raised.value.code == "stats.month"


def test_collection_rate_is_exact() -> None:
    assert collection_rate(4_800_000, 8_520_000) == Fraction(40, 71)
    assert format_percent(Fraction(40, 71)) == "56.34"
    assert collection_rate(1, 3) == Fraction(1, 3)
    assert collection_rate(0, 0) is None
    assert collection_rate(5, 5) == 1
