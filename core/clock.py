"""Server time (the only clock), China local dates and the working-day calendar."""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
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


class ControlledClock:
    """Test-only: the wall clock shifted and sped up as a control file says.

    End-to-end tests run real server processes (several workers, one file) and must not wait
    out registration windows or countdowns in real time. The file holds three integers,
    `wall_ns virtual_ns rate`: from the wall instant `wall_ns` on, server time runs from
    `virtual_ns` at `rate` times the wall clock. A missing file means the plain wall clock.
    The file is read at every look at the time (it is a few bytes, and only tests use this),
    so a write takes effect at once in every worker. A production configuration refuses it
    (`core.config.Config`); docs/testing.md §3.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def now(self) -> datetime:
        return self.now_at(time.time_ns())

    def now_at(self, wall_ns: int) -> datetime:
        """Server time at the wall instant `wall_ns` (nanoseconds since the epoch)."""
        try:
            wall0, virtual0, rate = (int(x) for x in self.path.read_text().split())
        except FileNotFoundError:
            return _from_ns(wall_ns)
        if rate < 1:
            raise ValueError(f"{self.path}: rate must be a positive integer")
        return _from_ns(virtual0 + (wall_ns - wall0) * rate)

    @staticmethod
    def write(path: str | Path, virtual: datetime, *, wall_ns: int, rate: int = 1) -> None:
        """From the wall instant `wall_ns` on, server time is `virtual`, running at `rate`;
        written atomically, so every reader sees the old or the new setting, whole."""
        path = Path(path)
        tmp = path.with_name(path.name + ".new")
        tmp.write_text(f"{wall_ns} {_to_ns(virtual)} {rate}\n")
        os.replace(tmp, path)


def _to_ns(dt: datetime) -> int:
    delta = _require_aware(dt) - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000


def _from_ns(ns: int) -> datetime:
    return _EPOCH + timedelta(microseconds=ns // 1000)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


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
