"""Past one machine: watchers served by 1 and by 3 app workers behind nginx.

The production profile on loopback: PostgreSQL, rooms joined through Redis, and nginx
configured from deploy/nginx.conf.template in front of 1 worker, then of 3 workers listening
on two addresses (127.0.0.1 and 127.0.0.2, as two hosts' workers would). Watchers join one
lot through nginx in steps; at each step bids arrive over HTTP (through nginx too) at RATE a
second, and the completion time of each (the last watcher's receipt − the moment the bid was
sent) is taken. A step is served when every watcher got every bid within DELIVERY_S and the
completion p99 stays within BOUND_MS; a configuration's figure is the largest step it served
(the search stops at the first step not served; when the steps or the time budget run out
first, the figure is a floor and its JSON says so: `ended_by`). The last configuration is
compared with the first by that figure, and, finer than the steps, by the completion p50 at
the largest step both reached with nothing missing.

The watchers are client processes of their own (one per step, so the load generator grows
with the load rather than capping it), each connecting from loopback addresses of its own:
nginx allows 400 rooms per client address. Everything shares the machine's cores: on 2 cores
the workers, nginx, PostgreSQL, Redis and the clients compete for the same CPU, so three
workers can only add what one worker leaves idle; with a core per worker to spare (and the
clients elsewhere) the steps go further.

    python -m bench.scale                     # 1 and 3 workers
    RURALX_BENCH_SCALE_WORKERS=1,2,4 RURALX_BENCH_SCALE_STEPS=1000,5000,20000 python -m bench.scale
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from itertools import zip_longest
from pathlib import Path
from typing import Any

import websockets

from bench.fanout import Watchers
from bench.harness import Figure, percentile, report
from bench.servers import (
    app_url,
    auction_with_bidders,
    migrate,
    nginx_front,
    pg_database,
    raise_open_files,
    redis_rooms,
    worker_at,
    workers,
)
from tests.support import Http

WORKERS = tuple(int(w) for w in os.environ.get("RURALX_BENCH_SCALE_WORKERS", "1,3").split(","))
#: Watchers in the room at each step (cumulative); the last one caps the search.
STEPS = tuple(
    int(s)
    for s in os.environ.get(
        "RURALX_BENCH_SCALE_STEPS", "250,500,750,1000,1500,2000,3000,4000,6000,8000"
    ).split(",")
)
RATE = 10  # bids per second, as the fan-out benchmark's burst
BIDS = 20
BOUND_MS = float(os.environ.get("RURALX_BENCH_SCALE_BOUND_MS", "1000"))
#: The hosts workers listen on in turn: two loopback addresses stand for two app hosts.
HOSTS = ("127.0.0.1", "127.0.0.2")
#: Watchers per client address, under nginx's `limit_conn rooms_per_address 400`.
PER_ADDRESS = 300
#: Time a configuration may spend on its steps before the search stops where it is.
BUDGET_S = 60.0
DELIVERY_S = 10.0


class SpreadWatchers(Watchers):
    """Watchers that connect from several loopback addresses, `PER_ADDRESS` each."""

    def __init__(self, sources: list[str]) -> None:
        super().__init__()
        self.sources = sources

    async def connect(self, urls: list[str], n: int, hello: bool) -> None:
        async def one(i: int) -> None:
            ws = await websockets.connect(
                urls[i % len(urls)],
                max_size=2**20,
                open_timeout=60,
                local_addr=(self.sources[i // PER_ADDRESS], 0),
            )
            self.sockets.append(ws)
            if hello:
                await ws.send('{"type":"hello"}')
            self.tasks.append(asyncio.create_task(self.read(ws)))

        for start in range(0, n, 200):  # in waves, as Watchers.connect
            await asyncio.gather(*(one(i) for i in range(start, min(n, start + 200))))


async def watch(url: str, n: int, client: int) -> None:
    """A client process: `n` watchers on `url`; on `report` it prints what it received (seq →
    [watchers reached, last receipt]), on `quit` (or end of input) it closes them."""
    raise_open_files()
    sources = [
        f"127.{1 + client // 200}.{1 + client % 200}.{k + 1}" for k in range(n // PER_ADDRESS + 1)
    ]
    w = SpreadWatchers(sources)
    await w.connect([url], n, True)
    print("ready", flush=True)
    while (await asyncio.to_thread(sys.stdin.readline)).strip() == "report":
        got = {seq: [len(times), max(times)] for seq, times in w.received.items()}
        print(json.dumps(got), flush=True)
    await w.close()


@dataclass
class Clients:
    """The watcher processes of one configuration, and what they received."""

    url: str
    processes: list[asyncio.subprocess.Process] = field(default_factory=list)
    watchers: int = 0

    async def add(self, n: int) -> None:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.scale",
            "--watch",
            self.url,
            str(n),
            str(len(self.processes)),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        self.processes.append(process)
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), 120)
        if line.strip() != b"ready":
            raise RuntimeError(f"watcher client exited ({process.returncode}) connecting {n}")
        self.watchers += n

    async def received(self) -> dict[int, tuple[int, float]]:
        """seq → (watchers reached, last receipt) over every client."""
        total: dict[int, tuple[int, float]] = {}
        for process in self.processes:
            assert process.stdin is not None and process.stdout is not None
            process.stdin.write(b"report\n")
            await process.stdin.drain()
            for seq, (count, last) in json.loads(await process.stdout.readline()).items():
                had = total.get(int(seq), (0, 0.0))
                total[int(seq)] = (had[0] + count, max(had[1], last))
        return total

    async def close(self) -> None:
        for process in self.processes:
            if process.stdin is not None:
                with contextlib.suppress(ConnectionError):
                    process.stdin.write(b"quit\n")
                    process.stdin.close()
        for process in self.processes:
            try:
                await asyncio.wait_for(process.wait(), 30)
            except TimeoutError:
                process.kill()
                await process.wait()


@dataclass
class Step:
    watchers: int
    p50_ms: float
    p99_ms: float
    missing: int  # deliveries not made within DELIVERY_S

    @property
    def served(self) -> bool:
        return self.missing == 0 and self.p99_ms <= BOUND_MS


async def steps(
    base_url: str, listing_id: int, people: list[Http], client: Any
) -> tuple[list[Step], str]:
    """Watchers in steps until a step is not served (or the steps or the time budget end);
    the steps taken and what ended them: "bound", "connect", "steps" or "time"."""
    clients = Clients(base_url.replace("http", "ws") + f"/ws/auctions/{listing_id}")
    bids = f"{base_url}/api/v1/auctions/{listing_id}/bids"
    price = (await client.get(f"/api/v1/auctions/{listing_id}")).json()["current_fen"]
    done: list[Step] = []
    started = time.monotonic()
    ended = "steps"
    try:
        for target in STEPS:
            try:
                await clients.add(target - clients.watchers)
            except (RuntimeError, TimeoutError) as exc:  # refused or too slow: not served
                print(f"  {target} watchers: could not connect ({exc})", flush=True)
                ended = "connect"
                break
            await asyncio.sleep(1)
            sent: dict[int, float] = {}
            tick = time.perf_counter()
            for k in range(BIDS):
                price += 24_000
                t0 = time.perf_counter()
                r = await client.post(
                    bids,
                    json={"amount_fen": price, "ref": uuid.uuid4().hex},
                    headers={"Authorization": f"Bearer {people[k % 2].token}"},
                )
                sent[r.json()["seq"]] = t0
                tick += 1 / RATE
                await asyncio.sleep(max(0.0, tick - time.perf_counter()))
            deadline = time.perf_counter() + DELIVERY_S
            while True:
                got = await clients.received()
                reached = sum(got.get(seq, (0, 0.0))[0] for seq in sent)
                if reached >= len(sent) * clients.watchers or time.perf_counter() > deadline:
                    break
                await asyncio.sleep(0.2)
            times = [got[seq][1] - t0 for seq, t0 in sent.items() if seq in got]
            step = Step(
                clients.watchers,
                percentile(times, 50) * 1000,
                percentile(times, 99) * 1000 if len(times) == len(sent) else float("inf"),
                len(sent) * clients.watchers - reached,
            )
            done.append(step)
            print(
                f"  {step.watchers} watchers: completion p50 {step.p50_ms:.0f} ms, "
                f"p99 {step.p99_ms:.0f} ms, {step.missing} deliveries missing",
                flush=True,
            )
            if not step.served:
                ended = "bound"
                break
            if time.monotonic() - started > BUDGET_S and target != STEPS[-1]:
                ended = "time"
                print(
                    f"  time budget ({BUDGET_S:.0f} s) spent: {step.watchers} is a floor",
                    flush=True,
                )
                break
    finally:
        await clients.close()
    return done, ended


async def _auction(base_url: str) -> tuple[int, list[Http], Any]:
    """An auction in its countdown. Its registration window is short; on a machine loaded
    enough that the sign-ups miss it, another listing is tried."""
    for attempt in range(3):
        try:
            return await auction_with_bidders(base_url, 2)
        except AssertionError as exc:
            if "registration.closed" not in str(exc) or attempt == 2:
                raise
    raise AssertionError("unreachable")


def _ratios(
    first: int, last: int, served: dict[int, int], runs: dict[int, dict[int, Step]]
) -> list[Figure]:
    """The last configuration against the first: watchers served, and (finer than the steps)
    the completion times at the largest step both reached with nothing missing."""
    figures = [
        Figure(
            f"watchers served, {_workers(last)} ÷ {_workers(first)}",
            served[last],
            "watchers",
            served[first] or None,
            _workers(first),
            extra={"cpus": os.cpu_count()},
        )
    ]
    both = [
        w
        for w, step in runs[first].items()
        if step.missing == 0 and w in runs[last] and runs[last][w].missing == 0
    ]
    if both:
        w = max(both)
        one, more = runs[first][w], runs[last][w]
        figures.append(
            Figure(
                f"completion p50 behind nginx, {w} watchers at {RATE} bids/s, {_workers(last)}",
                more.p50_ms,
                "ms",
                one.p50_ms,
                _workers(first),
                higher_is_better=False,
                extra={"p99_ms": more.p99_ms, "first_p99_ms": one.p99_ms, "cpus": os.cpu_count()},
            )
        )
    return figures


def _workers(n: int) -> str:
    return f"{n} worker{'s' if n > 1 else ''}"


async def main() -> list[Figure]:
    """Every configuration on one exchange: its workers all run throughout, and nginx is put in
    front of the first n of them in turn (the others idle), so no configuration waits for an
    exchange and an auction of its own."""
    raise_open_files()
    figures: list[Figure] = []
    workdir = Path(tempfile.mkdtemp(prefix="ruralx-bench-"))
    most = max(WORKERS)
    served: dict[int, int] = {}
    runs: dict[int, dict[int, Step]] = {}
    began = time.monotonic()
    async with pg_database() as pg_url:
        url = app_url(pg_url)
        await asyncio.to_thread(migrate, url)
        on_first = (most + 1) // 2
        with (
            workers(url, workdir, on_first, **redis_rooms()) as cluster,
            contextlib.ExitStack() as more,
        ):
            on_second = [
                more.enter_context(worker_at(cluster.env, workdir, HOSTS[1]))
                for _ in range(most - on_first)
            ]
            # Alternating between the hosts: the first n of them are n workers on both.
            urls = [u for pair in zip_longest(cluster.urls, on_second) for u in pair if u]
            listing_id, people, client = await _auction(urls[0])
            print(f"  exchange and auction ready in {time.monotonic() - began:.0f} s", flush=True)
            try:
                for n in WORKERS:
                    print(f"  {_workers(n)} behind nginx:", flush=True)
                    with nginx_front(urls[:n], workdir / f"nginx-{n}") as base_url:
                        done, ended = await steps(base_url, listing_id, people, client)
                    served[n] = max((s.watchers for s in done if s.served), default=0)
                    runs[n] = {s.watchers: s for s in done}
                    figures.append(
                        Figure(
                            f"watchers served at {RATE} bids/s (p99 ≤ {BOUND_MS:.0f} ms, none "
                            f"lost), {_workers(n)} behind nginx",
                            served[n],
                            "watchers",
                            extra={
                                "ended_by": ended,
                                "cpus": os.cpu_count(),
                                "steps": [s.__dict__ | {"served": s.served} for s in done],
                            },
                        )
                    )
            finally:
                await client.aclose()
    first, last = WORKERS[0], WORKERS[-1]
    if last != first:
        figures += _ratios(first, last, served, runs)
    return figures


def _main(argv: list[str]) -> None:
    if argv[:1] == ["--watch"]:
        asyncio.run(watch(argv[1], int(argv[2]), int(argv[3])))
    else:
        report(asyncio.run(main()), "scale")


if __name__ == "__main__":
    _main(sys.argv[1:])
