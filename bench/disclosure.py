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

    disclosure[county] (goal: within 20× count(*)): 412.0 ms (9.80× count(*))
"""

from __future__ import annotations

import argparse
import asyncio
from datetime import UTC, datetime

from sqlalchemy import text

from bench.harness import Figure, report
from bench.stats import _timed, scratch_database

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

            base = await _timed(baseline)
            figures.append(
                Figure(
                    f"count(*) over rent_items and contracts ({leases} leases)",
                    base,
                    "ms",
                    higher_is_better=False,
                )
            )

            def within_20(name: str, took: float) -> Figure:
                return Figure(
                    f"{name} (goal: within 20× count(*))",
                    took,
                    "ms",
                    base,
                    "count(*)",
                    higher_is_better=False,
                    extra={"target_ratio": 20},
                )

            for name, path in (("county", COUNTY), ("town", f"{COUNTY}/{TOWNS[0]}")):

                async def run(path: str = path) -> None:
                    await board(session, path, today)

                figures.append(within_20(f"disclosure[{name}]", await _timed(run)))

            async def dashboard() -> None:
                await collection(session, StatsQuery(), None, today)

            figures.append(within_20("dashboard collection rate", await _timed(dashboard)))
    finally:
        await db.dispose()
    return figures


async def _scratch(listings: int) -> list[Figure]:
    async with scratch_database() as url:
        return await measure(url, listings, generate=True)


async def main() -> list[Figure]:
    """`make bench`: about 100,000 leases in a scratch database."""
    return await _scratch(LISTINGS)


def cli(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.disclosure", description=__doc__)
    parser.add_argument("--listings", type=int, default=LISTINGS)
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
    report(figures, "disclosure")


if __name__ == "__main__":
    cli()
