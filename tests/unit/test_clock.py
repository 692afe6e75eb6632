"""Tests for core.clock: clocks, China local dates and the working-day calendar."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.clock import (
    CHINA_TZ,
    Clock,
    ControlledClock,
    FakeClock,
    SystemClock,
    local_date,
)
from core.config import Config
from core.workdays import WorkingDayCalendar

T0 = datetime(2026, 9, 30, 16, 0, tzinfo=UTC)  # 2026-10-01 00:00 in Beijing


def test_system_clock_is_aware_utc() -> None:
    clock: Clock = SystemClock()
    now = clock.now()
    assert now.utcoffset() == timedelta(0)
    assert now.tzinfo is UTC


def test_controlled_clock_is_the_wall_clock_until_its_file_says_otherwise(tmp_path: Path) -> None:
    path = tmp_path / "clock"
    clock = ControlledClock(path)
    before = datetime.now(UTC)
    assert before <= clock.now() <= datetime.now(UTC)

    ControlledClock.write(path, T0, wall_ns=time.time_ns())  # a jump (back, to a fixed instant)
    jumped = clock.now()
    assert jumped.tzinfo is UTC
    assert T0 <= jumped < T0 + timedelta(seconds=5)

    ControlledClock.write(path, T0 + timedelta(days=1), wall_ns=time.time_ns(), rate=1000)
    first = clock.now()
    wall = time.monotonic()
    while time.monotonic() - wall < 0.002:
        pass
    elapsed = clock.now() - first
    assert first >= T0 + timedelta(days=1)
    assert elapsed >= timedelta(seconds=2)  # 2 ms of wall time at 1000×

    # Another reader (another worker) sees the same time from the same file (at 1×, so the
    # wall time between the two readings, however loaded the machine, stays small).
    ControlledClock.write(path, T0, wall_ns=time.time_ns())
    other = ControlledClock(path)
    assert abs(other.now() - clock.now()) < timedelta(seconds=1)

    # Counted from the wall instant given: at that instant the time is exactly the one set.
    wall = time.time_ns()
    ControlledClock.write(path, T0, wall_ns=wall)
    assert clock.now_at(wall) == T0
    assert clock.now_at(wall + 1_500_000_000) == T0 + timedelta(seconds=1.5)


def test_two_quick_writes_are_both_seen(tmp_path: Path) -> None:
    path, wall = tmp_path / "clock", time.time_ns()
    clock = ControlledClock(path)
    ControlledClock.write(path, T0, wall_ns=wall)
    assert clock.now_at(wall) == T0
    ControlledClock.write(path, T0 + timedelta(hours=1), wall_ns=wall)
    assert clock.now_at(wall) == T0 + timedelta(hours=1)


def test_controlled_clock_refuses_a_rate_below_one(tmp_path: Path) -> None:
    path = tmp_path / "clock"
    path.write_text(f"{time.time_ns()} 0 0\n")
    with pytest.raises(ValueError, match="rate"):
        ControlledClock(path).now()


def test_a_production_server_refuses_the_test_clock(tmp_path: Path) -> None:
    env = {"RURALX_DATA_DIR": str(tmp_path), "RURALX_TEST_CLOCK_FILE": str(tmp_path / "clock")}
    assert Config.from_env(env).test_clock_file
    with pytest.raises(ValueError, match="production"):
        Config.from_env({**env, "RURALX_PRODUCTION": "1"})


def test_fake_clock_advance_and_set() -> None:
    clock: Clock = FakeClock(T0)
    assert isinstance(clock, FakeClock)
    assert clock.now() == T0
    clock.advance(30)
    assert clock.now() == T0 + timedelta(seconds=30)
    clock.advance(timedelta(minutes=5))
    assert clock.now() == T0 + timedelta(minutes=5, seconds=30)
    clock.set(T0 - timedelta(days=1))  # set() may go back, e.g. to replay a log
    assert clock.now() == T0 - timedelta(days=1)


def test_fake_clock_normalises_to_utc() -> None:
    beijing = datetime(2026, 10, 1, 0, 0, tzinfo=CHINA_TZ)
    clock = FakeClock(beijing)
    assert clock.now() == T0
    assert clock.now().tzinfo is UTC
    clock.set(datetime(2026, 10, 1, 8, 0, tzinfo=timezone(timedelta(hours=8))))
    assert clock.now() == datetime(2026, 10, 1, 0, 0, tzinfo=UTC)
    assert clock.now().tzinfo is UTC


def test_fake_clock_rejects_naive_and_backwards() -> None:
    with pytest.raises(ValueError, match="naive"):
        FakeClock(datetime(2026, 1, 1))
    clock = FakeClock(T0)
    with pytest.raises(ValueError, match="naive"):
        clock.set(datetime(2026, 1, 1))
    with pytest.raises(ValueError):
        clock.advance(-1)
    assert clock.now() == T0


def test_local_date_uses_beijing_time() -> None:
    assert local_date(T0) == date(2026, 10, 1)
    assert local_date(T0 - timedelta(seconds=1)) == date(2026, 9, 30)
    with pytest.raises(ValueError):
        local_date(datetime(2026, 10, 1))


# 2026 arrangement (State Council General Office notice of 2025-11-04): Mid-Autumn 9-25..27 and
# National Day 10-01..07 are rest days; Sunday 9-20 and Saturday 10-10 are makeup workdays.
HOLIDAYS_2026 = [date(2026, 9, 25) + timedelta(days=i) for i in range(3)] + [
    date(2026, 10, 1) + timedelta(days=i) for i in range(7)
]
MAKEUP_2026 = [date(2026, 9, 20), date(2026, 10, 10)]
CAL = WorkingDayCalendar(HOLIDAYS_2026, MAKEUP_2026)


def test_is_working_day_around_national_day() -> None:
    assert CAL.is_working_day(date(2026, 9, 20))  # makeup Sunday
    assert not CAL.is_working_day(date(2026, 9, 25))  # Mid-Autumn Friday
    assert CAL.is_working_day(date(2026, 9, 30))  # Wednesday
    assert not any(CAL.is_working_day(date(2026, 10, d)) for d in range(1, 8))
    assert CAL.is_working_day(date(2026, 10, 8))  # Thursday
    assert CAL.is_working_day(date(2026, 10, 10))  # makeup Saturday
    assert not CAL.is_working_day(date(2026, 10, 11))  # ordinary Sunday
    plain = WorkingDayCalendar()
    assert not plain.is_working_day(date(2026, 10, 10))
    assert plain.is_working_day(date(2026, 10, 1))


def test_add_working_days_over_the_holiday_week() -> None:
    start = date(2026, 9, 29)  # Tuesday
    assert CAL.add_working_days(start, 0) == start
    assert CAL.add_working_days(start, 1) == date(2026, 9, 30)
    assert CAL.add_working_days(start, 2) == date(2026, 10, 8)
    assert CAL.add_working_days(start, 3) == date(2026, 10, 9)
    assert CAL.add_working_days(start, 4) == date(2026, 10, 10)
    assert CAL.add_working_days(start, 5) == date(2026, 10, 12)
    # A 7-working-day notice period announced on the eve of the holiday.
    assert CAL.add_working_days(date(2026, 9, 30), 7) == date(2026, 10, 15)
    # Starting on a rest day counts from the next working day.
    assert CAL.add_working_days(date(2026, 10, 3), 1) == date(2026, 10, 8)
    with pytest.raises(ValueError):
        CAL.add_working_days(start, -1)


def test_working_days_between() -> None:
    assert CAL.working_days_between(date(2026, 9, 30), date(2026, 10, 7)) == 0
    assert CAL.working_days_between(date(2026, 9, 30), date(2026, 10, 8)) == 1
    assert CAL.working_days_between(date(2026, 9, 18), date(2026, 9, 20)) == 1
    assert CAL.working_days_between(date(2026, 9, 29), date(2026, 10, 12)) == 5
    assert CAL.working_days_between(date(2026, 10, 12), date(2026, 9, 29)) == 0
    assert CAL.working_days_between(date(2026, 10, 8), date(2026, 10, 8)) == 0


def test_calendar_rejects_contradictions() -> None:
    with pytest.raises(ValueError):
        WorkingDayCalendar([date(2026, 10, 10)], [date(2026, 10, 10)])
    with pytest.raises(ValueError):
        WorkingDayCalendar(makeup_workdays=[date(2026, 10, 9)])  # a Friday


def test_calendar_dict_round_trip() -> None:
    data = CAL.to_dict()
    assert data["makeup_workdays"] == ["2026-09-20", "2026-10-10"]
    assert data["holidays"][0] == "2026-09-25"
    again = WorkingDayCalendar.from_dict(data)
    assert again.to_dict() == data
    assert again.holidays == CAL.holidays
    assert again.makeup_workdays == CAL.makeup_workdays
    assert WorkingDayCalendar.from_dict({}).to_dict() == {"holidays": [], "makeup_workdays": []}
    with pytest.raises(ValueError):
        WorkingDayCalendar.from_dict({"holidays": ["2026-13-01"]})


days = st.dates(min_value=date(2026, 1, 1), max_value=date(2027, 12, 31))
steps = st.integers(min_value=0, max_value=400)


@given(days, steps)
def test_between_inverts_add(start: date, n: int) -> None:
    # Holds for any start, not only working days: the count is over (start, result].
    assert CAL.working_days_between(start, CAL.add_working_days(start, n)) == n


@given(days, steps, steps)
def test_add_working_days_is_monotonic(start: date, a: int, b: int) -> None:
    lo, hi = sorted((a, b))
    first, second = CAL.add_working_days(start, lo), CAL.add_working_days(start, hi)
    assert first <= second
    if lo < hi:
        assert first < second
    if hi:
        assert CAL.is_working_day(second)
