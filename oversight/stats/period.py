"""A statistic's period in the rollups' terms: the whole months it covers (read from the month
cells) and the days of its partial first and last months (read from the day cells)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta


def month_of(day: date) -> int:
    """yyyymm, as `listing_facts.month` and the rollups keep it."""
    return day.year * 100 + day.month


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


@dataclass(frozen=True, slots=True)
class Split:
    """`months`: the first and last whole month (yyyymm, None = unbounded), or None when the
    period covers no whole month; `days`: closed ranges of days outside those months."""

    months: tuple[int | None, int | None] | None
    days: tuple[tuple[date, date], ...]


def split(date_from: date | None, date_to: date | None) -> Split:
    """Every day of [date_from, date_to] either in a whole month or in one of the day ranges."""
    first = last = None  # the first days of the first and the last whole month
    if date_from is not None:
        first = date_from if date_from.day == 1 else _next_month(date_from)
    if date_to is not None:
        start = date_to.replace(day=1)
        ends_month = (date_to + timedelta(days=1)).day == 1
        last = start if ends_month else (start - timedelta(days=1)).replace(day=1)
    if first is not None and last is not None and first > last:
        assert date_from is not None and date_to is not None
        return Split(None, ((date_from, date_to),))
    days = []
    if date_from is not None and first is not None and date_from < first:
        days.append((date_from, first - timedelta(days=1)))
    if date_to is not None and last is not None and date_to >= _next_month(last):
        days.append((_next_month(last), date_to))
    return Split(
        (month_of(first) if first else None, month_of(last) if last else None), tuple(days)
    )
