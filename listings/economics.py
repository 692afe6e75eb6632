"""Lease economics: exact rent schedules, premium rate and collective income, in integer fen."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction
from typing import Final, Literal, get_args

from core.money import apply_percent, format_percent, round_half_up
from core.settings import DepositRule
from listings.schemas import Terms

PriceUnit = Literal["per_year", "per_mu_year", "per_month"]
Payment = Literal["annual", "semiannual", "quarterly", "monthly", "lump_sum"]

PRICE_UNITS: Final[frozenset[str]] = frozenset(get_args(PriceUnit))
PAYMENTS: Final[frozenset[str]] = frozenset(get_args(Payment))

# Months covered by one installment; lump_sum covers the whole term (resolved per call).
_PERIOD_MONTHS: Final[dict[str, int]] = {
    "annual": 12,
    "semiannual": 6,
    "quarterly": 3,
    "monthly": 1,
}


@dataclass(frozen=True, slots=True)
class Escalation:
    """Rent rise of `percent` % every `every_years` years (year 1 pays the base). Compound:
    on the previous period's annual rent (在上一期年租金基础上递增); simple: by the same
    amount each time, `percent` % of the first year's rent (在首年租金基础上递增)."""

    every_years: int
    percent: Fraction
    compound: bool = True

    def __post_init__(self) -> None:
        _check_int("every_years", self.every_years)
        if self.every_years < 1:
            raise ValueError("escalation.every_years must be >= 1")
        if isinstance(self.percent, bool) or not isinstance(self.percent, Fraction | int):
            raise TypeError("escalation.percent must be a Fraction (never a float)")
        # An int percent is accepted from callers and normalised so equality stays exact.
        object.__setattr__(self, "percent", Fraction(self.percent))
        if self.percent < 0:
            raise ValueError("escalation.percent must be >= 0")

    def rises_in(self, year: int) -> bool:
        """Whether the rent rises at the start of 1-based lease `year`."""
        return year > 1 and (year - 1) % self.every_years == 0


@dataclass(frozen=True, slots=True)
class Installment:
    """One rent payment: when it is due and which months of the term it pays for."""

    number: int  # 1-based
    due_month: int  # 0-based month offset from the lease start
    months: tuple[int, int]  # first..last month covered, 1-based inclusive
    amount_fen: int


@dataclass(frozen=True, slots=True)
class Income:
    """The collective's income increase in the three forms sources report."""

    premium_per_year_fen: int
    premium_over_term_fen: int
    contract_value_fen: int


def annual_rent_fen(price_fen: int, price_unit: PriceUnit, area: Fraction | None) -> Fraction:
    """Exact base annual rent in fen for a price quoted in `price_unit`."""
    _check_int("price_fen", price_fen)
    if price_fen < 0:
        raise ValueError("price_fen must be >= 0")
    if price_unit == "per_year":
        return Fraction(price_fen)
    if price_unit == "per_month":
        return Fraction(price_fen * 12)
    if price_unit == "per_mu_year":
        if area is None:
            raise ValueError("area (mu) is required for per_mu_year prices")
        if isinstance(area, bool) or not isinstance(area, Fraction | int):
            raise TypeError("area must be a Fraction (never a float)")
        if area <= 0:
            raise ValueError("area must be > 0")
        return price_fen * Fraction(area)
    raise ValueError(f"unknown price_unit {price_unit!r}")


def yearly_rents(
    base_annual: Fraction, years: int, escalation: Escalation | None = None
) -> tuple[int, ...]:
    """The annual rent of each lease year in whole fen, as the contract states them: the first
    year's is the base rounded half-up; a rise is applied to the previous year's rounded rent
    (compound) or adds the same share of the first year's (simple), rounded again."""
    first = round_half_up(base_annual)
    rents = [first]
    for year in range(2, years + 1):
        rent = rents[-1]
        if escalation is not None and escalation.rises_in(year):
            if escalation.compound:
                rent = round_half_up(rent * (1 + escalation.percent / 100))
            else:
                rent = round_half_up(rent + first * escalation.percent / 100)
        rents.append(rent)
    return tuple(rents)


def lease_months(term_years: int, term_months: int = 0) -> int:
    _check_int("term_years", term_years)
    _check_int("term_months", term_months)
    if term_years < 0 or not 0 <= term_months <= 11 or term_years * 12 + term_months < 12:
        raise ValueError("a lease runs at least one year; term_months is 0 to 11")
    return term_years * 12 + term_months


def add_months(d: date, months: int) -> date:
    month0 = d.month - 1 + months
    year, month = d.year + month0 // 12, month0 % 12 + 1
    return date(year, month, 1) if d.day == 1 else _clamped(year, month, d.day)


def _clamped(year: int, month: int, day: int) -> date:
    while True:
        try:
            return date(year, month, day)
        except ValueError:
            day -= 1


def lease_end(start: date, term_years: int, term_months: int = 0) -> date:
    """The lease's last day, as the contract states it: the day before the term's end."""
    return add_months(start, lease_months(term_years, term_months)) - timedelta(days=1)


