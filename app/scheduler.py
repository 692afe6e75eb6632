"""Due work of the exchange, run by every worker: each job is safe to run concurrently.

Registration close and auction transitions take their row lock and re-check the state, so
when several workers find the same due item exactly one acts and the others see nothing to
do. State lives in the database, so a restarted worker simply finds what is due.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from auction import notices as auction_notices
from auction import opening
from auction.deal import DealHook
from contracts import notices as contract_notices
from contracts import publicity, voiding
from core import settings as exchange_settings
from core.notices import Adapter, Policy, deliver_due
from core.web import Services
from listings import closing as registration_close

log = logging.getLogger("ruralx.scheduler")

Job = Callable[[], Awaitable[object]]


async def close_due_registrations(svc: Services, on_deal: list[DealHook] | None = None) -> None:
    now = svc.now()
    async with svc.db.read() as session:
        due = await registration_close.due_closings(session, now)
    for listing_id in due:
        try:
            async with svc.db.write() as session:
                settings = await exchange_settings.load(session)
                closing = await opening.close_registration(
                    session, listing_id, settings, now, on_deal=on_deal or []
                )
            if closing is not None:
                log.info("listing %s: registration closed → %s", listing_id, closing.outcome.value)
        except Exception:  # one listing must not hold up the others
            log.exception("listing %s: closing registration failed; retrying", listing_id)


async def settle_due_deals(svc: Services) -> None:
    """Deals whose result publicity is over are confirmed (and their leases drafted); offers
    to runners-up not answered in time lapse. Each deal is locked and re-checked."""
    now = svc.now()
    await publicity.confirm_due(svc.db, now)
    await voiding.expire_offers(svc.db, now)


async def remind_auctions(svc: Services) -> None:
    """Bidders of auctions starting within 30 minutes are reminded, once (auction.notices)."""
    await auction_notices.remind_due(svc.db, svc.now())


async def remind_rent(svc: Services) -> None:
    """Lessees of rent due within 7 days or overdue are told, once per item and kind."""
    await contract_notices.rent_sweep(svc.db, svc.now())


def delivery(svc: Services, adapter: Adapter, policy: Policy) -> Job:
    """Notices to the external adapter, a batch a tick (core.notices.delivery)."""
    return lambda: deliver_due(svc.db, adapter, svc.now, policy)


def every(period: timedelta, now: Callable[[], datetime], job: Job) -> Job:
    """`job`, run at most once per `period` of server time however often the tick comes."""
    last: datetime | None = None

    async def throttled() -> object:
        nonlocal last
        current = now()
        if last is not None and current - last < period:
            return None
        last = current
        return await job()

    return throttled


async def run(jobs: list[Job], interval_ms: int, stop: asyncio.Event) -> None:
    """Run every job each interval until stopped; one failing job does not stop the others."""
    while not stop.is_set():
        for job in jobs:
            try:
                await job()
            except Exception:
                log.exception("scheduled job failed; retrying next tick")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval_ms / 1000)
