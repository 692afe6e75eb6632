"""Failed attempts at a password, slowed down instead of locked out (docs/security.md §7).

Each key (an account at one client address, an address, a signer) may fail `free` times;
after that every further attempt must wait, twice as long each time, up to a cap. Waiting
never locks the owner out: an attacker's failures from one address delay only that address's
attempts on that account, and the owner signs in from their own. A key quiet for `forget`
starts afresh; a success clears it.

Counts live in the database (table `throttles`), so every worker sees the same ones and N
workers do not allow N times the attempts. Time is the server's clock.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Integer, String
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import Clock
from core.db import Base, Database, UTCDateTime
from core.errors import TooManyRequests


class ThrottleRow(Base):
    __tablename__ = "throttles"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: Before this moment the next attempt is refused (429 with Retry-After); None: free.
    next_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


@dataclass(frozen=True, slots=True)
class Budget:
    free: int
    first_delay: timedelta = timedelta(seconds=2)
    longest_delay: timedelta = timedelta(minutes=5)
    forget: timedelta = timedelta(hours=1)

    def delay(self, failures: int) -> timedelta | None:
        """The wait after the `failures`-th failure, or None within the free attempts."""
        beyond = failures - self.free
        if beyond <= 0:
            return None
        # Doubling from the first delay; the exponent is capped before it can overflow.
        doubled: timedelta = self.first_delay * 2 ** min(beyond - 1, 30)
        return min(doubled, self.longest_delay)


class Throttle:
    def __init__(self, db: Database, clock: Clock, budgets: dict[str, Budget]) -> None:
        self.db, self.clock, self.budgets = db, clock, budgets

    def _budget(self, key: str) -> Budget:
        return self.budgets[key.split(":", 1)[0]]

    async def attempt(self, *keys: str) -> None:
        """Count one attempt against every key before it is made, refusing (429) while any key
        must still wait. Checked and counted under each key's row lock, in one transaction, so
        a burst of parallel attempts cannot all pass one check while the passwords are being
        compared. A success then `cleared` or `forgive`s what it counted."""
        for attempt in range(2):  # a concurrent first attempt may insert a row first
            try:
                await self._attempt(sorted(set(keys)))
                return
            except IntegrityError:
                if attempt:
                    raise

    async def _attempt(self, keys: list[str]) -> None:
        now = self.clock.now()
        async with self.db.write() as session:
            rows = []
            for key in keys:  # sorted: two attempts on overlapping keys lock in one order
                row = await session.get(ThrottleRow, key, with_for_update=True)
                if row is None:
                    row = ThrottleRow(key=key, failures=0, last_at=now, next_at=None)
                    session.add(row)
                elif now - row.last_at > self._budget(key).forget:
                    row.failures, row.next_at = 0, None
                rows.append(row)
            waits = [r.next_at - now for r in rows if r.next_at is not None and r.next_at > now]
            if waits:
                seconds = max(1, math.ceil(max(waits).total_seconds()))
                raise TooManyRequests(  # the transaction rolls back: nothing is counted
                    "rate_limited", f"尝试次数过多，请 {seconds} 秒后再试", retry_after=seconds
                )
            for key, row in zip(keys, rows, strict=True):
                row.failures += 1
                row.last_at = now
                delay = self._budget(key).delay(row.failures)
                row.next_at = now + delay if delay is not None else None

    async def forgive(self, key: str) -> None:
        """Take back one counted attempt that turned out legitimate (a success)."""
        async with self.db.write() as session:
            row = await session.get(ThrottleRow, key, with_for_update=True)
            if row is None:
                return
            row.failures = max(0, row.failures - 1)
            delay = self._budget(key).delay(row.failures)
            row.next_at = row.last_at + delay if delay is not None else None

    async def cleared(self, key: str) -> None:
        async with self.db.write() as session:
            row = await session.get(ThrottleRow, key, with_for_update=True)
            if row is not None:
                await session.delete(row)
