"""A delivery worker in its own process, for the crash test (test_notice_crash.py).

    python -m tests.integration.notice_worker DB_URL RECORD NOW CRASH_AFTER POISON

Delivers due notices at server time NOW until none is due, through an adapter that appends
each notice id to RECORD (flushed to disk before it returns) and kills its own process with
SIGKILL, mid-batch, right after recording its CRASH_AFTER-th delivery (0: never) or any
delivery of notice POISON (0: none).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from datetime import datetime, timedelta

from core.db import Database
from core.notices import Outgoing, Policy, deliver_due

POLICY = Policy(batch=10, lease=timedelta(seconds=60))


class Recording:
    def __init__(self, path: str, crash_after: int, poison: int) -> None:
        self.path, self.crash_after, self.poison = path, crash_after, poison
        self.count = 0

    async def deliver(self, notice: Outgoing) -> None:
        with open(self.path, "a", encoding="utf-8") as out:
            out.write(f"{notice.id} {notice.attempt}\n")
            out.flush()
            os.fsync(out.fileno())
        self.count += 1
        if self.count == self.crash_after or notice.id == self.poison:
            os.kill(os.getpid(), signal.SIGKILL)


async def main(url: str, record: str, now: datetime, crash_after: int, poison: int) -> None:
    db = Database(url)
    adapter = Recording(record, crash_after, poison)
    try:
        while True:
            report = await deliver_due(db, adapter, lambda: now, POLICY)
            if report.delivered + report.retrying + report.failed == 0:
                break
    finally:
        await db.dispose()


if __name__ == "__main__":
    url, record, now, crash_after, poison = sys.argv[1:6]
    asyncio.run(main(url, record, datetime.fromisoformat(now), int(crash_after), int(poison)))
