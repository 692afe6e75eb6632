"""Regulator statistics over a county of 100,000 listings, against `SELECT count(*)`.

    python -m bench.stats [--listings 100000] [--url postgresql+asyncpg://…]

Without --url a scratch PostgreSQL database is created next to $RURALX_TEST_PG's (default
postgresql://postgres@127.0.0.1:5432/postgres), filled by the demo generator, measured and
dropped. Both figures come from the same run on the same connection: the median of several
timed runs of the statistics (`oversight.stats.compute.statistics`, JSON rows with median and
totals) and of a plain `SELECT count(*) FROM listings`, the two taken in turn so that both
see the same load. Each grouping of the benchmark (and one regulator's question: a period
with partial months, in the county's jurisdiction) is a figure. Prints one line per figure
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
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text

from bench.harness import Figure, report

PG_ADMIN = os.environ.get("RURALX_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
RUNS = 9
#: The groupings of the target (docs/performance.md §1).
GROUPINGS = ("village", "town,category", "month", "buyer_type")


async def _timed(
    run: Callable[[], Awaitable[Any]], baseline: Callable[[], Awaitable[Any]], runs: int = RUNS
) -> tuple[float, float]:
    """Median milliseconds of `run` and of `baseline`, timed in turn."""
    for _ in range(2):
        await run()
        await baseline()
    samples: tuple[list[float], list[float]] = ([], [])
    for _ in range(runs):
        for job, times in ((run, samples[0]), (baseline, samples[1])):
            started = time.perf_counter()
            await job()
            times.append(time.perf_counter() - started)
    return stat.median(samples[0]) * 1000, stat.median(samples[1]) * 1000


async def measure(url: str, listings: int, generate: bool) -> list[Figure]:
    from app.migrate import upgrade
    from core.db import Database
    from oversight.demo.county import COUNTY
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

            start = (datetime.now(UTC).date() - timedelta(days=400)).replace(day=15)
            questions = [
                *[(g, StatsQuery.parse(g, None, None, None, None), None) for g in GROUPINGS],
                # A county regulator's year, from the middle of a month.
                (
                    "village, partial months, jurisdiction",
                    StatsQuery.parse("village", start, start + timedelta(days=365), None, None),
                    COUNTY,
                ),
            ]
            for name, query, jurisdiction in questions:

                async def run(
                    query: StatsQuery = query, jurisdiction: str | None = jurisdiction
                ) -> None:
                    await statistics(session, query, jurisdiction)

                took, base = await _timed(run, baseline)
                if name == GROUPINGS[0]:
                    figures.append(
                        Figure(
                            f"count(*) over {count} listings", base, "ms", higher_is_better=False
                        )
                    )
                label = "stats" if name == GROUPINGS[0] else f"stats[{name}]"
                figures.append(Figure(label, took, "ms", base, "count(*)", higher_is_better=False))
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


Measure = Callable[[str, int, bool], Awaitable[list[Figure]]]


async def on_scratch(measure: Measure, listings: int) -> list[Figure]:
    """`measure` over `listings` generated in a database of its own, dropped after."""
    async with scratch_database() as url:
        return await measure(url, listings, True)


def scratch_cli(
    name: str, doc: str | None, measure: Measure, listings: int, argv: list[str] | None
) -> None:
    """The command line of a benchmark over a generated county: a scratch database, or --url."""
    parser = argparse.ArgumentParser(prog=f"python -m bench.{name}", description=doc)
    parser.add_argument("--listings", type=int, default=listings)
    parser.add_argument("--url", help="an existing database (already filled unless --generate)")
    parser.add_argument(
        "--generate", action="store_true", help="with --url: fill it with the demo generator first"
    )
    args = parser.parse_args(argv)
    figures = asyncio.run(
        measure(args.url, args.listings, args.generate)
        if args.url
        else on_scratch(measure, args.listings)
    )
    report(figures, name)


async def main() -> list[Figure]:
    """`make bench`: 100,000 listings in a scratch database."""
    return await on_scratch(measure, 100_000)


def cli(argv: list[str] | None = None) -> None:
    scratch_cli("stats", __doc__, measure, 100_000, argv)


if __name__ == "__main__":
    cli()
