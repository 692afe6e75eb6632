"""Many lots at once: 200 auctions × 5 bidders, every bidder on its own websocket per lot.

A city exchange's busy afternoon: many small auctions in their countdown together rather
than one hot lot. Each (bidder, lot) pair bids one step above the price it last saw, waits
for the answer and bids again (closed loop), so the figure is the throughput the worker
sustains across lots, with the ack latency it costs. Baseline: pgbench running the hot-row
transaction of docs/performance.md §1 over as many lot rows (`id = random(1, lots)`) with as
many clients as there are lots in flight at once in the app (the bench's websocket count is
far higher).
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx

from bench import ws_client
from bench.harness import Figure, bid_acks
from bench.hot_lot import pgbench
from bench.servers import (
    app_url,
    long_countdowns,
    migrate,
    pg_database,
    raise_open_files,
    rooms_env,
    workers,
)
from tests.support import (
    PASSWORD,
    SEED_LISTING,
    SEED_TERMS,
    Http,
    iso,
    phone,
    resident_id,
    submit,
)

LOTS = int(os.environ.get("RURALX_BENCH_LOTS", "200"))
BIDDERS_PER_LOT = 5
#: People signing up; each registers for several lots, as real bidders do.
PEOPLE = 40
DURATION = 10.0
#: Time between announcing a lot and closing its registration: its five registrations,
#: payments and qualifications fit well inside.
CLOSES_IN = timedelta(seconds=20)
#: Lots spread over workers by connection; rooms are joined across workers through Redis.
WORKERS = tuple(int(w) for w in os.environ.get("RURALX_BENCH_WORKERS", "1,2").split(","))


async def _sign_up(anon: Http, n: int) -> Http:
    mobile = phone()
    await anon.ok(
        "POST",
        "/api/v1/bidders",
        {
            "name": f"竞买人{n}",
            "id_type": "resident_id",
            "id_number": resident_id(),
            "phone": mobile,
            "password": PASSWORD,
        },
        status=201,
    )
    return await anon.login(mobile)


async def _lot(anon: Http, village: Http, reviewer: Http, people: list[Http], k: int) -> int:
    """Entrust, accept and announce lot k; register, pay and qualify its five bidders."""
    listing = await village.ok("POST", "/api/v1/listings", SEED_LISTING, status=201)
    lid = listing["id"]
    await submit(village, lid)
    await reviewer.ok(
        "POST", f"/api/v1/listings/{lid}/review", {"decision": "accept", "reason": "材料齐全"}
    )
    now = datetime.now(UTC)
    await reviewer.ok(
        "POST",
        f"/api/v1/listings/{lid}/announce",
        {
            "registration_closes_at": iso(now + CLOSES_IN),
            "auction_starts_at": iso(now + CLOSES_IN + timedelta(seconds=1)),
        },
    )
    for j in range(BIDDERS_PER_LOT):
        bidder = people[(k * BIDDERS_PER_LOT + j) % len(people)]
        reg = await bidder.ok("POST", f"/api/v1/listings/{lid}/registrations", {}, status=201)
        paid = await anon.pay(reg["payment_reference"], SEED_TERMS["deposit_fen"])
        assert paid.status_code == 200, paid.text
        await reviewer.ok(
            "POST", f"/api/v1/registrations/{reg['id']}/review", {"decision": "qualify"}
        )
    return int(lid)


async def setup(base_url: str) -> tuple[list[int], list[Http]]:
    client = httpx.AsyncClient(
        base_url=base_url, timeout=120, limits=httpx.Limits(max_connections=100)
    )
    anon = Http(client)
    await long_countdowns(await anon.login("admin"))
    village, reviewer = await anon.login("xingtian"), await anon.login("reviewer")
    people = [await _sign_up(anon, n) for n in range(PEOPLE)]
    gate = asyncio.Semaphore(16)

    async def one(k: int) -> int:
        async with gate:
            return await _lot(anon, village, reviewer, people, k)

    listing_ids = await asyncio.gather(*(one(k) for k in range(LOTS)))
    deadline = time.monotonic() + CLOSES_IN.total_seconds() + 60
    while time.monotonic() < deadline:  # every lot in its countdown before the load starts
        try:  # a pooled connection the server closed as idle fails once; poll again
            states = await asyncio.gather(
                *(anon.call("GET", f"/api/v1/auctions/{lid}") for lid in listing_ids)
            )
        except httpx.TransportError:
            continue
        if all(r.status_code == 200 and r.json()["status"] == "countdown" for r in states):
            await client.aclose()
            return list(listing_ids), people
        await asyncio.sleep(1)
    raise TimeoutError("not every lot reached its countdown")


async def load(
    urls: list[str], listing_ids: list[int], people: list[Http]
) -> tuple[int, int, list[float]]:
    """Every (bidder, lot) pair on its own websocket, connected first, then all bid at once."""
    tally = ws_client.Tally()
    pairs = [
        (
            urls[(k + j) % len(urls)].replace("http", "ws") + f"/ws/auctions/{lid}",
            people[(k * BIDDERS_PER_LOT + j) % len(people)].token,
        )
        for k, lid in enumerate(listing_ids)
        for j in range(BIDDERS_PER_LOT)
    ]
    bidders = await ws_client.connect_all(pairs, tally)
    await ws_client.run(bidders, DURATION)
    return tally.answered, tally.accepted, tally.latencies


async def pgbench_many(pg_url: str, lots: int, clients: int) -> float:
    conn = await asyncpg.connect(pg_url)
    await conn.execute(
        "CREATE TABLE IF NOT EXISTS bench_lot (id int PRIMARY KEY, price bigint, seq int)"
    )
    await conn.execute(
        "INSERT INTO bench_lot SELECT g, 0, 0 FROM generate_series(1, $1) g ON CONFLICT DO NOTHING",
        lots,
    )
    await conn.close()
    return await pgbench(pg_url, clients, lots=lots)


async def main() -> list[Figure]:
    raise_open_files()
    figures: list[Figure] = []
    workdir = Path(tempfile.mkdtemp(prefix="ruralx-bench-"))
    async with pg_database() as pg_url:
        baseline = await pgbench_many(pg_url, LOTS, 64)
    figures.append(Figure(f"pgbench, {LOTS} lot rows, 64 clients", baseline, "tps"))
    for n in WORKERS:
        async with pg_database() as pg_url:  # each run its own exchange: no leftover lots
            url = app_url(pg_url)
            await asyncio.to_thread(migrate, url)
            with workers(url, workdir / f"w{n}", n, **rooms_env(n)) as cluster:
                listing_ids, people = await setup(cluster.urls[0])
                answered, accepted, lat = await load(cluster.urls, listing_ids, people)
        figures.append(
            bid_acks(
                f"bid acks, {LOTS} lots × {BIDDERS_PER_LOT} bidders, ws, {n} worker"
                + ("s" if n > 1 else ""),
                answered,
                accepted,
                lat,
                DURATION,
                baseline,
                f"pgbench {LOTS} rows",
            )
        )
    return figures
