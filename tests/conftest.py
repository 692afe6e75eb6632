"""Fixtures shared by every tier: databases (SQLite, PostgreSQL), services, servers.

With REQUIRE_SERVICES=1 (CI) a missing PostgreSQL, Redis or browser fails the test instead
of skipping it.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"
PG_ADMIN_DSN = os.environ.get("RURALX_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def unavailable(what: str, why: object) -> None:
    message = f"{what} unavailable: {why}"
    if REQUIRE_SERVICES:
        pytest.fail(message)
    pytest.skip(message)


async def _pg_admin() -> Any:
    import asyncpg

    try:
        return await asyncpg.connect(PG_ADMIN_DSN, timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        unavailable("PostgreSQL", exc)
        raise


def _pg_url(name: str) -> str:
    base = PG_ADMIN_DSN.replace("postgresql://", "postgresql+asyncpg://").rsplit("/", 1)[0]
    return f"{base}/{name}"


# Migrating takes seconds; copying a migrated database takes milliseconds. So each test run
# migrates once per database kind and every test gets a copy: PostgreSQL clones a template
# database (one per run, shared by the xdist workers, dropped when the run ends), SQLite copies
# a file (one per worker process).
_RUN_KEY = "ruralx_test_run"
_run_id = uuid.uuid4().hex[:12]
_sqlite_template: Path | None = None


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist: every worker clones the controller's template, not one of its own."""
    node.workerinput[_RUN_KEY] = _run_id


def pytest_configure(config: pytest.Config) -> None:
    global _run_id
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:
        _run_id = workerinput[_RUN_KEY]


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Longest first: files with browser tests, then the other slow (server) files, then the
    rest, larger files before smaller; a file's tests keep their order and stay together.

    `make test` hands whole files to three xdist workers in this order (`--dist loadfile
    --no-loadscope-reorder`). xdist's own order (most tests first) queued the browser files,
    one to four tests of minutes each, behind every file with more tests, so the run ended
    waiting on them. Runs last, after pytest's grouping by fixture scope, and moves only whole
    files, so that grouping stands.
    """
    by_file: dict[Path, list[pytest.Item]] = {}
    for item in items:
        by_file.setdefault(item.path, []).append(item)

    def weight(tests: list[pytest.Item]) -> tuple[int, int]:
        marks = {mark.name for item in tests for mark in item.iter_markers()}
        group = 0 if "browser" in marks else 1 if "slow" in marks else 2
        return group, -len(tests)

    items[:] = [item for tests in sorted(by_file.values(), key=weight) for item in tests]


def _template_name() -> str:
    return f"ruralx_template_{_run_id}"


async def _pg_template() -> str:
    """The run's migrated template database, made by whichever worker asks first."""
    name = _template_name()
    conn = await _pg_admin()
    try:
        # One builder per run: the others wait on the lock, then find it made.
        await conn.execute("SELECT pg_advisory_lock(hashtext($1))", name)
        try:
            if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
                building = f"{name}_building"
                await conn.execute(f'DROP DATABASE IF EXISTS "{building}"')
                await conn.execute(f'CREATE DATABASE "{building}"')
                await migrated(_pg_url(building))
                # Renamed only once complete: a template that exists is a migrated one.
                await conn.execute(f'ALTER DATABASE "{building}" RENAME TO "{name}"')
        finally:
            await conn.execute("SELECT pg_advisory_unlock(hashtext($1))", name)
    finally:
        await conn.close()
    return name


async def create_pg_database(*, empty: bool = False) -> str:
    """A new database of this test's own, migrated unless `empty`; returns its SQLAlchemy URL."""
    template = "template0" if empty else await _pg_template()
    name = f"ruralx_test_{uuid.uuid4().hex[:12]}"
    conn = await _pg_admin()
    try:
        await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    finally:
        await conn.close()
    return _pg_url(name)


async def drop_pg_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    conn = await _pg_admin()
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def pytest_sessionfinish(session: pytest.Session) -> None:
    """The controller (or a run without xdist) drops the run's template, if one was made."""
    if hasattr(session.config, "workerinput"):
        return

    async def drop() -> None:
        import asyncpg

        try:
            conn = await asyncpg.connect(PG_ADMIN_DSN, timeout=5)
        except (OSError, asyncpg.PostgresError):
            return  # no server, so no template either
        try:
            for name in (_template_name(), f"{_template_name()}_building"):
                await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    asyncio.run(drop())


async def migrated(url: str) -> str:
    """Run the migrations on the database at `url` (alembic, as `ruralx migrate` does)."""
    from app.migrate import upgrade

    await asyncio.to_thread(upgrade, url)  # alembic runs its own event loop
    return url


async def sqlite_database(path: Path) -> str:
    """A migrated SQLite database at `path`: a copy of this worker's migrated template."""
    global _sqlite_template
    if _sqlite_template is None:
        directory = Path(tempfile.mkdtemp(prefix="ruralx-template-"))
        atexit.register(shutil.rmtree, directory, ignore_errors=True)
        await migrated(f"sqlite+aiosqlite:///{directory / 'template.db'}")
        _sqlite_template = directory / "template.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(_sqlite_template, path)
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    url = await create_pg_database()
    try:
        yield url
    finally:
        await drop_pg_database(url)


@pytest.fixture
async def sqlite_url(tmp_path: Path) -> str:
    return await sqlite_database(tmp_path / "ruralx.db")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """The same test on the embedded default and on PostgreSQL."""
    if request.param == "sqlite":
        yield await sqlite_database(tmp_path / "ruralx.db")
        return
    url = await create_pg_database()
    try:
        yield url
    finally:
        await drop_pg_database(url)


REDIS_URL = os.environ.get("RURALX_TEST_REDIS", "redis://127.0.0.1:6379/0")


@contextlib.asynccontextmanager
async def redis_prefixed() -> AsyncIterator[str]:
    """The Redis server, as `URL#prefix` with a prefix of its own (its keys removed after)."""
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


@pytest.fixture
async def redis_url() -> AsyncIterator[str]:
    async with redis_prefixed() as url:
        yield url
