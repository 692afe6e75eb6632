"""Periodic work of the regulator side (sequencing the log, checkpoints, facts, warnings).

Every worker runs each job every scheduler tick; each is safe concurrently:
* `sequence_log` — the sequencer holds the `ledger_tree` row (others skip the tick);
* `follow_log` — reads the sequenced log from its cursor (a row locked SKIP LOCKED, so one
  worker at a time) and refreshes the facts and warnings of the listings it touched. The log
  is a gap-free change feed: indices below the tree size are all committed;
* `scan_warnings` — every few minutes one worker claims the run (same row-lock pattern) and
  re-runs every detector over all listings: time-based warnings (contract deadline, lease
  expiry) and settings changes are caught there.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from core import settings as exchange_settings
from core.clock import Clock
from core.config import Config
from core.db import Database
from core.ledger import keys, sequencer
from core.ledger.models import LedgerEntry
from core.ledger.tables import LedgerTree
from oversight.models import Cursor
from oversight.stats.listing_facts import refresh_facts
from oversight.warnings import scan

log = logging.getLogger("ruralx.oversight")

FEED_BATCH: Final = 1000
SCAN_INTERVAL: Final = timedelta(minutes=10)
#: High-volume entry types that change neither facts nor warnings (auction.ended does).
_IGNORED: Final = frozenset({"auction.bid", "auction.phase"})


@dataclass(frozen=True, slots=True)
class JobContext:
    """What the jobs work with, handed over by the composition root."""

    db: Database
    clock: Clock
    #: The checkpoint signer, loaded when first needed (a tick without the key only logs).
    signer: Callable[[], keys.CheckpointSigner]

    @classmethod
    def of(cls, config: Config, db: Database, clock: Clock) -> JobContext:
        """The context of an exchange: its database and clock, the key in its data dir."""
        return cls(
            db, clock, functools.partial(keys.load_signer, config.data_dir, config.secret_key)
        )

    def now(self) -> datetime:
        return self.clock.now()


async def sequencing_due(session: AsyncSession, now: datetime) -> bool:
    """Entries waiting, or a grown tree whose last checkpoint is a minute old."""
    if (
        await session.scalar(
            select(LedgerEntry.id).where(LedgerEntry.leaf_index.is_(None)).limit(1)
        )
        is not None
    ):
        return True
    size = await session.scalar(select(LedgerTree.size).where(LedgerTree.id == 1)) or 0
    latest = await sequencer.latest_checkpoint(session)
    if latest is None:
        return True
    return size > latest.size and now - latest.created_at >= sequencer.CHECKPOINT_INTERVAL


async def sequence_log(ctx: JobContext) -> None:
    async with ctx.db.read() as session:
        due = await sequencing_due(session, ctx.now())
    if due:
        await sequencer.run(ctx.db, ctx.signer, ctx.now)


async def _cursor(session: AsyncSession, name: str) -> Cursor | None:
    """The job's cursor row, locked; None if another worker holds it."""
    query = select(Cursor).where(Cursor.name == name)
    if await session.scalar(query) is None:
        ins = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        await session.execute(ins(Cursor).values(name=name, position=0).on_conflict_do_nothing())
    return await session.scalar(
        query.with_for_update(skip_locked=True).execution_options(populate_existing=True)
    )


async def follow_log(ctx: JobContext) -> int:
    """Refresh facts and warnings of the listings that newly sequenced entries touched."""
    async with ctx.db.read() as session:
        size = await session.scalar(select(LedgerTree.size).where(LedgerTree.id == 1)) or 0
        position = await session.scalar(select(Cursor.position).where(Cursor.name == "feed"))
    if position is not None and position >= size:
        return 0
    now = ctx.now()
    async with ctx.db.write() as session:
        cursor = await _cursor(session, "feed")
        if cursor is None:
            return 0
        rows = list(
            await session.execute(
                select(LedgerEntry.leaf_index, LedgerEntry.subject, LedgerEntry.type)
                .where(LedgerEntry.leaf_index >= cursor.position, LedgerEntry.leaf_index < size)
                .order_by(LedgerEntry.leaf_index)
                .limit(FEED_BATCH)
            )
        )
        if not rows:
            return 0
        touched = {
            int(subject.split(":", 1)[1])
            for _, subject, type_ in rows
            if subject.startswith("listing:") and type_ not in _IGNORED
        }
        await refresh_facts(session, touched, now)
        settings = await exchange_settings.load(session)
        found = await scan.detect(session, settings, now, touched)
        await scan.store(session, found.findings, now)
        cursor.position = int(rows[-1][0] or 0) + 1  # leaf_index is set on the entries read
        return len(rows)


async def scan_warnings(ctx: JobContext, *, force: bool = False) -> int | None:
    """Every SCAN_INTERVAL, one worker re-runs all detectors over all listings."""
    now = ctx.now()
    if not force:  # a cheap read first: the writer (SQLite's only one) only when due
        async with ctx.db.read() as session:
            last = await session.scalar(select(Cursor.run_at).where(Cursor.name == "scan"))
        if last is not None and now - last < SCAN_INTERVAL:
            return None
    async with ctx.db.write() as session:
        cursor = await _cursor(session, "scan")
        if cursor is None or (
            not force and cursor.run_at is not None and now - cursor.run_at < SCAN_INTERVAL
        ):
            return None
        cursor.run_at = now  # claimed: the others skip until the next interval
    async with ctx.db.read() as session:
        settings = await exchange_settings.load(session)
        found = await scan.detect(session, settings, now)
    async with ctx.db.write() as session:
        return await scan.store(session, found.findings, now)


async def run_all(ctx: JobContext) -> None:
    """Everything at once (tests, the demo, `ruralx ledger audit` preparation)."""
    await sequence_log(ctx)
    while await follow_log(ctx):
        pass
    await scan_warnings(ctx, force=True)
    await sequence_log(ctx)  # the warnings just ledgered


#: Each job is run every scheduler tick by every worker; it must be safe to run concurrently.
JOBS: list[Callable[[JobContext], Awaitable[object]]] = [sequence_log, follow_log, scan_warnings]
