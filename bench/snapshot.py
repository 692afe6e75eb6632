"""Auction snapshot `GET` vs a Litestar hello-world handler, same server setup, wrk load.

Both servers run side by side and `wrk` loads them in turn, in short slices: a change in the
machine's other load then weighs on both figures alike, not on whichever ran during it."""

from __future__ import annotations

import asyncio
import contextlib
import re
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from bench.harness import Figure
from bench.servers import app_url, auction_with_bidders, migrate, pg_database, workers
from tests.servers import free_port

DURATION = 8  # seconds of load on each server
SLICES = 4  # taken in turn


def wrk(url: str, seconds: int, connections: int = 64) -> tuple[float, float]:
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", url],
        capture_output=True,
        text=True,
        timeout=seconds + 30,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    return rps, float(p50.group(1)) * scale[p50.group(2)] if p50 else 0.0


def in_turn(urls: list[str]) -> list[tuple[float, float]]:
    """(req/s, median of the slices' p50 in ms) of each URL, loaded in turn slice by slice."""
    runs: list[list[tuple[float, float]]] = [[] for _ in urls]
    for _ in range(SLICES):
        for url, run in zip(urls, runs, strict=True):
            run.append(wrk(url, DURATION // SLICES))
    return [
        (statistics.fmean(r for r, _ in run), statistics.median(p for _, p in run)) for run in runs
    ]


@contextlib.contextmanager
def hello_server(workdir: Path) -> Iterator[str]:
    port = free_port()
    log = workdir / "hello.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "bench.hello:app",
                "--port",
                str(port),
                "--log-level",
                "warning",
                "--no-access-log",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_ready_plain(f"http://127.0.0.1:{port}/hello", process, log)
        yield f"http://127.0.0.1:{port}/hello"
    finally:
        process.terminate()
        process.wait(10)


def wait_ready_plain(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    import time

    import httpx

    for _ in range(200):
        if process.poll() is not None:
            raise RuntimeError(log.read_text())
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.05)
    raise TimeoutError(url)


async def main() -> list[Figure]:
    workdir = Path(tempfile.mkdtemp(prefix="ruralx-bench-"))
    async with pg_database() as pg_url:
        url = app_url(pg_url)
        await asyncio.to_thread(migrate, url)
        with workers(url, workdir, 1) as cluster, hello_server(workdir) as hello_url:
            listing_id, _, client = await auction_with_bidders(cluster.urls[0], 2)
            await client.aclose()
            snapshot_url = f"{cluster.urls[0]}/api/v1/auctions/{listing_id}"
            snapshot, hello = await asyncio.to_thread(in_turn, [snapshot_url, hello_url])
    return [
        Figure(
            "auction snapshot GET",
            snapshot[0],
            "req/s",
            hello[0],
            "Litestar hello-world",
            extra={"p50_ms": snapshot[1], "hello_p50_ms": hello[1]},
        )
    ]
