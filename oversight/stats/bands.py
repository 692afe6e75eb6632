"""The dashboard's buckets (pure): premium-rate bands, the months of a period, a period given
in months, and the collection rate. The SQL in `oversight.stats.dashboard` groups by the
same bands (built from `BANDS`), so a deal falls in one band whichever side computes it."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date
from fractions import Fraction
from typing import Final

from core.errors import InvalidInput


@dataclass(frozen=True, slots=True)
class Band:
    """Deals whose premium rate r lies in (low, high] (percent); `low` None is "below 0" or,
    with `high` 0, exactly 0; `high` None is unbounded above."""

    code: str
    name: str
    low: int | None
    high: int | None


#: Upper bounds are inclusive: exactly 10 % falls in "0–10 %", exactly 100 % in "50–100 %".
BANDS: Final = (
    Band("below", "低于挂牌价", None, None),
    Band("zero", "0 %（按挂牌价）", None, 0),
    Band("0-10", "0–10 %", 0, 10),
    Band("10-50", "10–50 %", 10, 50),
    Band("50-100", "50–100 %", 50, 100),
    Band("100+", "100 % 以上", 100, None),
)
BAND_NAMES_ZH: Final = {b.code: b.name for b in BANDS}
#: The inclusive upper bounds (percent) of the bands above zero, in order.
UPPER_BOUNDS: Final = tuple(b.high for b in BANDS[2:] if b.high is not None)


def band_of(listing_fen: int, final_fen: int) -> str:
    """The band of a deal by its exact premium rate (final − listing) / listing."""
    if listing_fen <= 0:
        raise ValueError("a premium rate needs listing_fen > 0")
    rate = Fraction(final_fen - listing_fen, listing_fen)
    if rate < 0:
        return "below"
    if rate == 0:
        return "zero"
    for band in BANDS[2:]:
        if band.high is None or rate <= Fraction(band.high, 100):
            return band.code
    raise AssertionError("the last band is unbounded")  # pragma: no cover


def months_between(first: int, last: int) -> list[int]:
    """Every month yyyymm from `first` to `last` inclusive (empty when first > last)."""
    out: list[int] = []
    year, month = divmod(first, 100)
    while year * 100 + month <= last:
        out.append(year * 100 + month)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def month_of(day: date) -> int:
    return day.year * 100 + day.month


def month_label(month: int) -> str:
    return f"{month // 100:04d}-{month % 100:02d}"


_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def month_bounds(text: str | None, *, end: bool) -> date | None:
    """A month "YYYY-MM" as its first day (or, with `end`, its last day); blank is None."""
    value = (text or "").strip()
    if not value:
        return None
    found = _MONTH.match(value)
    if not found or not 1 <= int(found.group(2)) <= 12 or int(found.group(1)) < 1:
        raise InvalidInput("stats.month", "月份应写作 年-月，例如 2026-03")
    year, month = int(found.group(1)), int(found.group(2))
    return date(year, month, calendar.monthrange(year, month)[1] if end else 1)


def collection_rate(received_fen: int, due_fen: int) -> Fraction | None:
    """Received ÷ due, exact; None when nothing was due."""
    return Fraction(received_fen, due_fen) if due_fen else None
