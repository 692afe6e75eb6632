"""Server time (the only clock), China local dates and the working-day calendar."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

CHINA_TZ = ZoneInfo("Asia/Shanghai")

_ONE_DAY = timedelta(days=1)


class Clock(Protocol):
    """Source of the current time; always a timezone-aware UTC datetime."""

    def now(self) -> datetime: ...


def _require_aware(dt: datetime) -> datetime:
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"naive datetime not allowed: {dt!r}")
    return dt.astimezone(UTC)


class SystemClock:
    """The wall clock. Everything else takes a Clock so tests can control time."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FakeClock:
    """A clock that only moves when told to; for tests and replays."""

    def __init__(self, start: datetime) -> None:
        self._now = _require_aware(start)

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta | int) -> None:
        """Move forward by a timedelta or a number of seconds; use set() to go back."""
        step = delta if isinstance(delta, timedelta) else timedelta(seconds=delta)
        if step < timedelta(0):
            raise ValueError("FakeClock.advance() only moves forward")
        self._now += step

    def set(self, dt: datetime) -> None:
        self._now = _require_aware(dt)


def local_date(dt: datetime) -> date:
    """The calendar date of an aware datetime in China (Asia/Shanghai)."""
    return _require_aware(dt).astimezone(CHINA_TZ).date()


class WorkingDayCalendar:
    """Working days: Mon–Fri, minus public holidays, plus makeup working weekends (调休).

    The holiday lists change every year (State Council notice), so they are exchange
    settings rather than constants.
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
