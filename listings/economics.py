"""Lease economics: exact rent schedules, premium rate and collective income, in integer fen."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Final, Literal, get_args

from core.money import apply_percent, format_percent, round_half_up
from core.settings import DepositRule
from listings.schemas import Terms

PriceUnit = Literal["per_year", "per_mu_year", "per_month"]
Payment = Literal["annual", "semiannual", "monthly", "lump_sum"]

PRICE_UNITS: Final[frozenset[str]] = frozenset(get_args(PriceUnit))
PAYMENTS: Final[frozenset[str]] = frozenset(get_args(Payment))

# Months covered by one installment; lump_sum covers the whole term (resolved per call).
_PERIOD_MONTHS: Final[dict[str, int]] = {"annual": 12, "semiannual": 6, "monthly": 1}


@dataclass(frozen=True, slots=True)
class Escalation:
    """Compound rent rise: +percent % every `every_years` years (year 1 pays the base)."""

    every_years: int
    percent: Fraction

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

    def factor(self, year: int) -> Fraction:
        """Multiplier applied to the base annual rent in 1-based lease `year`."""
        steps = (year - 1) // self.every_years
        return (1 + self.percent / 100) ** steps


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


def monthly_rents(
    price_fen: int,
    price_unit: PriceUnit,
    area: Fraction | None,
    term_years: int,
    escalation: Escalation | None = None,
    rent_free_months: int = 0,
) -> tuple[Fraction, ...]:
    """Exact rent of each month of the term (index 0 is month 1); rent-free months are 0."""
    base = annual_rent_fen(price_fen, price_unit, area)
    _check_int("term_years", term_years)
    if term_years < 1:
        raise ValueError("term_years must be >= 1")
    total_months = term_years * 12
    _check_int("rent_free_months", rent_free_months)
    if not 0 <= rent_free_months <= total_months:
        raise ValueError("rent_free_months must be between 0 and the term in months")
    if escalation is not None and not isinstance(escalation, Escalation):
        raise TypeError("escalation must be an Escalation")
    rents: list[Fraction] = []
    for month in range(1, total_months + 1):
        if month <= rent_free_months:
            rents.append(Fraction(0))
            continue
        year = (month - 1) // 12 + 1
        factor = escalation.factor(year) if escalation is not None else Fraction(1)
        rents.append(base * factor / 12)
    return tuple(rents)


def rent_schedule(
    price_fen: int,
    price_unit: PriceUnit,
    area: Fraction | None,
    term_years: int,
    payment: Payment,
    escalation: Escalation | None = None,
    rent_free_months: int = 0,
) -> tuple[Installment, ...]:
    """Installments over the term; they sum exactly to the rounded exact total rent."""
    if payment not in PAYMENTS:
        raise ValueError(f"unknown payment {payment!r}")
    rents = monthly_rents(price_fen, price_unit, area, term_years, escalation, rent_free_months)
    total_months = len(rents)
    period = total_months if payment == "lump_sum" else _PERIOD_MONTHS[payment]

    installments: list[Installment] = []
    cumulative = Fraction(0)
    # Each amount is a difference of rounded running totals, so rounding never accumulates.
    paid_so_far = 0
    for index, first in enumerate(range(1, total_months + 1, period)):
        last = first + period - 1
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
) -> Income:
    """Income increase of the collective: per year (first-year basis), over the term, total."""
    listing_schedule = rent_schedule(
        listing_price_fen, unit, area, term_years, payment, escalation, rent_free_months
    )
    final_schedule = rent_schedule(
        final_price_fen, unit, area, term_years, payment, escalation, rent_free_months
    )
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
    return Escalation(e.every_years, e.fraction()) if e is not None else None


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
    return rent_schedule(price_fen, *_lease(terms))


def income_of(terms: Terms, listing_price_fen: int, final_price_fen: int) -> Income:
    return income(listing_price_fen, final_price_fen, *_lease(terms))


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
