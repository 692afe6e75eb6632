"""Regulator statistics over a county of 100,000 listings, against `SELECT count(*)`.

    python -m bench.stats [--listings 100000] [--url postgresql+asyncpg://…]

Without --url a scratch PostgreSQL database is created next to $RURALX_TEST_PG's (default
postgresql://postgres@127.0.0.1:5432/postgres), filled by the demo generator, measured and
dropped. Both figures come from the same run on the same connection: the median of several
timed runs of the statistics (`oversight.stats.compute.statistics`, JSON rows with median and
totals) and of a plain `SELECT count(*) FROM listings`. Prints one line per figure
(docs/performance.md §1) and writes them to var/bench/stats.json, as `make bench` does:

    stats: 41.3 ms (7.90× count(*))
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics as stat
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text

from bench.harness import Figure, report

PG_ADMIN = os.environ.get("RURALX_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
RUNS = 9


async def _timed(run: Callable[[], Awaitable[Any]], runs: int = RUNS) -> float:
    for _ in range(2):
        await run()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        await run()
        samples.append(time.perf_counter() - started)
    return stat.median(samples) * 1000


async def measure(url: str, listings: int, generate: bool) -> list[Figure]:
    from app.migrate import upgrade
    from core.db import Database
    from oversight.demo.generator import populate
    from oversight.stats.compute import statistics
    from oversight.stats.query import StatsQuery

    await asyncio.to_thread(upgrade, url)
    db = Database(url)
    figures = []
    try:
        if generate:
            summary = await populate(db, listings, seed=20261201, now=datetime.now(UTC))
            figures.append(
                Figure(
                    f"demo county of {summary['listings']} listings generated",
                    summary["insert_seconds"],
                    "s",
                    higher_is_better=False,
                    extra={"warnings_seconds": summary["warnings_seconds"]},
                )
            )
        import asyncpg

        # After a bulk load autovacuum would set the visibility map and statistics.
        plain = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
        await plain.execute("VACUUM ANALYZE")
        await plain.close()
        async with db.read() as session:
            count = (await session.execute(text("SELECT count(*) FROM listings"))).scalar_one()

            async def baseline() -> None:
                await session.execute(text("SELECT count(*) FROM listings"))

            base = await _timed(baseline)
            figures.append(
                Figure(f"count(*) over {count} listings", base, "ms", higher_is_better=False)
            )
            for group_by in ("village", "town,category", "month", "buyer_type"):
                query = StatsQuery.parse(group_by, None, None, None, None)

                async def run(query: StatsQuery = query) -> None:
                    await statistics(session, query)

                took = await _timed(run)
                name = "stats" if group_by == "village" else f"stats[{group_by}]"
                figures.append(Figure(name, took, "ms", base, "count(*)", higher_is_better=False))
    finally:
        await db.dispose()
    return figures


@contextlib.asynccontextmanager
async def scratch_database() -> AsyncIterator[str]:
    """A database of this run's own on the PostgreSQL of PG_ADMIN (its app URL), dropped after."""
    import asyncpg

    name = f"ruralx_bench_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(PG_ADMIN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    url = PG_ADMIN.replace("postgresql://", "postgresql+asyncpg://").rsplit("/", 1)[0] + "/" + name
    try:
        yield url
    finally:
        admin = await asyncpg.connect(PG_ADMIN)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def _scratch(listings: int) -> list[Figure]:
    async with scratch_database() as url:
        return await measure(url, listings, generate=True)


async def main() -> list[Figure]:
    """`make bench`: 100,000 listings in a scratch database."""
    return await _scratch(100_000)


def cli(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.stats", description=__doc__)
    parser.add_argument("--listings", type=int, default=100_000)
    parser.add_argument("--url", help="an existing database (already filled unless --generate)")
    parser.add_argument(
        "--generate", action="store_true", help="with --url: fill it with the demo generator first"
    )
    args = parser.parse_args(argv)
    figures = asyncio.run(
        measure(args.url, args.listings, generate=args.generate)
        if args.url
        else _scratch(args.listings)
    )
    report(figures, "stats")


if __name__ == "__main__":
    cli()
