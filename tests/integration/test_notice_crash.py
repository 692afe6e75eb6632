"""The delivery worker killed mid-batch (SIGKILL, in its own process) and restarted: every
notice reaches the adapter at least once and the inbox exactly once, and a notice that kills
its worker every time is given up after the bounded attempts."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from core.accounts import User
from core.notices import Kind, Notice, notify
from core.notices.delivery import MAX_ATTEMPTS
from tests.integration.conftest import Exchange
from tests.integration.notice_worker import POLICY

ROOT = Path(__file__).resolve().parents[2]
NOTICES = 25


def run_worker(url: str, record: Path, now: str, crash_after: int = 0, poison: int = 0) -> int:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.integration.notice_worker",
            url,
            str(record),
            now,
            str(crash_after),
            str(poison),
        ],
        cwd=ROOT,
        capture_output=True,
        timeout=120,
    )
    assert done.returncode in (0, -9), done.stderr.decode()
    return done.returncode


def recorded(record: Path) -> Counter[int]:
    lines = record.read_text().split() if record.exists() else []
    return Counter(int(x) for x in lines[::2])


async def notices_of(exchange: Exchange) -> list[Notice]:
    async with exchange.services.db.read() as session:
        return list(await session.scalars(select(Notice).order_by(Notice.id)))


async def setup(exchange: Exchange, database_url: str) -> None:
    async with exchange.services.db.write() as session:
        me = await session.scalar(select(User.id).where(User.username == "xingtian"))
        assert me is not None
        for i in range(NOTICES):
            await notify(
                session,
                me,
                Kind.QUALIFIED,
                f"通知{i}",
                "正文",
                subject=f"crash:{i}",
                now=exchange.clock.now(),
            )


async def test_killed_mid_batch_every_notice_is_delivered(
    exchange: Exchange, database_url: str, tmp_path: Path
) -> None:
    await setup(exchange, database_url)
    record, now = tmp_path / "delivered.txt", exchange.clock.now()
    # Killed right after the adapter took the 7th notice of the first batch of 10.
    assert run_worker(database_url, record, now.isoformat(), crash_after=7) == -9
    assert sum(recorded(record).values()) == 7
    # Restarted at once: the notices of the killed batch are still leased to it.
    assert run_worker(database_url, record, now.isoformat()) == 0
    assert len(recorded(record)) == NOTICES - 3
    # After the lease, the restarted worker takes the rest, the 7th a second time.
    later = now + POLICY.lease + timedelta(seconds=1)
    assert run_worker(database_url, record, later.isoformat()) == 0

    seen = recorded(record)
    rows = await notices_of(exchange)
    assert len(rows) == NOTICES  # the inbox: exactly once
    assert set(seen) == {n.id for n in rows}  # the adapter: at least once
    assert sorted(seen.values()) == [1] * (NOTICES - 1) + [2]
    assert {n.delivery_state for n in rows} == {"delivered"}
    assert max(n.attempts for n in rows) == 2 and sum(n.attempts for n in rows) == NOTICES + 4


async def test_a_notice_that_kills_its_worker_is_given_up_after_the_bound(
    exchange: Exchange, database_url: str, tmp_path: Path
) -> None:
    await setup(exchange, database_url)
    poison = (await notices_of(exchange))[3].id
    record, now = tmp_path / "delivered.txt", exchange.clock.now()
    for run in range(MAX_ATTEMPTS + 3):
        run_worker(database_url, record, (now + run * POLICY.lease * 2).isoformat(), poison=poison)
    seen = recorded(record)
    rows = {n.id: n for n in await notices_of(exchange)}
    assert seen[poison] == MAX_ATTEMPTS
    assert rows[poison].delivery_state == "failed" and rows[poison].attempts == MAX_ATTEMPTS
    assert rows[poison].last_error
    others = [n for i, n in rows.items() if i != poison]
    assert {n.delivery_state for n in others} == {"delivered"}
    assert all(seen[n.id] >= 1 for n in others) and len(rows) == NOTICES
