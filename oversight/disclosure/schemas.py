"""The income board on the wire (`GET /api/v1/disclosure`): typed, strict structs."""

from __future__ import annotations

from datetime import date

from oversight.schemas import Out


class YearIncome(Out):
    year: int
    due_fen: int
    received_fen: int
    arrears_fen: int
    waived_fen: int


class MonthIncome(Out):
    #: "2027-03"
    month: str
    due_fen: int
    received_fen: int
    arrears_fen: int
    waived_fen: int


class Income(Out):
    """Rent fallen due up to the board's day (`as_of`), what of it was received, what is in
    arrears; by year, and by month of the current year."""

    leases_in_force: int
    due_fen: int
    received_fen: int
    arrears_fen: int
    waived_fen: int
    #: received ÷ due as a percentage, "97.50"; null when nothing has fallen due.
    collection_rate: str | None
    by_year: list[YearIncome]
    by_month: list[MonthIncome]


class LeaseInForce(Out):
    listing_id: int
    asset: str
    category: str
    category_name: str
    #: The lessee's name masked (core.ids.mask_name); never a phone or an ID number.
    lessee: str
    lease_start: date
    lease_end: date
    term_years: int
    term_months: int
    #: The current lease year (1-based) and its yearly rent (the first year's when the rent
    #: does not rise).
    lease_year: int
    yearly_rent_fen: int
    first_year_rent_fen: int
    #: (final − listing) ÷ listing, "100.00".
    premium_rate: str
    due_fen: int
    received_fen: int
    arrears_fen: int


class RegionIncome(Out):
    path: str
    name: str
    level: str
    income: Income


class VillageBoard(RegionIncome):
    #: The village's leases in force: listed when the board is asked for the village itself
    #: (a notice board per village); null on a town's or county's board.
    leases: list[LeaseInForce] | None


class Disclosure(Out):
    #: The region asked for, with the sums of every village under it.
    region: RegionIncome
    as_of: date
    current_year: int
    villages: list[VillageBoard]
    towns: list[RegionIncome]
    counties: list[RegionIncome]
