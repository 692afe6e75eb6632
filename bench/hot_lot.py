"""Bid acceptance on one hot lot (HTTP and websocket, 1/16/64 bidders) vs pgbench hot row.

Baseline (docs/performance.md §1): pgbench on the same PostgreSQL running `BEGIN; SELECT …
FOR UPDATE` on one lot row; `UPDATE` price/seq; `INSERT` bid; `COMMIT`. The app figure counts
bid commands answered per second (accepted or rejected: each is a full locked transaction
with its ledger entry), and reports accepted bids and ack latency alongside.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bench import ws_client
from bench.harness import Figure, bid_ack_figure, percentile, report
from bench.servers import app_url, auction_with_bidders, migrate, pg_database, rooms_env, workers

DURATION = 8.0
#: Narrow a run while working on one case, e.g. RURALX_BENCH_CLIENTS=16 RURALX_BENCH_CHANNELS=ws.
CLIENTS = tuple(int(c) for c in os.environ.get("RURALX_BENCH_CLIENTS", "1,16,64").split(","))
CHANNELS = tuple(os.environ.get("RURALX_BENCH_CHANNELS", "http,ws").split(","))
#: App workers sharing the load (the production profile runs several, rooms joined by Redis).
WORKERS = tuple(int(w) for w in os.environ.get("RURALX_BENCH_WORKERS", "1").split(","))
#: The hot-row transaction of docs/performance.md §1; with `lots` > 1 each picks a random lot.
PGBENCH_SCRIPT = """\\set amount random(1, 1000000)
\\set lot random(1, {lots})
BEGIN;
SELECT price, seq FROM bench_lot WHERE id = :lot FOR UPDATE;
UPDATE bench_lot SET price = price + 1, seq = seq + 1 WHERE id = :lot;
INSERT INTO bench_bid (lot_id, amount, at) VALUES (:lot, :amount, now());
COMMIT;
"""


async def pgbench(pg_url: str, clients: int, lots: int = 1) -> float:
    conn = await asyncpg.connect(pg_url)
    await conn.execute(
        "CREATE TABLE IF NOT EXISTS bench_lot (id int PRIMARY KEY, price bigint, seq int)"
    )
    await conn.execute(
        "CREATE TABLE IF NOT EXISTS bench_bid"
        " (id bigserial PRIMARY KEY, lot_id int, amount bigint, at timestamptz)"
    )
    await conn.execute("INSERT INTO bench_lot VALUES (1, 0, 0) ON CONFLICT DO NOTHING")
    await conn.close()
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as f:
        f.write(PGBENCH_SCRIPT.format(lots=lots))
    db = pg_url.rsplit("/", 1)[1]
    out = await asyncio.to_thread(
        subprocess.run,
        [
            "pgbench",
            "-n",
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-f",
            f.name,
            "-c",
            str(clients),
            "-j",
            "2",
            "-T",
            str(int(DURATION)),
            db,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    Path(f.name).unlink()
    match = re.search(r"tps = ([\d.]+) \(without initial connection time\)", out.stdout)
    if not match:
        raise RuntimeError(out.stdout + out.stderr)
    return float(match.group(1))


#: The HTTP load: wrk (C) with a Lua script that bids like the websocket clients do.
WRK_SCRIPT = Path(__file__).with_name("wrk") / "bid.lua"


@dataclass
class Acks:
    """What a load measured: commands answered, bids accepted, ack percentiles (s), duration."""

    answered: int
    accepted: int
    p50: float
    p99: float
    seconds: float

    @classmethod
    def of(cls, answered: int, accepted: int, latencies: list[float], seconds: float) -> Acks:
        p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
        return cls(answered, accepted, p50, p99, seconds)


async def http_load(urls: list[str], bidders: list[Any], listing_id: int) -> Acks:
    """wrk, one connection per bidder, the bidders dealt round the workers (a wrk each).

    Each bidder raises one step above the price it last saw, learnt from its bids' answers
    (an accepted bid's `amount_fen`, a rejection's `current_fen`), as `bench/wrk/bid.lua` says.
    With several workers, p50 is their answers' weighted mean and p99 the largest.
    """
    async with httpx.AsyncClient(base_url=urls[0], timeout=60) as client:
        snapshot = (await client.get(f"/api/v1/auctions/{listing_id}")).json()
    shares = [bidders[i :: len(urls)] for i in range(len(urls))]
    runs = await asyncio.gather(
        *(
            _wrk(url, share, listing_id, snapshot)
            for url, share in zip(urls, shares, strict=True)
            if share
        )
    )
    answered = sum(r.answered for r in runs)
    return Acks(
        answered,
        sum(r.accepted for r in runs),
        sum(r.p50 * r.answered for r in runs) / max(1, answered),
        max(r.p99 for r in runs),
        max(r.seconds for r in runs),
    )


async def _wrk(url: str, bidders: list[Any], listing_id: int, snapshot: dict[str, Any]) -> Acks:
    threads = 1 if len(bidders) == 1 else 2
    with tempfile.NamedTemporaryFile("w", suffix=".tokens", delete=False) as f:
        f.write("".join(f"{who.token}\n" for who in bidders))
    try:
        out = await asyncio.to_thread(
            subprocess.run,
            [
                "wrk",
                "-t",
                str(threads),
                "-c",
                str(len(bidders)),
                "-d",
                f"{int(DURATION)}s",
                "--timeout",
                "30s",
                "-s",
                str(WRK_SCRIPT),
                url,
                "--",
                f.name,
                str(listing_id),
                str(snapshot["current_fen"]),
                str(snapshot["seq"]),
                uuid.uuid4().hex[:8],
                str(ws_client.STEP_FEN),
                str(threads),
            ],
            capture_output=True,
            text=True,
            timeout=DURATION + 60,
        )
    finally:
        Path(f.name).unlink()
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    if out.returncode != 0 or not lines:
        raise RuntimeError(out.stdout + out.stderr)
    result = json.loads(lines[-1])
    if result["others"] or any(result["errors"].values()):
        print(f"  wrk: {result['others']} other answers, errors {result['errors']}", flush=True)
    return Acks(
        result["answered"],
        result["accepted"],
        result["p50_us"] / 1e6,
        result["p99_us"] / 1e6,
        result["seconds"],
    )


async def ws_load(urls: list[str], bidders: list[Any], listing_id: int) -> Acks:
    tally = ws_client.Tally()
    pairs = [
        (urls[i % len(urls)].replace("http", "ws") + f"/ws/auctions/{listing_id}", who.token)
        for i, who in enumerate(bidders)
    ]
    await ws_client.run(await ws_client.connect_all(pairs, tally), DURATION)
    return Acks.of(tally.answered, tally.accepted, tally.latencies, DURATION)


async def main() -> list[Figure]:
    figures: list[Figure] = []
    workdir = Path(tempfile.mkdtemp(prefix="ruralx-bench-"))
    async with pg_database() as pg_url:
        url = app_url(pg_url)
        await asyncio.to_thread(migrate, url)
        for n in WORKERS:
            with workers(url, workdir / f"w{n}", n, **rooms_env(n)) as cluster:
                for clients in CLIENTS:
                    # The baseline brackets the app's runs (before and after, averaged): what
                    # else shares the cores drifts over a minute, and a ratio of figures
                    # measured a minute apart would carry that drift.
                    before = await pgbench(pg_url, clients)
                    measured = [
                        await _measure(cluster, n, clients, channel) for channel in CHANNELS
                    ]
                    tps = (before + await pgbench(pg_url, clients)) / 2
                    figures.append(Figure(f"pgbench hot row, {clients} clients", tps, "tps"))
                    for figure in measured:
                        figure.baseline = tps  # the report prints each with its ratio
                    figures.extend(measured)
    return figures


async def _measure(cluster: Any, n: int, clients: int, channel: str) -> Figure:
    """One channel's figure; its baseline is filled in by the caller once measured."""
    listing_id, people, client = await auction_with_bidders(cluster.urls[0], clients)
    await client.aclose()
    load = http_load if channel == "http" else ws_load
    acks = await load(cluster.urls, people, listing_id)
    return bid_ack_figure(
        f"bid acks, one hot lot, {channel}, {clients} bidders, {n} worker{'s' if n > 1 else ''}",
        acks.answered,
        acks.accepted,
        acks.p50,
        acks.p99,
        acks.seconds,
        None,
        f"pgbench {clients} clients",
    )


if __name__ == "__main__":
    report(asyncio.run(main()), "hot_lot")
