"""Real server processes for end-to-end tests, with an auction ready to run."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import create_pg_database, drop_pg_database, migrated
from tests.servers import RURALX, Server, add_user, free_port, running_server, server_env
from tests.support import PASSWORD, XINGTIAN, Http, entrust_review_announce, sign_up_and_qualify
from tests.wsclient import RoomClient


@dataclass
class LiveExchange:
    database_url: str
    servers: list[Server] | list[Endpoint]
    anon: Http

    def room(self, listing_id: int, token: str | None = None, server: int = 0) -> RoomClient:
        base = self.servers[server % len(self.servers)].base_url.replace("http", "ws")
        return RoomClient(f"{base}/ws/auctions/{listing_id}", token)

    async def running_auction(
        self, bidders: int = 2, countdown_seconds: int = 60
    ) -> tuple[int, list[Http], list[dict[str, Any]]]:
        """A listing whose auction is in its countdown, with qualified bidders signed in."""
        admin = await self.anon.login("admin")
        await admin.ok(
            "PUT",
            "/api/v1/settings",
            {
                "notice_period_working_days": 0,
                "free_bidding_minutes": 0,
                "countdown_seconds": countdown_seconds,
            },
        )
        now = datetime.now(UTC)
        listing_id, _, reviewer = await entrust_review_announce(
            self.anon,
            now,
            closes_in=timedelta(seconds=4 + bidders),
            starts_in=timedelta(seconds=5 + bidders),
        )
        people, registrations = await sign_up_and_qualify(self.anon, reviewer, listing_id, bidders)
        deadline = asyncio.get_running_loop().time() + 60
        while True:
            response = await self.anon.call("GET", f"/api/v1/auctions/{listing_id}")
            if response.status_code == 200 and response.json()["status"] == "countdown":
                return listing_id, people, registrations
            assert asyncio.get_running_loop().time() < deadline, response.text
            await asyncio.sleep(0.1)


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
    run_dir = tmp_path / "run"
    port = free_port()
    env = server_env(
        url,
        tmp_path / "data",
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
        for name, role, region in [
            ("xingtian", "village", XINGTIAN),
            ("reviewer", "reviewer", None),
            ("admin", "admin", None),
        ]:
            await asyncio.to_thread(add_user, env, name, role, PASSWORD, region)
        base = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            yield LiveExchange(url, [Endpoint(base)], Http(client))
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
        await drop_pg_database(url)


@contextlib.asynccontextmanager
async def live_exchange(
    tmp_path: Path, *, redis: str | None, workers: int, **env: str
) -> AsyncIterator[LiveExchange]:
    """SQLite with one worker, or PostgreSQL + Redis with `workers` app processes."""
    if redis is None:
        url = await migrated(f"sqlite+aiosqlite:///{tmp_path / 'ruralx.db'}")
        envs = [server_env(url, tmp_path / "data", **env)]
    else:
        redis_url, prefix = redis.split("#")
        url = await migrated(await create_pg_database())
        envs = [
            server_env(
                url,
                tmp_path / "data",
                RURALX_REDIS_URL=redis_url,
                RURALX_REDIS_PREFIX=prefix,
                **env,
            )
            for _ in range(workers)
        ]
    try:
        for name, role, region in [
            ("xingtian", "village", XINGTIAN),
            ("reviewer", "reviewer", None),
            ("admin", "admin", None),
        ]:
            await asyncio.to_thread(add_user, envs[0], name, role, PASSWORD, region)
        with contextlib.ExitStack() as stack:
            servers = [stack.enter_context(running_server(e, tmp_path)) for e in envs]
            async with httpx.AsyncClient(base_url=servers[0].base_url, timeout=30) as client:
                yield LiveExchange(url, servers, Http(client))
    finally:
        if redis is not None:
            await drop_pg_database(url)


@pytest.fixture
async def pg_two_workers(tmp_path: Path, redis_url: str) -> AsyncIterator[LiveExchange]:
    async with live_exchange(tmp_path, redis=redis_url, workers=2) as exchange:
        yield exchange
