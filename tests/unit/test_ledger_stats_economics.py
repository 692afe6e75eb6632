"""The statistics' closed-form economics equal the contract schedule's, to the fen."""

from __future__ import annotations

from datetime import date
from fractions import Fraction
from typing import Any

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from listings import economics as contract_economics
from listings.economics import lease_end
from listings.schemas import Terms
from oversight.facts import economics, median_rate, premium_key


@st.composite
def terms_and_prices(draw: st.DrawFn) -> tuple[dict[str, Any], int, int]:
    unit = draw(st.sampled_from(["per_year", "per_mu_year", "per_month"]))
    years = draw(st.integers(1, 30))
    terms: dict[str, Any] = {
        "price_unit": unit,
        "term_years": years,
        "payment": draw(
            st.sampled_from(["annual", "semiannual", "quarterly", "monthly", "lump_sum"])
        ),
        "term_months": draw(st.integers(0, 11)),
        "rent_free_months": draw(st.integers(0, min(120, years * 12 - 1))),  # as Terms allow
    }
    if unit == "per_mu_year" or draw(st.booleans()):
        whole = draw(st.integers(1, 5000))
        frac = draw(st.sampled_from(["", ".5", ".25", ".3333", ".07"]))
        terms["area"] = f"{whole}{frac}"
    if draw(st.booleans()):
        terms["escalation"] = {
            "every_years": draw(st.integers(1, 5)),
            "percent": draw(st.sampled_from([5, 3, "2.5", "0.75", 10])),
            "kind": draw(st.sampled_from(["compound", "simple"])),
        }
    listing = draw(st.integers(1, 10**9))
    final = listing + draw(st.integers(0, 10**9))
    return terms, listing, final


def as_terms(terms: dict[str, Any]) -> Terms:
    """The listing terms with these economics (the prices are given to the functions)."""
    return msgspec.convert(
        {**terms, "listing_price_fen": 1, "increment_fen": 1, "deposit_fen": 0}, Terms
    )


def reference(terms: dict[str, Any], listing: int, final: int) -> tuple[int, ...]:
    area = Fraction(terms["area"]) if terms.get("area") else None
    escalation = None
    if terms.get("escalation"):
        e = terms["escalation"]
        escalation = contract_economics.Escalation(
            e["every_years"], Fraction(e["percent"]), compound=e["kind"] == "compound"
        )
    args = (
        terms["price_unit"],
        area,
        terms["term_years"],
        terms["payment"],
        escalation,
        terms["rent_free_months"],
    )
    months = terms["term_months"]
    income = contract_economics.income(listing, final, *args, term_months=months)
    listing_total = contract_economics.contract_value_fen(
        contract_economics.rent_schedule(listing, *args, term_months=months)
    )
    return (
        listing_total,
        income.contract_value_fen,
        income.premium_per_year_fen,
        income.premium_over_term_fen,
        income.contract_value_fen,
    )


@settings(max_examples=150, deadline=None)
@given(terms_and_prices())
def test_closed_form_equals_the_rent_schedule(case: tuple[dict[str, Any], int, int]) -> None:
    terms, listing, final = case
    got = economics(as_terms(terms), listing, final)
    assert (
        got.listing_total_fen,
        got.deal_total_fen,
        got.premium_per_year_fen,
        got.premium_over_term_fen,
        got.contract_value_fen,
    ) == reference(terms, listing, final)


def test_the_reference_case() -> None:
    terms = as_terms({"price_unit": "per_year", "term_years": 10, "payment": "annual"})
    got = economics(terms, 1_200_000, 2_400_000)
    assert (
        got.listing_total_fen,
        got.deal_total_fen,
        got.premium_over_term_fen,
        got.premium_per_year_fen,
    ) == (12_000_000, 24_000_000, 12_000_000, 1_200_000)
    assert economics(terms, 1_200_000, None).deal_total_fen == 0


@given(
    st.lists(
        st.tuples(st.integers(1, 2**53 - 1), st.integers(0, 2**53 - 1)), min_size=2, max_size=2
    )
)
def test_premium_key_sorts_exactly_like_the_rate(pairs: list[tuple[int, int]]) -> None:
    (l1, f1), (l2, f2) = pairs
    r1, r2 = Fraction(f1, l1), Fraction(f2, l2)
    k1, k2 = premium_key(l1, f1), premium_key(l2, f2)
    assert len(k1) == len(k2)
    assert (k1 < k2) == (r1 < r2) and (k1 == k2) == (r1 == r2)


def test_median_and_dates() -> None:
    assert median_rate([(1, 2)]) == Fraction(1, 2)
    assert median_rate([(1, 2), (1, 1)]) == Fraction(3, 4)
    # A lease's last day, as its contract says: the day before the term's end, months too.
    assert lease_end(date(2024, 2, 29), 1) == date(2025, 2, 27)
    assert lease_end(date(2027, 2, 1), 10) == date(2037, 1, 31)
    assert lease_end(date(2027, 2, 1), 5, 6) == date(2032, 7, 31)
