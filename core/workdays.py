"""Working days in China and periods counted in them.

Working days are Monday to Friday, minus the public holidays, plus the weekend days worked
instead (调休). The State Council publishes each year's arrangement in November; the years
published so far ship with the exchange (`core/holidays/cn-YYYY.toml`), later years are entered
by administrators (`ExchangeSettings.holidays` / `makeup_workdays`, docs/domain.md §9).

A period of N working days follows the Civil Code (民法典 arts. 201, 203): it is counted from
the day after the event that starts it, and ends at 24:00 of its last day — or at the close of
business where the exchange keeps business hours.
"""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Iterable, Mapping
from datetime import date, datetime, time, timedelta
from pathlib import Path

import msgspec

from core.clock import CHINA_TZ, local_date

_ONE_DAY = timedelta(days=1)
#: The published arrangements shipped with the exchange, one file per year.
HOLIDAY_FILES = Path(__file__).with_name("holidays")


class WorkingDayCalendar:
    """Working days: Mon–Fri, minus public holidays, plus makeup working weekends (调休).

    The published years come from `published_calendar`; this class knows only the dates it
    is given, so the pure rules are tested with any calendar.
    """

    def __init__(self, holidays: Iterable[date] = (), makeup_workdays: Iterable[date] = ()) -> None:
        self.holidays = frozenset(holidays)
        self.makeup_workdays = frozenset(makeup_workdays)
        # Catch data-entry mistakes in the settings early; each would be silently ignored.
        if both := self.holidays & self.makeup_workdays:
            raise ValueError(f"dates both holiday and makeup workday: {sorted(both)}")
        if weekdays := {d for d in self.makeup_workdays if d.weekday() < 5}:
            raise ValueError(f"makeup workdays must fall on a weekend: {sorted(weekdays)}")

    def is_working_day(self, d: date) -> bool:
        if d in self.holidays:
            return False
        return d in self.makeup_workdays or d.weekday() < 5

    def add_working_days(self, start: date, n: int) -> date:
        """The date that is n (≥ 0) working days after start; start itself for n = 0."""
        if n < 0:
            raise ValueError("n must be >= 0")
        d = start
        while n:
            d += _ONE_DAY
            if self.is_working_day(d):
                n -= 1
        return d

    def working_days_between(self, start: date, end: date) -> int:
        """Number of working days d with start < d <= end (0 if end <= start)."""
        count = 0
        d = start + _ONE_DAY
        while d <= end:
            if self.is_working_day(d):
                count += 1
            d += _ONE_DAY
        return count

    def to_dict(self) -> dict[str, list[str]]:
        return {
            "holidays": sorted(d.isoformat() for d in self.holidays),
            "makeup_workdays": sorted(d.isoformat() for d in self.makeup_workdays),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Iterable[str]]) -> WorkingDayCalendar:
        return cls(
            holidays=(date.fromisoformat(s) for s in data.get("holidays", ())),
            makeup_workdays=(date.fromisoformat(s) for s in data.get("makeup_workdays", ())),
        )


class Festival(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    #: The first and the last day off, inclusive.
    off: tuple[date, date]
    makeup_workdays: list[date]


class PublishedYear(msgspec.Struct, forbid_unknown_fields=True):
    """One year's arrangement as the State Council's notice states it."""

    year: int
    notice: str
    festival: list[Festival]

    def holidays(self) -> set[date]:
        days = set()
        for f in self.festival:
            first, last = f.off
            days |= {first + timedelta(days=i) for i in range((last - first).days + 1)}
        return days

    def makeup_workdays(self) -> set[date]:
        return {d for f in self.festival for d in f.makeup_workdays}


@functools.cache
def published_years() -> tuple[PublishedYear, ...]:
    """The shipped arrangements, oldest first (read once per process)."""
    years = []
    for path in sorted(HOLIDAY_FILES.glob("cn-*.toml")):
        year = msgspec.convert(tomllib.loads(path.read_text("utf-8")), PublishedYear)
        every = year.holidays() | year.makeup_workdays()
        if any(d.year != year.year for d in every):
            raise ValueError(f"{path.name}: a date outside {year.year}")
        years.append(year)
    return tuple(years)


def published_calendar(
    holidays: Iterable[date] = (), makeup_workdays: Iterable[date] = ()
) -> WorkingDayCalendar:
    """The shipped years' arrangements with the dates an administrator added (later years)."""
    days_off, worked = set(holidays), set(makeup_workdays)
    for year in published_years():
        days_off |= year.holidays()
        worked |= year.makeup_workdays()
    return WorkingDayCalendar(days_off, worked)


def period_end(
    start: datetime,
    working_days: int,
    calendar: WorkingDayCalendar,
    *,
    day_ends: time | None = None,
) -> datetime:
    """When a period of `working_days` begun at `start` ends (民法典 arts. 201, 203): counted
    from the next day, it ends at 24:00 of its last working day, or at `day_ends` of that day
    where the exchange keeps business hours. A period of 0 days ends when it begins."""
    if working_days == 0:
        return start
    last = calendar.add_working_days(local_date(start), working_days)
    if day_ends is None:
        return datetime.combine(last + _ONE_DAY, time(0), CHINA_TZ)
    return datetime.combine(last, day_ends, CHINA_TZ)


def deadline_day(moment: datetime) -> date:
    """The day a deadline falls on, in Beijing: 00:00 is 24:00 of the day before."""
    local = moment.astimezone(CHINA_TZ)
    return local.date() - _ONE_DAY if local.time() == time(0) else local.date()
