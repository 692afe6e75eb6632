"""The public income board over a county of 100,000 leases, against `SELECT count(*)`.

    python -m bench.disclosure [--listings 130000] [--url postgresql+asyncpg://…]

Without --url a scratch PostgreSQL database is created next to $RURALX_TEST_PG's (default
postgresql://postgres@127.0.0.1:5432/postgres), filled by the demo generator (130,000
listings give about 100,000 deals, each with its lease, rent items and payments), measured
and dropped. Both figures come from the same run on the same connection: the median of
several timed runs of the county's board (`oversight.disclosure.board`: every village's
income by year and month, the towns' and the county's sums, as the typed answer), of the
regulator dashboard's collection rate over the whole county (`oversight.stats.dashboard.
collection`) and of a plain count of the tables the board reads (`rent_items`,
`contracts`). The target is within 20× for each (docs/performance.md §1):

    disclosure[county]: 412.0 ms (9.80× count(*))  [goal ≤ 20× count(*): met]
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text

from bench.harness import Figure
from bench.stats import _timed, on_scratch, scratch_cli

BASELINE = "SELECT (SELECT count(*) FROM rent_items) + (SELECT count(*) FROM contracts)"
LISTINGS = 130_000


async def measure(url: str, listings: int, generate: bool) -> list[Figure]:
    from app.migrate import upgrade
    from core.clock import local_date
    from core.db import Database
    from oversight.demo.county import COUNTY, TOWNS
    from oversight.demo.generator import populate
    from oversight.disclosure import board
    from oversight.stats.dashboard import collection
    from oversight.stats.query import StatsQuery

    await asyncio.to_thread(upgrade, url)
    db = Database(url)
    figures = []
    now = datetime.now(UTC)
    try:
        if generate:
            summary = await populate(db, listings, seed=20261207, now=now)
            figures.append(
                Figure(
                    f"demo county of {summary['listings']} listings, {summary['deals']} leases, "
                    f"{summary['rent_items']} rent items, {summary['rent_payments']} payments",
                    summary["insert_seconds"],
                    "s",
                    higher_is_better=False,
                )
            )
        import asyncpg

        plain = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
        await plain.execute("VACUUM ANALYZE")
        await plain.close()
        today = local_date(now)
        async with db.read() as session:
            leases = (await session.execute(text("SELECT count(*) FROM contracts"))).scalar_one()

            async def baseline() -> None:
                await session.execute(text(BASELINE))

            async def dashboard() -> None:
                await collection(session, StatsQuery(), None, today)

            jobs: list[tuple[str, Callable[[], Awaitable[Any]]]] = []
            for name, path in (("county", COUNTY), ("town", f"{COUNTY}/{TOWNS[0]}")):

                async def run(path: str = path) -> None:
                    await board(session, path, today)

                jobs.append((f"disclosure[{name}]", run))
            jobs.append(("dashboard collection rate", dashboard))
            # Each figure timed in turn with count(*), so both see the same load.
            timed = [(name, *await _timed(run, baseline)) for name, run in jobs]
            figures.append(
                Figure(
                    f"count(*) over rent_items and contracts ({leases} leases)",
                    timed[0][2],
                    "ms",
                    higher_is_better=False,
                )
            )
            figures += [
                Figure(
                    name,
                    took,
                    "ms",
                    base,
                    "count(*)",
                    higher_is_better=False,
                    extra={"target_ratio": 20},
                )
                for name, took, base in timed
            ]
    finally:
        await db.dispose()
    return figures


async def main() -> list[Figure]:
    """`make bench`: about 100,000 leases in a scratch database."""
    return await on_scratch(measure, LISTINGS)


def cli(argv: list[str] | None = None) -> None:
    scratch_cli("disclosure", __doc__, measure, LISTINGS, argv)


if __name__ == "__main__":
    cli()
