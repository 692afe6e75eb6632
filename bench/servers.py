"""Bench fixtures: a fresh PostgreSQL database, app workers, and an auction ready to bid on."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import resource
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from tests.servers import RURALX, add_users, running_server, server_env
from tests.support import PASSWORD, XINGTIAN, Http, entrust_review_announce, sign_up_and_qualify

PG = os.environ.get("RURALX_BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
REDIS = os.environ.get("RURALX_BENCH_REDIS", "redis://127.0.0.1:6379/0")


def rooms_env(n: int) -> dict[str, str]:
    """Several workers join rooms through Redis, under a key prefix of this run's own."""
    if n == 1:
        return {}
    return {"RURALX_REDIS_URL": REDIS, "RURALX_REDIS_PREFIX": f"bench-{uuid.uuid4().hex[:6]}"}


@contextlib.asynccontextmanager
async def pg_database() -> AsyncIterator[str]:
    name = f"ruralx_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(f"{PG}/postgres")
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{PG}/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def app_url(pg_url: str) -> str:
    return pg_url.replace("postgresql://", "postgresql+asyncpg://")


def migrate(url: str) -> None:
    subprocess.run(
        [RURALX, "migrate"],
        env={**os.environ, "RURALX_DATABASE_URL": url},
        check=True,
        capture_output=True,
        timeout=120,
    )


@dataclass
class Cluster:
    urls: list[str]
    database_url: str
    env: dict[str, str]


@contextlib.contextmanager
def workers(database_url: str, workdir: Path, n: int, **extra: str) -> Iterator[Cluster]:
    workdir.mkdir(parents=True, exist_ok=True)
    env = server_env(
        database_url,
        workdir / "data",
        RURALX_BIDS_PER_SECOND="100000",
        RURALX_LOGIN_FREE_FAILURES="100000",
        RURALX_SIGNUPS_PER_ADDRESS="100000",
        # The load comes from one address and bids as fast as answers come back.
        RURALX_WS_MESSAGES_PER_SECOND="1000000",
        RURALX_WS_CONNECTIONS_PER_ADDRESS="100000",
        **extra,
    )
    staff = [
        ("xingtian", "village", XINGTIAN),
        ("reviewer", "reviewer", None),
        ("admin", "admin", None),
    ]
    # Written straight to the database (as `ruralx user add` would), on a loop of its own:
    # the caller's loop is running.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, add_users(database_url, staff, PASSWORD)).result()
    with contextlib.ExitStack() as stack:
        servers = [
            stack.enter_context(running_server(env, workdir, ["--no-migrate"])) for _ in range(n)
        ]
        yield Cluster([s.base_url for s in servers], database_url, env)


async def long_countdowns(admin: Http) -> None:
    """Exchange settings for benchmarks: auctions start at once and stay in their countdown."""
    await admin.ok(
        "PUT",
        "/api/v1/settings",
        {
            "notice_period_working_days": 0,
            "qualification_window_minutes": 0,
            "free_bidding_minutes": 0,
            "countdown_seconds": 3600,
            "max_steps": 100,
            "self_outbid_allowed": True,
        },
    )


async def auction_with_bidders(base_url: str, bidders: int) -> tuple[int, list[Http], Any]:
    """A listing in its countdown (long enough not to end) with signed-in bidders."""
    client = httpx.AsyncClient(
        base_url=base_url, timeout=60, limits=httpx.Limits(max_connections=200)
    )
    anon = Http(client)
    await long_countdowns(await anon.login("admin"))
    now = datetime.now(UTC)
    listing_id, _, reviewer = await entrust_review_announce(
        anon,
        now,
        closes_in=timedelta(seconds=10 + bidders // 2),
        starts_in=timedelta(seconds=11 + bidders // 2),
    )
    # An auction needs two qualified bidders even when only one of them will bid.
    people, _ = await sign_up_and_qualify(anon, reviewer, listing_id, max(2, bidders))
    while True:
        response = await anon.call("GET", f"/api/v1/auctions/{listing_id}")
        if response.status_code == 200 and response.json()["status"] == "countdown":
            return listing_id, people[:bidders], client
        await asyncio.sleep(0.2)


def raise_open_files() -> None:
    """Thousands of websockets: lift this process's (and its servers') descriptor limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 65536)), hard))


def python() -> str:
    return sys.executable