def monthly_rents(
    price_fen: int,
    price_unit: PriceUnit,
    area: Fraction | None,
    term_years: int,
    escalation: Escalation | None = None,
    rent_free_months: int = 0,
    *,
    term_months: int = 0,
) -> tuple[Fraction, ...]:
    """Exact rent of each month of the term (index 0 is month 1): a twelfth of its lease
    year's rent (`yearly_rents`); rent-free months are 0. A last part-year (`term_months`)
    pays its months at that year's rate."""
    total_months = lease_months(term_years, term_months)
    _check_int("rent_free_months", rent_free_months)
    if not 0 <= rent_free_months <= total_months:
        raise ValueError("rent_free_months must be between 0 and the term in months")
    if escalation is not None and not isinstance(escalation, Escalation):
        raise TypeError("escalation must be an Escalation")
    years = (total_months + 11) // 12
    per_year = yearly_rents(annual_rent_fen(price_fen, price_unit, area), years, escalation)
    return tuple(
        Fraction(0) if month <= rent_free_months else Fraction(per_year[(month - 1) // 12], 12)
        for month in range(1, total_months + 1)
    )


def rent_schedule(
    price_fen: int,
    price_unit: PriceUnit,
    area: Fraction | None,
    term_years: int,
    payment: Payment,
    escalation: Escalation | None = None,
    rent_free_months: int = 0,
    *,
    term_months: int = 0,
) -> tuple[Installment, ...]:
    """Installments over the term; they sum exactly to the rent of every month paid. Within
    a year each amount is a difference of rounded running totals, so splitting an annual rent
    into halves, quarters or months never loses or adds a fen."""
    if payment not in PAYMENTS:
        raise ValueError(f"unknown payment {payment!r}")
    rents = monthly_rents(
        price_fen,
        price_unit,
        area,
        term_years,
        escalation,
        rent_free_months,
        term_months=term_months,
    )
    total_months = len(rents)
    period = total_months if payment == "lump_sum" else _PERIOD_MONTHS[payment]

    installments: list[Installment] = []
    cumulative = Fraction(0)
    paid_so_far = 0
    for index, first in enumerate(range(1, total_months + 1, period)):
        last = min(first + period - 1, total_months)
        cumulative += sum(rents[first - 1 : last], Fraction(0))
        rounded = round_half_up(cumulative)
        installments.append(
            Installment(
                number=index + 1,
                due_month=first - 1,
                months=(first, last),
                amount_fen=rounded - paid_so_far,
            )
        )
        paid_so_far = rounded
    return tuple(installments)


def contract_value_fen(schedule: Sequence[Installment]) -> int:
    """Total rent over the term: the sum of the schedule's installments."""
    return sum(item.amount_fen for item in schedule)


def premium_rate(listing_fen: int, final_fen: int) -> Fraction:
    """Exact premium rate (final − listing) / listing; 1 means 100 %."""
    _check_int("listing_fen", listing_fen)
    _check_int("final_fen", final_fen)
    if listing_fen <= 0:
        raise ValueError("listing_fen must be > 0 to compute a premium rate")
    return Fraction(final_fen - listing_fen, listing_fen)


def income(
    listing_price_fen: int,
    final_price_fen: int,
    unit: PriceUnit,
    area: Fraction | None,
    term_years: int,
    payment: Payment,
    escalation: Escalation | None = None,
    rent_free_months: int = 0,
    *,
    term_months: int = 0,
) -> Income:
    """Income increase of the collective: per year (first-year basis), over the term, total."""
    lease = (unit, area, term_years, payment, escalation, rent_free_months)
    listing_schedule = rent_schedule(listing_price_fen, *lease, term_months=term_months)
    final_schedule = rent_schedule(final_price_fen, *lease, term_months=term_months)
    final_value = contract_value_fen(final_schedule)
    per_year = annual_rent_fen(final_price_fen, unit, area) - annual_rent_fen(
        listing_price_fen, unit, area
    )
    return Income(
        premium_per_year_fen=round_half_up(per_year),
        premium_over_term_fen=final_value - contract_value_fen(listing_schedule),
        contract_value_fen=final_value,
    )


# ----- the same, read from a listing's terms ------------------------------------------------


def escalation_of(terms: Terms) -> Escalation | None:
    e = terms.escalation
    if e is None:
        return None
    return Escalation(e.every_years, e.fraction(), compound=e.kind == "compound")


def _lease(terms: Terms) -> tuple[PriceUnit, Fraction | None, int, Payment, Escalation | None, int]:
    """The terms as the functions above take them, after the price(s)."""
    return (
        terms.price_unit,
        terms.area_fraction(),
        terms.term_years,
        terms.payment,
        escalation_of(terms),
        terms.rent_free_months,
    )


def schedule_of(terms: Terms, price_fen: int) -> tuple[Installment, ...]:
    """The rent schedule of these terms at a price (the listing price, or the final one)."""
    return rent_schedule(price_fen, *_lease(terms), term_months=terms.term_months)


def income_of(terms: Terms, listing_price_fen: int, final_price_fen: int) -> Income:
    return income(listing_price_fen, final_price_fen, *_lease(terms), term_months=terms.term_months)


def deposit_by_rule(rule: DepositRule, terms: Terms) -> int:
    """The deposit the exchange's rule gives for these terms when the entrustment names none:
    a fixed sum, or a share of the listing total over the term (at the listing price)."""
    if rule.kind == "fixed":
        return rule.fixed_fen
    total = contract_value_fen(schedule_of(terms, terms.listing_price_fen))
    return apply_percent(total, Fraction(rule.basis_points, 100))


def format_rate_percent(rate: Fraction) -> str:
    """A rate as a percentage with two decimals, half-up: Fraction(1) -> "100.00"."""
    if isinstance(rate, bool) or not isinstance(rate, Fraction | int):
        raise TypeError("rate must be a Fraction (never a float)")
    return format_percent(Fraction(rate), 2)


def _check_int(name: str, value: object) -> None:
    # bool is an int subclass and float sneaks in from JSON; both are caller bugs here.
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int")
