"""The income board's figures (pure): sums of rent due, received, waived and in arrears,
added up from villages to towns and counties; a lease's year and yearly rent on a day.

A rent item counts once it has fallen due (its due date on or before the day): due is its
amount (a waived item: only what it had received before the waiver), received is the deposit
credit plus the payments (`credited_fen + paid_fen`), arrears is what an open item still owes
after its due date (`contracts.receivables.owed`: overdue from the day after).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction

from core.money import format_percent
from listings import economics
from listings.schemas import Terms


@dataclass(slots=True)
class Sums:
    """Rent in fen over some items."""

    due_fen: int = 0
    received_fen: int = 0
    arrears_fen: int = 0
    waived_fen: int = 0

    def add(self, other: Sums) -> None:
        self.due_fen += other.due_fen
        self.received_fen += other.received_fen
        self.arrears_fen += other.arrears_fen
        self.waived_fen += other.waived_fen

    def collection_rate(self) -> str | None:
        """Received ÷ due, "97.50" (half-up), or None when nothing has fallen due."""
        if self.due_fen <= 0:
            return None
        return format_percent(Fraction(self.received_fen, self.due_fen))


@dataclass(slots=True)
class Tally:
    """One village's (or a rollup's) figures: leases in force, sums by year (every year with
    an item due) and by month of the current year (1–12)."""

    leases_in_force: int = 0
    years: dict[int, Sums] = field(default_factory=dict)
    months: dict[int, Sums] = field(default_factory=dict)

    def add(self, other: Tally) -> None:
        self.leases_in_force += other.leases_in_force
        for mine, theirs in ((self.years, other.years), (self.months, other.months)):
            for key, sums in theirs.items():
                mine.setdefault(key, Sums()).add(sums)

    def total(self) -> Sums:
        out = Sums()
        for sums in self.years.values():
            out.add(sums)
        return out


def rollup(tallies: dict[str, Tally], parent_of: dict[str, str]) -> dict[str, Tally]:
    """The sums of the children's tallies per parent (villages → towns, towns → counties)."""
    out: dict[str, Tally] = {}
    for child, tally in tallies.items():
        out.setdefault(parent_of[child], Tally()).add(tally)
    return out


def parent(path: str) -> str:
    """The region a region lies in, by its path: a village's town, a town's county."""
    return path.rsplit("/", 1)[0]


def lease_year(start: date, today: date) -> int:
    """The 1-based lease year `today` falls in (year 1 from `start`; 1 before the start)."""
    years = today.year - start.year - ((today.month, today.day) < (start.month, start.day))
    return max(years, 0) + 1


def yearly_rents(terms: Terms, final_fen: int) -> tuple[int, ...]:
    """The rent of each lease year at the final price, as the contract states it (with the
    escalation; a last part-year counts as a year)."""
    years = (economics.lease_months(terms.term_years, terms.term_months) + 11) // 12
    base = economics.annual_rent_fen(final_fen, terms.price_unit, terms.area_fraction())
    return economics.yearly_rents(base, years, economics.escalation_of(terms))


def rent_in_year(rents: tuple[int, ...], year: int) -> int:
    """The yearly rent of lease `year`, the last year's after the term."""
    return rents[min(max(year, 1), len(rents)) - 1]
