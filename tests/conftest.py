"""Fixtures shared by every tier: databases (SQLite, PostgreSQL), services, servers.

With REQUIRE_SERVICES=1 (CI) a missing PostgreSQL, Redis or browser fails the test instead
of skipping it.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"
PG_ADMIN_DSN = os.environ.get("RURALX_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def unavailable(what: str, why: object) -> None:
    message = f"{what} unavailable: {why}"
    if REQUIRE_SERVICES:
        pytest.fail(message)
    pytest.skip(message)


async def _pg_admin() -> object:
    import asyncpg

    try:
        return await asyncpg.connect(PG_ADMIN_DSN, timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        unavailable("PostgreSQL", exc)
        raise


async def create_pg_database() -> str:
    """A new empty database; returns its SQLAlchemy URL."""
    name = f"ruralx_test_{uuid.uuid4().hex[:12]}"
    conn = await _pg_admin()
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')  # type: ignore[attr-defined]
    finally:
        await conn.close()  # type: ignore[attr-defined]
    return (
        PG_ADMIN_DSN.replace("postgresql://", "postgresql+asyncpg://").rsplit("/", 1)[0]
        + f"/{name}"
    )


async def drop_pg_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    conn = await _pg_admin()
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # type: ignore[attr-defined]
    finally:
        await conn.close()  # type: ignore[attr-defined]


async def migrated(url: str) -> str:
    from app.migrate import upgrade

    await asyncio.to_thread(upgrade, url)  # alembic runs its own event loop
    return url


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    url = await create_pg_database()
    try:
        yield await migrated(url)
    finally:
        await drop_pg_database(url)


@pytest.fixture
async def sqlite_url(tmp_path: Path) -> str:
    return await migrated(f"sqlite+aiosqlite:///{tmp_path / 'ruralx.db'}")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """The same test on the embedded default and on PostgreSQL."""
    if request.param == "sqlite":
        yield await migrated(f"sqlite+aiosqlite:///{tmp_path / 'ruralx.db'}")
        return
    url = await create_pg_database()
    try:
        yield await migrated(url)
    finally:
        await drop_pg_database(url)


REDIS_URL = os.environ.get("RURALX_TEST_REDIS", "redis://127.0.0.1:6379/0")


@pytest.fixture
async def redis_url() -> AsyncIterator[str]:
    """The Redis server, with a key prefix of this test's own (its keys removed afterwards)."""
    from redis.asyncio import Redis

    client = Redis.from_url(REDIS_URL)
    try:
        await client.ping()
    except Exception as exc:
        unavailable("Redis", exc)
    finally:
        await client.aclose()
    prefix = f"ruralx-test-{uuid.uuid4().hex[:8]}"
    try:
        yield f"{REDIS_URL}#{prefix}"
    finally:
        # A fresh connection: the test may have restarted Redis meanwhile.
        client = Redis.from_url(REDIS_URL)
        try:
            keys = [k async for k in client.scan_iter(match=f"{prefix}*")]
            if keys:
                await client.delete(*keys)
        finally:
            await client.aclose()
