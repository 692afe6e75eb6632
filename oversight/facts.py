"""The economics of one listing, as statistics need them: pure, exact, integer fen.

`contract_value_fen` is the closed form of `listings.economics`: the rent schedule's
installments are differences of rounded running totals, so they always add up to the
exact total rent rounded half-up once — Σ over the years of the year's rent × months paid
that year / 12. O(years) instead of O(months) Fractions, which matters when a county's
100,000 listings are recomputed; a property test holds it equal to the schedule.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from fractions import Fraction
from typing import Final

from core.money import round_half_up
from listings.economics import annual_rent_fen, escalation_of, lease_months, yearly_rents
from listings.schemas import Terms

#: floor(final / listing · 10^40): two different rates with denominators below 2^53 differ by
#: more than 10^-32, so this integer orders rates exactly; padded to sort as text.
_KEY_SCALE: Final = 10**40
_KEY_WIDTH: Final = 60
#: The largest premium bucket (`premium_bucket` caps there).
MAX_BUCKET: Final = 2**62
#: The premium-rate bins the statistics' rollups count deals in, by their lower edges as
#: premium buckets (final / listing · 10^5, so 100,000 is no premium): below zero, one point
#: wide to 20 %, five points to 50 %, then 50–60, 60–75, 75–100, 100–150 % and above. Fixed,
#: so the counts of cells add up to the counts of a group.
PREMIUM_BIN_EDGES: Final = (
    *range(100_000, 120_001, 1_000),
    *range(125_000, 150_001, 5_000),
    160_000,
    175_000,
    200_000,
    250_000,
)
PREMIUM_BINS: Final = len(PREMIUM_BIN_EDGES) + 1


@dataclass(frozen=True, slots=True)
class DealEconomics:
    listing_total_fen: int
    deal_total_fen: int
    premium_per_year_fen: int
    premium_over_term_fen: int
    contract_value_fen: int


def exact_total_rent(terms: Terms, price_fen: int) -> Fraction:
    """Exact rent over the whole term at `price_fen`: Σ over the lease years of the year's
    rent (whole fen, `listings.economics.yearly_rents`) × months paid that year / 12, one
    Fraction at the end instead of one per month."""
    months = lease_months(terms.term_years, terms.term_months)
    years = (months + 11) // 12
    base = annual_rent_fen(price_fen, terms.price_unit, terms.area_fraction())
    free = terms.rent_free_months
    twelfths = 0
    for year, rent in enumerate(yearly_rents(base, years, escalation_of(terms)), start=1):
        in_year = min(12, months - 12 * (year - 1))
        paid = in_year - min(in_year, max(0, free - 12 * (year - 1)))
        twelfths += rent * paid
    return Fraction(twelfths, 12)


def contract_value_fen(terms: Terms, price_fen: int) -> int:
    """Total rent over the term at `price_fen`, as the schedule's installments sum to."""
    return round_half_up(exact_total_rent(terms, price_fen))


def economics(terms: Terms, listing_fen: int, final_fen: int | None) -> DealEconomics:
    """Listing total, and with a deal the deal total and the three income increases."""
    listing_total = contract_value_fen(terms, listing_fen)
    if final_fen is None:
        return DealEconomics(listing_total, 0, 0, 0, 0)
    deal_total = contract_value_fen(terms, final_fen)
    area = terms.area_fraction()
    per_year = annual_rent_fen(final_fen, terms.price_unit, area) - annual_rent_fen(
        listing_fen, terms.price_unit, area
    )
    return DealEconomics(
        listing_total, deal_total, round_half_up(per_year), deal_total - listing_total, deal_total
    )


def premium_key(listing_fen: int, final_fen: int) -> str:
    """A text key that sorts exactly like the premium rate (final − listing) / listing."""
    if listing_fen <= 0 or final_fen < 0:
        raise ValueError("premium rate needs listing_fen > 0 and final_fen >= 0")
    return str(final_fen * _KEY_SCALE // listing_fen).zfill(_KEY_WIDTH)


def premium_bucket(listing_fen: int, final_fen: int) -> int:
    """A coarse BIGINT sort key (rate to 10^-5, capped): cheap to sort on; ties go to the key."""
    return min(final_fen * 100_000 // listing_fen, MAX_BUCKET)


def premium_bin(bucket: int) -> int:
    """The bin (0 … PREMIUM_BINS − 1) of a premium bucket."""
    return bisect_right(PREMIUM_BIN_EDGES, bucket)


def premium_bin_range(index: int) -> tuple[int, int]:
    """The premium buckets of a bin: lower edge included, upper edge excluded."""
    low = PREMIUM_BIN_EDGES[index - 1] if index else 0
    high = PREMIUM_BIN_EDGES[index] if index < len(PREMIUM_BIN_EDGES) else MAX_BUCKET + 1
    return low, high


def median_rate(middle: list[tuple[int, int]]) -> Fraction:
    """The median from the one or two middle deals' (final − listing, listing)."""
    rates = [Fraction(num, den) for num, den in middle]
    return sum(rates, Fraction(0)) / len(rates)


def buyer_type(id_type: str | None) -> str | None:
    if id_type is None:
        return None
    return "organisation" if id_type == "uscc" else "individual"
