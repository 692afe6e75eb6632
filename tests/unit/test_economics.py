"""Specification of lease economics: schedules, premium rate and collective income."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from fractions import Fraction

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.settings import DepositRule
from listings.economics import (
    Escalation,
    Income,
    Installment,
    Payment,
    PriceUnit,
    annual_rent_fen,
    contract_value_fen,
    deposit_by_rule,
    format_rate_percent,
    income,
    monthly_rents,
    premium_rate,
    rent_schedule,
    schedule_of,
    yearly_rents,
)
from listings.schemas import Terms

# --- the reference case: Xingtian village, 12,000 -> 24,000 yuan/year, 10 years, annual ---

LISTING_FEN = 1_200_000
FINAL_FEN = 2_400_000


def test_reference_case_premium_rate_is_exactly_one_hundred_percent() -> None:
    rate = premium_rate(LISTING_FEN, FINAL_FEN)
    assert rate == Fraction(1)
    assert format_rate_percent(rate) == "100.00"


def test_reference_case_income_in_its_three_forms() -> None:
    result = income(LISTING_FEN, FINAL_FEN, "per_year", None, 10, "annual", None, 0)
    assert result == Income(
        premium_per_year_fen=1_200_000,
        premium_over_term_fen=12_000_000,  # 120,000.00 yuan, as reported
        contract_value_fen=24_000_000,  # 240,000.00 yuan
    )


def test_reference_case_schedule_is_ten_equal_annual_installments() -> None:
    schedule = rent_schedule(FINAL_FEN, "per_year", None, 10, "annual")
    assert schedule == tuple(
        Installment(
            number=i + 1, due_month=12 * i, months=(12 * i + 1, 12 * i + 12), amount_fen=2_400_000
        )
        for i in range(10)
    )
    assert contract_value_fen(schedule) == 24_000_000


# --- rent units ---


def test_annual_rent_per_year_is_the_price() -> None:
    assert annual_rent_fen(1_200_000, "per_year", None) == 1_200_000


def test_annual_rent_per_month_is_twelve_months() -> None:
    assert annual_rent_fen(100_000, "per_month", None) == 1_200_000


def test_annual_rent_per_mu_year_multiplies_by_area_exactly() -> None:
    assert annual_rent_fen(33_333, "per_mu_year", Fraction("12.5")) == Fraction(833_325, 2)


def test_per_mu_year_needs_a_positive_area() -> None:
    with pytest.raises(ValueError):
        annual_rent_fen(80_000, "per_mu_year", None)
    with pytest.raises(ValueError):
        annual_rent_fen(80_000, "per_mu_year", Fraction(0))


def test_floats_are_refused() -> None:
    with pytest.raises(TypeError):
        annual_rent_fen(1.5, "per_year", None)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        annual_rent_fen(80_000, "per_mu_year", 12.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Escalation(every_years=3, percent=5.0)  # type: ignore[arg-type]


def test_unknown_unit_or_payment_is_refused() -> None:
    with pytest.raises(ValueError):
        annual_rent_fen(1, "per_week", None)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        rent_schedule(1, "per_year", None, 1, "weekly")  # type: ignore[arg-type]


# --- schedules with awkward amounts: rounding never drifts ---


def test_semiannual_split_of_an_odd_annual_rent_alternates_and_sums_exactly() -> None:
    # 1,000,001 fen/yr: half a year is 500,000.5 fen; running totals round half-up.
    schedule = rent_schedule(1_000_001, "per_year", None, 2, "semiannual")
    assert [i.amount_fen for i in schedule] == [500_001, 500_000, 500_001, 500_000]
    assert [i.due_month for i in schedule] == [0, 6, 12, 18]
    assert [i.months for i in schedule] == [(1, 6), (7, 12), (13, 18), (19, 24)]
    assert contract_value_fen(schedule) == 2 * 1_000_001


def test_monthly_split_of_an_odd_annual_rent_sums_exactly_over_ten_years() -> None:
    schedule = rent_schedule(1_000_001, "per_year", None, 10, "monthly")
    assert len(schedule) == 120
    # 1,000,001 / 12 = 83,333.41666...: each month pays 83,333 or 83,334.
    assert {i.amount_fen for i in schedule} == {83_333, 83_334}
    assert schedule[0].amount_fen == 83_333
    assert schedule[0].due_month == 0 and schedule[-1].due_month == 119
    assert schedule[-1].months == (120, 120)
    assert contract_value_fen(schedule) == 10 * 1_000_001


def test_per_mu_year_with_a_half_mu_area_states_each_years_rent_in_whole_fen() -> None:
    # 33,333 fen/mu/yr × 12.5 mu = 416,662.5 fen/yr: the contract states 4,166.63 yuan a year.
    schedule = rent_schedule(33_333, "per_mu_year", Fraction("12.5"), 5, "annual")
    assert [i.amount_fen for i in schedule] == [416_663] * 5
    assert contract_value_fen(schedule) == 2_083_315


def test_per_mu_year_with_a_round_price() -> None:
    # 800 yuan/mu/yr on 12.5 mu is 10,000 yuan/yr.
    schedule = rent_schedule(80_000, "per_mu_year", Fraction("12.5"), 3, "annual")
    assert [i.amount_fen for i in schedule] == [1_000_000] * 3


def test_per_month_price_paid_annually() -> None:
    schedule = rent_schedule(100_000, "per_month", None, 2, "annual")
    assert [i.amount_fen for i in schedule] == [1_200_000, 1_200_000]


def test_lump_sum_is_one_installment_due_at_the_start_covering_the_whole_term() -> None:
    schedule = rent_schedule(1_000_001, "per_year", None, 3, "lump_sum")
    assert schedule == (Installment(number=1, due_month=0, months=(1, 36), amount_fen=3_000_003),)


# --- escalation and rent-free months ---


def test_compound_escalation_rounds_each_year_on_the_previous_years_rounded_rent() -> None:
    # Issue 17: 13,345.67 yuan/year, +3.5 % every year, "在上一期年租金基础上递增": each year's
    # rent is the previous year's (in whole fen) × 1.035, rounded half-up to the fen.
    rents = yearly_rents(Fraction(1_334_567), 8, Escalation(1, Fraction("3.5")))
    assert rents[2] == 1_429_622  # year 3: 14,296.22 (the running total gave 14,296.21)
    assert rents[7] == 1_697_943  # year 8: 16,979.43 (the running total gave 16,979.41)
    assert rents[:3] == (1_334_567, 1_381_277, 1_429_622)
    schedule = rent_schedule(
        1_334_567, "per_year", None, 8, "annual", Escalation(1, Fraction("3.5"))
    )
    assert [i.amount_fen for i in schedule] == list(rents)


def test_simple_escalation_adds_the_same_share_of_the_first_years_rent() -> None:
    # 12,000 yuan, +5 % of the first year's every 3 years: 12,000, 12,600, 13,200, 13,800.
    simple = Escalation(every_years=3, percent=Fraction(5), compound=False)
    rents = yearly_rents(Fraction(1_200_000), 10, simple)
    assert rents == (1_200_000,) * 3 + (1_260_000,) * 3 + (1_320_000,) * 3 + (1_380_000,)
    # 13,345.67 +3.5 % simple: each rise adds 467.10 (467.09845 rounded), year 3 = 14,279.87.
    assert yearly_rents(Fraction(1_334_567), 3, Escalation(1, Fraction("3.5"), False))[2] == (
        1_334_567 + 2 * 46_710
    )


def test_quarterly_payments_split_each_years_rent_in_four() -> None:
    # 10,000.01 yuan a year: quarters of 250,000.25 fen, running totals keep every fen.
    schedule = rent_schedule(1_000_001, "per_year", None, 2, "quarterly")
    assert [i.months for i in schedule[:2]] == [(1, 3), (4, 6)]
    assert [i.due_month for i in schedule] == [0, 3, 6, 9, 12, 15, 18, 21]
    assert [i.amount_fen for i in schedule[:4]] == [250_000, 250_001, 250_000, 250_000]
    assert contract_value_fen(schedule) == 2 * 1_000_001


def test_a_term_in_years_and_months_pays_its_last_part_year_at_that_years_rent() -> None:
    # 5 years 6 months at 12,000 yuan +10 % every 5 years: year 6 is 13,200 a year, half of it
    # for its six months; paid annually, the last installment covers months 61-66.
    rise = Escalation(every_years=5, percent=Fraction(10))
    schedule = rent_schedule(1_200_000, "per_year", None, 5, "annual", rise, term_months=6)
    assert [i.months for i in schedule][-2:] == [(49, 60), (61, 66)]
    assert [i.amount_fen for i in schedule] == [1_200_000] * 5 + [660_000]
    assert contract_value_fen(schedule) == 6_660_000
    assert len(rent_schedule(1_200_000, "per_year", None, 5, "quarterly", term_months=6)) == 22
    with pytest.raises(ValueError):
        rent_schedule(1_200_000, "per_year", None, 5, "annual", term_months=12)


def test_escalation_five_percent_every_three_years_compounds() -> None:
    # Base 12,000 yuan/yr, +5 % every 3 years, 10 years, computed by hand:
    #   years 1-3: 1,200,000          (×1)
    #   years 4-6: 1,260,000          (×1.05)
    #   years 7-9: 1,323,000          (×1.05²)
    #   year 10:   1,389,150          (×1.05³)
    # total = 3×1,200,000 + 3×1,260,000 + 3×1,323,000 + 1,389,150 = 12,738,150
    escalation = Escalation(every_years=3, percent=Fraction(5))
    schedule = rent_schedule(1_200_000, "per_year", None, 10, "annual", escalation)
    assert [i.amount_fen for i in schedule] == (
        [1_200_000] * 3 + [1_260_000] * 3 + [1_323_000] * 3 + [1_389_150]
    )
    assert contract_value_fen(schedule) == 12_738_150


def test_escalation_applies_to_both_sides_of_the_income_increase() -> None:
    escalation = Escalation(every_years=3, percent=Fraction(5))
    result = income(LISTING_FEN, FINAL_FEN, "per_year", None, 10, "annual", escalation, 0)
    # The final price is exactly twice the listing, so every figure doubles.
    assert result.contract_value_fen == 2 * 12_738_150
    assert result.premium_over_term_fen == 12_738_150
    assert result.premium_per_year_fen == 1_200_000  # first-year basis


def test_escalation_accepts_an_int_percent_and_rejects_nonsense() -> None:
    assert Escalation(every_years=5, percent=5) == Escalation(5, Fraction(5))  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Escalation(every_years=0, percent=Fraction(5))
    with pytest.raises(ValueError):
        Escalation(every_years=3, percent=Fraction(-1))


def test_rent_free_months_reduce_the_first_annual_installment() -> None:
    # 1,200,000 fen/yr = 100,000 fen/month; months 1-3 free.
    schedule = rent_schedule(1_200_000, "per_year", None, 10, "annual", None, 3)
    assert schedule[0].amount_fen == 900_000
    assert schedule[0].due_month == 0
    assert [i.amount_fen for i in schedule[1:]] == [1_200_000] * 9
    assert contract_value_fen(schedule) == 11_700_000


def test_rent_free_months_keep_the_installment_count_with_zero_amounts() -> None:
    schedule = rent_schedule(1_200_000, "per_year", None, 1, "monthly", None, 3)
    assert len(schedule) == 12
    assert [i.amount_fen for i in schedule[:4]] == [0, 0, 0, 100_000]


def test_rent_free_months_cannot_exceed_the_term() -> None:
    with pytest.raises(ValueError):
        rent_schedule(1_200_000, "per_year", None, 1, "annual", None, 13)
    with pytest.raises(ValueError):
        rent_schedule(1_200_000, "per_year", None, 1, "annual", None, -1)


def test_term_must_be_at_least_one_year() -> None:
    with pytest.raises(ValueError):
        rent_schedule(1_200_000, "per_year", None, 0, "annual")


# --- premium rate and its display ---


def test_premium_rate_needs_a_positive_listing_price() -> None:
    with pytest.raises(ValueError):
        premium_rate(0, 100)


def test_premium_rate_keeps_the_exact_fraction() -> None:
    assert premium_rate(3, 4) == Fraction(1, 3)
    assert format_rate_percent(Fraction(1, 3)) == "33.33"


@pytest.mark.parametrize(
    ("rate", "shown"),
    [
        (Fraction(0), "0.00"),
        (Fraction(1), "100.00"),
        (Fraction(2, 3), "66.67"),
        (Fraction(1, 800), "0.13"),  # 0.125 % rounds half up
        (Fraction(1, 8000), "0.01"),  # 0.0125 % -> 0.01
        (Fraction(1, 40000), "0.00"),  # 0.0025 % -> 0.00
        (Fraction(-1, 800), "-0.13"),  # ties go away from zero
        (Fraction(25, 2), "1250.00"),
    ],
)
def test_format_rate_percent_rounds_half_up_to_two_decimals(rate: Fraction, shown: str) -> None:
    assert format_rate_percent(rate) == shown


# --- invariants ---

price_units: st.SearchStrategy[PriceUnit] = st.sampled_from(
    ["per_year", "per_mu_year", "per_month"]
)
payments: st.SearchStrategy[Payment] = st.sampled_from(
    ["annual", "semiannual", "quarterly", "monthly", "lump_sum"]
)
areas = st.fractions(min_value=Fraction(1, 100), max_value=Fraction(10_000), max_denominator=100)
escalations = st.none() | st.builds(
    Escalation,
    every_years=st.integers(1, 10),
    percent=st.fractions(min_value=0, max_value=20, max_denominator=100),
    compound=st.booleans(),
)
#: Months an installment covers, by payment frequency (lump_sum: the whole term).
PERIOD_MONTHS: dict[Payment, int] = {"annual": 12, "semiannual": 6, "quarterly": 3, "monthly": 1}


@dataclass(frozen=True)
class Lease:
    """Every term of a lease except the price, which the properties vary."""

    price_unit: PriceUnit
    area: Fraction
    term_years: int
    payment: Payment
    escalation: Escalation | None
    rent_free_months: int
    term_months: int = 0

    def schedule(self, price_fen: int) -> tuple[Installment, ...]:
        return rent_schedule(
            price_fen,
            self.price_unit,
            self.area,
            self.term_years,
            self.payment,
            self.escalation,
            self.rent_free_months,
            term_months=self.term_months,
        )

    def exact_total(self, price_fen: int) -> Fraction:
        rents = monthly_rents(
            price_fen,
            self.price_unit,
            self.area,
            self.term_years,
            self.escalation,
            self.rent_free_months,
            term_months=self.term_months,
        )
        return sum(rents, Fraction(0))

    def income(self, listing_fen: int, final_fen: int) -> Income:
        return income(
            listing_fen,
            final_fen,
            self.price_unit,
            self.area,
            self.term_years,
            self.payment,
            self.escalation,
            self.rent_free_months,
            term_months=self.term_months,
        )


@st.composite
def leases(draw: st.DrawFn) -> Lease:
    term_years = draw(st.integers(1, 30))
    return Lease(
        price_unit=draw(price_units),
        area=draw(areas),
        term_years=term_years,
        payment=draw(payments),
        escalation=draw(escalations),
        rent_free_months=draw(st.integers(0, min(24, term_years * 12))),
        term_months=draw(st.integers(0, 11)),
    )


prices = st.integers(0, 10**10)


def _round_half_up(x: Fraction) -> int:
    return math.floor(x + Fraction(1, 2))  # totals here are never negative


@given(prices, leases())
def test_schedule_total_is_the_rounded_exact_total(price_fen: int, lease: Lease) -> None:
    total = contract_value_fen(lease.schedule(price_fen))
    assert total == _round_half_up(lease.exact_total(price_fen))


@given(prices, leases())
def test_every_installment_is_non_negative(price_fen: int, lease: Lease) -> None:
    assert all(i.amount_fen >= 0 for i in lease.schedule(price_fen))


@given(prices, leases())
def test_installments_match_the_payment_frequency_and_tile_the_term(
    price_fen: int, lease: Lease
) -> None:
    schedule = lease.schedule(price_fen)
    months = 12 * lease.term_years + lease.term_months
    period = PERIOD_MONTHS.get(lease.payment, months)  # lump_sum: one
    expected = -(-months // period)
    assert len(schedule) == expected
    assert [i.number for i in schedule] == list(range(1, expected + 1))
    # Consecutive, gap-free coverage of months 1..term, each due when its period starts.
    assert schedule[0].months[0] == 1
    assert schedule[-1].months[1] == months
    for before, after in itertools.pairwise(schedule):
        assert after.months[0] == before.months[1] + 1
    assert all(i.due_month == i.months[0] - 1 for i in schedule)


@given(st.integers(1, 10**10), leases())
def test_no_premium_when_the_final_price_equals_the_listing(price_fen: int, lease: Lease) -> None:
    result = lease.income(price_fen, price_fen)
    assert result.premium_over_term_fen == 0
    assert result.premium_per_year_fen == 0
    assert result.contract_value_fen == contract_value_fen(lease.schedule(price_fen))


@given(prices, st.integers(0, 10**8), leases())
def test_contract_value_is_monotonic_in_price(low_fen: int, extra_fen: int, lease: Lease) -> None:
    low = contract_value_fen(lease.schedule(low_fen))
    high = contract_value_fen(lease.schedule(low_fen + extra_fen))
    assert low <= high


@given(st.integers(1, 10**10), st.integers(0, 10**10))
def test_premium_rate_round_trips_the_final_price(listing_fen: int, final_fen: int) -> None:
    assert listing_fen * (1 + premium_rate(listing_fen, final_fen)) == final_fen


# --- the deposit the exchange's rule gives when the entrustment names none ---------------


def _terms(**changes: object) -> Terms:
    base = {
        "listing_price_fen": 1_200_000,
        "term_years": 10,
        "increment_fen": 50_000,
        "deposit_fen": 0,
    }
    return msgspec.convert({**base, **changes}, Terms)


def test_deposit_by_rule_is_a_share_of_the_total_over_the_term() -> None:
    # 12,000 yuan a year for 10 years is 120,000 yuan; 5 % of it is 6,000 yuan.
    assert deposit_by_rule(DepositRule(), _terms()) == 600_000
    # A rise every 3 years by 10 %: the total is that of the schedule, not price × years.
    rising = _terms(escalation={"every_years": 3, "percent": 10})
    total = contract_value_fen(schedule_of(rising, 1_200_000))
    assert total > 12_000_000
    assert deposit_by_rule(DepositRule(basis_points=1_000), rising) == _round_half_up(
        Fraction(total, 10)
    )


def test_deposit_by_rule_rounds_half_up_to_the_fen() -> None:
    # 0.05 % of 1,234,567 fen × 1 year = 617.2835 fen → 617; 1.5 % of 33 fen → 0.495 → 0.
    one_year = _terms(listing_price_fen=1_234_567, term_years=1)
    assert deposit_by_rule(DepositRule(basis_points=5), one_year) == 617
    assert (
        deposit_by_rule(DepositRule(basis_points=150), _terms(listing_price_fen=33, term_years=1))
        == 0
    )


def test_a_fixed_deposit_rule_ignores_the_terms() -> None:
    rule = DepositRule(kind="fixed", fixed_fen=300_000)
    assert deposit_by_rule(rule, _terms()) == 300_000
    assert deposit_by_rule(rule, _terms(listing_price_fen=1, term_years=70)) == 300_000
