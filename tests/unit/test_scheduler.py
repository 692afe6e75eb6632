"""The scheduler's throttle: a job runs at most once per period of server time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.scheduler import every
from core.clock import FakeClock


async def test_a_throttled_job_runs_once_per_period_of_server_time() -> None:
    clock = FakeClock(datetime(2026, 5, 1, 9, tzinfo=UTC))
    runs: list[datetime] = []

    async def job() -> None:
        runs.append(clock.now())

    throttled = every(timedelta(seconds=2), clock.now, job)
    await throttled()  # the first tick runs it
    clock.advance(timedelta(milliseconds=1999))
    await throttled()  # too soon
    clock.advance(timedelta(milliseconds=1))
    await throttled()  # a full period later
    await throttled()
    assert runs == [datetime(2026, 5, 1, 9, tzinfo=UTC), datetime(2026, 5, 1, 9, 0, 2, tzinfo=UTC)]
