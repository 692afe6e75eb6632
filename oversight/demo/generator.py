"""`populate` (the demo rows in one transaction, then the warnings detected once) and
`generate` (the command: populate, then sequence the log with a checkpoint)."""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime
from typing import Any

from auction.models import Deal
from contracts.models import Contract, RentItem, RentPayment
from core import ledger
from core import settings as exchange_settings
from core.accounts import User
from core.clock import SystemClock
from core.config import Config
from core.db import Database
from core.ledger import keys, sequencer
from listings import Listing, Registration
from listings.economics import lease_end
from oversight.demo.bulk import bulk, bump_sequences, regions_of, reserve_ids
from oversight.demo.county import COUNTY, villages
from oversight.demo.leases import Leases
from oversight.demo.market import market
from oversight.demo.people import people
from oversight.stats import listing_facts, rollups
from oversight.warnings import scan


async def populate(db: Database, count: int, *, seed: int, now: datetime) -> dict[str, Any]:
    rng = random.Random(seed)
    started = time.perf_counter()
    summary: dict[str, Any] = {}
    async with db.write() as session:
        tag = f"{seed % 10000:04d}{int(await reserve_ids(session, User)):x}"
        regions = await regions_of(session, villages(rng))
        index = listing_facts.RegionIndex()
        ancestors = {p: await index.ancestors(session, r) for p, r in regions.items()}
        who = people(rng, tag, await reserve_ids(session, User), list(regions), regions, count, now)
        ids = (await reserve_ids(session, Listing), await reserve_ids(session, Registration))
        made = market(rng, tag, count, now, who, regions, ancestors, ids)
        for user in who.users:  # the planted families share a phone
            user["phone"] = who.phones[user["id"]]
        leases = Leases(
            random.Random(f"{seed}-leases"),
            tag,
            now,
            [await reserve_ids(session, model) for model in (Contract, RentItem, RentPayment)],
            {regions[path].id: user_id for path, user_id in who.officials.items()},
        )
        leases.assign(made.deals)
        await bulk(session, User, who.users)
        await bulk(session, Listing, made.listings)
        await bulk(session, Registration, made.registrations)
        await bulk(session, Deal, made.deals)
        winners = {r["id"]: (r["bidder_id"], r["deposit_fen"]) for r in made.registrations}
        by_id = {listing["id"]: listing for listing in made.listings}
        rent_items = payments = 0
        for rows in leases.chunks(made.deals, by_id, winners):
            await bulk(session, Contract, rows.contracts)
            await bulk(session, RentItem, rows.items)
            await bulk(session, RentPayment, rows.payments)
            rent_items, payments = rent_items + len(rows.items), payments + len(rows.payments)
        # A sold listing's lease ends by its contract's start, as the job has it.
        for row in made.fact_rows:
            start = leases.starts.get(row["listing_id"])
            if row["is_sold"] and start is not None:
                row["lease_ends_on"] = lease_end(start, row["term_years"])
        await rollups.lock(session)
        await listing_facts.upsert_facts(session, made.fact_rows)
        await rollups.rebuild(session)  # summed in the database, not listing by listing
        await bump_sequences(
            session,
            ["users", "listings", "registrations", "contracts", "rent_items", "rent_payments"],
        )
        await ledger.append(
            session,
            subject="demo",
            type="demo.generated",
            actor="cli",
            payload={
                "listings": count,
                "seed": seed,
                "tag": tag,
                "county": COUNTY,
                "synthetic": True,
            },
            at=now,
        )
        summary.update(
            {
                "listings": count,
                "registrations": len(made.registrations),
                "deals": len(made.deals),
                "leases_signed": leases.counts["signed"],
                "contracts_drafted": leases.counts["drafted"],
                "rent_items": rent_items,
                "rent_payments": payments,
                "bidders": len(who.bidders),
                "villages": len(regions),
            }
        )
    summary["insert_seconds"] = round(time.perf_counter() - started, 1)
    started = time.perf_counter()
    async with db.read() as session:
        settings = await exchange_settings.load(session)
        found = await scan.detect(session, settings, now)
    async with db.write() as session:
        summary["warnings"] = await scan.store(session, found.findings, now)
    summary["warnings_seconds"] = round(time.perf_counter() - started, 1)
    return summary


async def generate(config: Config, count: int, *, seed: int) -> dict[str, Any]:
    db = Database(config.database_url)
    now = SystemClock().now()
    try:
        summary = await populate(db, count, seed=seed, now=now)
        signer = keys.load_signer(config.data_dir, config.secret_key)
        summary["log_size"] = await sequencer.run(
            db, lambda: signer, lambda: datetime.now(UTC), wait=True, checkpoint="interval"
        )
    finally:
        await db.dispose()
    return summary
