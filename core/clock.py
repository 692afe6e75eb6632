"""Server time (the only clock) and China local dates (working days: core/workdays.py)."""

from __future__ import annotations

import os
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Protocol
from zoneinfo import ZoneInfo

CHINA_TZ = ZoneInfo("Asia/Shanghai")


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


def iso(moment: datetime | None) -> str | None:
    """A moment as the wire carries it (ISO 8601), or None."""
    return moment.isoformat() if moment is not None else None


def local_date(dt: datetime) -> date:
    """The calendar date of an aware datetime in China (Asia/Shanghai)."""
    return _require_aware(dt).astimezone(CHINA_TZ).date()


def end_of_day(day: date) -> datetime:
    """24:00 of `day` in Beijing time (00:00 of the next day), in UTC: where a period whose
    last day is `day` ends."""
    return datetime.combine(day + timedelta(days=1), datetime.min.time(), CHINA_TZ).astimezone(UTC)


def period_end(moment: datetime) -> tuple[date, str]:
    """The last day of a period that ends at `moment`, and its closing time on that day in
    Beijing time: a period ending at midnight ends at 24:00 of the day before (民法典第二百零三条:
    the last day's end is its 24:00), so 00:00 on the 22nd is ("the 21st", "24:00")."""
    local = _require_aware(moment).astimezone(CHINA_TZ)
    if local.hour == local.minute == local.second == local.microsecond == 0:
        return local.date() - timedelta(days=1), "24:00"
    return local.date(), f"{local:%H:%M}"


def deadline_zh(moment: datetime) -> str:
    """A deadline as every page, notice and document writes it (2026年12月21日24:00); followed
    by 前 it reads "by then". One formatter, so the contract and its pages name the same day."""
    day, closing = period_end(moment)
    return f"{day.year}年{day.month}月{day.day}日{closing}"
