"""Real server processes for end-to-end tests, with an auction ready to run."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from tests.conftest import create_pg_database, drop_pg_database, sqlite_database
from tests.e2e.browser_support import launched
from tests.servers import (
    RURALX,
    Server,
    ServerClock,
    add_users,
    free_port,
    running_servers,
    server_env,
)
from tests.support import (
    PASSWORD,
    XINGTIAN,
    Http,
    entrust_review_announce,
    sign_up_and_qualify,
    until,
)
from tests.wsclient import RoomClient


@dataclass
class LiveExchange:
    database_url: str
    servers: list[Server] | list[Endpoint]
    anon: Http
    clock: ServerClock

    def room(self, listing_id: int, token: str | None = None, server: int = 0) -> RoomClient:
        base = self.servers[server % len(self.servers)].base_url.replace("http", "ws")
        return RoomClient(f"{base}/ws/auctions/{listing_id}", token)

    async def quick_rules(self, **settings: Any) -> None:
        """The administrator sets QUICK_RULES, and `settings` over them."""
        admin = await self.anon.login("admin")
        await admin.ok("PUT", "/api/v1/settings", {**QUICK_RULES, **settings})

    async def quick_listing(self, **settings: Any) -> tuple[int, Http, Http, datetime]:
        """Under QUICK_RULES (and `settings`) a listing entrusted, reviewed and announced now:
        registration for REGISTRATION, the auction a minute later. (id, village, reviewer,
        when announced)"""
        await self.quick_rules(**settings)
        now = self.clock.now()
        listing_id, village, reviewer = await entrust_review_announce(
            self.anon, now, closes_in=REGISTRATION, starts_in=REGISTRATION + timedelta(minutes=1)
        )
        return listing_id, village, reviewer, now

    async def running_auction(
        self, bidders: int = 2, countdown_seconds: int = 60
    ) -> tuple[int, list[Http], list[dict[str, Any]]]:
        """A listing whose auction is in its countdown, with qualified bidders signed in."""
        listing_id, _, reviewer, now = await self.quick_listing(countdown_seconds=countdown_seconds)
        people, registrations = await sign_up_and_qualify(self.anon, reviewer, listing_id, bidders)
        await self.open_auction(listing_id, now)
        return listing_id, people, registrations

    async def open_auction(self, listing_id: int, announced: datetime) -> None:
        """Move server time past registration close and the start; return in the countdown."""
        await self.close_registration(listing_id, announced)
        await self.start_auction(listing_id, announced)

    async def close_registration(self, listing_id: int, announced: datetime) -> None:
        """Server time jumps past registration close (REGISTRATION after `announced`)."""
        self.clock.jump_to(announced + REGISTRATION + timedelta(seconds=1))
        await until(
            lambda: self.anon.call("GET", f"/api/v1/auctions/{listing_id}"),
            lambda r: r.status_code == 200,
            what="registration close",
        )

    async def start_auction(self, listing_id: int, announced: datetime) -> None:
        """Server time jumps past the start (a minute after close); returns in the countdown."""
        watcher = await self.room(listing_id).connect(last_seq=0)
        try:
            self.clock.jump_to(announced + REGISTRATION + timedelta(minutes=1, seconds=1))
            await watcher.wait_for(lambda f: f["type"] == "phase" and f["status"] == "countdown")
        finally:
            await watcher.close()

    async def end_countdown(self, listing_id: int) -> dict[str, Any]:
        """Let the countdown run out (server time jumps past it); returns the `ended` frame."""
        watcher = await self.room(listing_id).connect(last_seq=0)
        try:
            await self.pass_deadline(listing_id)
            return await watcher.wait_for(lambda f: f["type"] == "ended")
        finally:
            await watcher.close()

    async def pass_deadline(self, listing_id: int) -> None:
        """Server time jumps past the auction's current deadline (the countdown's end)."""
        snapshot = await self.anon.ok("GET", f"/api/v1/auctions/{listing_id}")
        if snapshot["status"] != "ended":
            ends_at = datetime.fromisoformat(snapshot["ends_at"].replace("Z", "+00:00"))
            self.clock.jump_to(ends_at + timedelta(seconds=1))


#: The staff of every end-to-end exchange: (username, role, region).
STAFF: list[tuple[str, str, str | None]] = [
    ("xingtian", "village", XINGTIAN),
    ("reviewer", "reviewer", None),
    ("admin", "admin", None),
]

#: How long test listings take registrations; server time jumps over it.
REGISTRATION = timedelta(hours=1)
#: Rules of the end-to-end listings: no notice period or qualification window, straight to a
#: one-minute countdown once the auction starts.
QUICK_RULES: dict[str, Any] = {
    "notice_period_working_days": 0,
    "qualification_window_minutes": 0,
    "free_bidding_minutes": 0,
    "countdown_seconds": 60,
}


@dataclass
class Endpoint:
    """A base URL served by something other than one of our test processes (e.g. nginx)."""

    base_url: str


ROOT = Path(__file__).resolve().parents[2]


@contextlib.asynccontextmanager
async def deployed(tmp_path: Path, redis: str, workers: int = 2) -> AsyncIterator[LiveExchange]:
    """The production profile via deploy/local-up: PostgreSQL + Redis + workers behind nginx."""
    redis_url, prefix = redis.split("#")
    url = await create_pg_database()
    try:
        await add_users(url, STAFF, PASSWORD)
        async with _local_up(tmp_path, url, redis_url, prefix, workers) as exchange:
            yield exchange
    finally:
        await drop_pg_database(url)


@contextlib.asynccontextmanager
async def _local_up(
    tmp_path: Path, url: str, redis_url: str, prefix: str, workers: int
) -> AsyncIterator[LiveExchange]:
    run_dir = tmp_path / "run"
    port = free_port()
    clock = ServerClock(tmp_path / "clock")
    env = server_env(
        url,
        tmp_path / "data",
        clock,
        # deploy/local-up starts a production profile, which refuses the test clock.
        RURALX_PRODUCTION="0",
        RURALX_REDIS_URL=redis_url,
        RURALX_REDIS_PREFIX=prefix,
        RURALX_WORKERS=str(workers),
        RURALX_PORT=str(port),
        RURALX_RUN_DIR=str(run_dir),
        RURALX_BIN=RURALX,
    )
    try:
        up = await asyncio.to_thread(
            subprocess.run,
            [str(ROOT / "deploy/local-up")],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert up.returncode == 0, up.stdout + up.stderr
        base = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            yield LiveExchange(url, [Endpoint(base)], Http(client), clock)
    finally:
        down = await asyncio.to_thread(
            subprocess.run,
            [str(ROOT / "deploy/local-down")],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert down.returncode == 0, down.stdout + down.stderr
        assert not list(run_dir.glob("*.pid")), "local-down left processes behind"


@contextlib.asynccontextmanager
async def live_exchange(
    tmp_path: Path, *, redis: str | None, workers: int, **env: str
) -> AsyncIterator[LiveExchange]:
    """SQLite with one worker, or PostgreSQL + Redis with `workers` app processes."""
    clock = ServerClock(tmp_path / "clock")
    if redis is None:
        url = await sqlite_database(tmp_path / "ruralx.db")
        envs = [server_env(url, tmp_path / "data", clock, **env)]
    else:
        redis_url, prefix = redis.split("#")
        url = await create_pg_database()
        envs = [
            server_env(
                url,
                tmp_path / "data",
                clock,
                RURALX_REDIS_URL=redis_url,
                RURALX_REDIS_PREFIX=prefix,
                **env,
            )
            for _ in range(workers)
        ]
    try:
        await add_users(url, STAFF, PASSWORD)
        with running_servers(envs, tmp_path) as servers:
            async with httpx.AsyncClient(base_url=servers[0].base_url, timeout=30) as client:
                yield LiveExchange(url, servers, Http(client), clock)
    finally:
        if redis is not None:
            await drop_pg_database(url)


@pytest.fixture
async def pg_two_workers(tmp_path: Path, redis_url: str) -> AsyncIterator[LiveExchange]:
    async with live_exchange(tmp_path, redis=redis_url, workers=2) as exchange:
        yield exchange


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def worker_chromium() -> AsyncIterator[Any]:
    """One Chromium for the browser tests of this process (an xdist worker): each test opens
    contexts of its own in it (browser_support.chromium). Launched when the first browser test
    asks for it."""
    async with launched() as browser:
        yield browser
