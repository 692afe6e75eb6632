"""Due work of the exchange run by every worker: each job is safe to run concurrently.

Registration close takes the listing row lock and re-checks its state, so when several
workers find the same due listing, exactly one closes it and the others see nothing to do.
State lives in the database, so a restarted worker simply finds what is due.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from core import settings as exchange_settings
from core.web import Services
from listings import registration as reg

log = logging.getLogger("ruralx.scheduler")

Job = Callable[[Services], Awaitable[None]]


async def close_due_registrations(svc: Services) -> None:
    now = svc.now()
    async with svc.db.read() as session:
        due = await reg.due_closings(session, now)
    for listing_id in due:
        async with svc.db.write() as session:
            settings = await exchange_settings.load(session)
            closing = await reg.close_registration(session, listing_id, settings, now)
        if closing is not None:
            log.info("listing %s: registration closed → %s", listing_id, closing.outcome.value)


JOBS: list[Job] = [close_due_registrations]


async def run(svc: Services, jobs: list[Job], stop: asyncio.Event) -> None:
    """Run every job each interval until stopped; one failing job does not stop the others."""
    interval = svc.config.scheduler_interval_ms / 1000
    while not stop.is_set():
        for job in jobs:
            try:
                await job(svc)
            except Exception:
                log.exception("scheduled job %s failed; retrying next tick", job.__name__)
        try:
            await asyncio.wait_for(stop.wait(), timeout=interval)
        except TimeoutError:
            pass
