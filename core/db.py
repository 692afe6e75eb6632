"""Database access: one async engine per process, write transactions that hold the lock.

SQLite (embedded default) gets a single writer connection that opens every write
transaction with BEGIN IMMEDIATE, so writers queue in-process instead of polling a busy
file, and WAL so readers are never blocked. PostgreSQL gets an ordinary pool; rows that
must have one writer are locked with SELECT … FOR UPDATE by the services.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

import asyncpg
import msgspec
from sqlalchemy import JSON, BigInteger, DateTime, Integer, MetaData, Table, event, make_url
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only auto-increments INTEGER PRIMARY KEY; BIGINT elsewhere.
BigId = BigInteger().with_variant(Integer(), "sqlite")
Json = JSON().with_variant(JSONB(), "postgresql")


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out, on SQLite (which stores naive text) as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime stored; use the injected clock")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


S = TypeVar("S")


class StructJson(TypeDecorator[S]):
    """A JSON column that the code sees as a typed value (a msgspec Struct or a dataclass),
    decoded and validated here once (the model boundary), so nothing reads it by string keys.
    Written as that value's JSON."""

    impl = JSON
    cache_ok = True

    def __init__(self, struct: type[S]) -> None:
        super().__init__()
        self.struct = struct

    def load_dialect_impl(self, dialect: Any) -> Any:
        return dialect.type_descriptor(JSONB() if dialect.name == "postgresql" else JSON())

    def process_bind_param(self, value: S | None, dialect: Any) -> Any:
        return None if value is None else msgspec.to_builtins(value)

    def process_result_value(self, value: Any, dialect: Any) -> S | None:
        return None if value is None else msgspec.convert(value, self.struct)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def table_of(model: type[Base]) -> Table:
    """A mapped class's table, typed as one (SQLAlchemy types `__table__` as a FromClause)."""
    return cast(Table, model.__table__)


class Database:
    """The process's engines and the two ways to get a session: `read()` and `write()`."""

    def __init__(
        self, url: str, *, echo: bool = False, pool_size: int = 10, bid_pool_size: int = 20
    ) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            connect_args = {"timeout": 30}
            self.engine = create_async_engine(url, echo=echo, connect_args=connect_args)
            # One connection serialises writers in-process (a FIFO queue at the pool).
            self.writer = create_async_engine(
                url,
                echo=echo,
                connect_args=connect_args,
                pool_size=1,
                max_overflow=0,
                pool_timeout=60,
            )
            _sqlite_pragmas(self.engine, immediate=False)
            _sqlite_pragmas(self.writer, immediate=True)
        else:
            # Size × workers must stay under PostgreSQL's max_connections.
            self.engine = create_async_engine(
                url,
                echo=echo,
                pool_size=pool_size,
                max_overflow=pool_size,
                pool_pre_ping=True,
            )
            self.writer = self.engine
        self._read = async_sessionmaker(self.engine, expire_on_commit=False)
        self._write = async_sessionmaker(self.writer, expire_on_commit=False)
        self._bid_pool_size = max(2, bid_pool_size)
        self._raw: asyncpg.Pool | None = None
        self._raw_opening: asyncio.Lock = asyncio.Lock()

    async def raw(self) -> asyncpg.Pool | None:
        """PostgreSQL only: an asyncpg pool of `bid_pool_size` connections for the bid book's
        plain SQL (RURALX_DB_BID_POOL_SIZE).

        Prepared statements stay cached per connection, and nothing is paid on checkout or
        return (no pre-ping, no reset query): its users finish every transaction they begin.
        It counts against max_connections beside the engine's pool (docs/deploy.md).
        """
        if self.is_sqlite or self._raw is not None:
            return self._raw
        async with self._raw_opening:
            if self._raw is None:
                dsn = make_url(self.url).set(drivername="postgresql")
                self._raw = await asyncpg.create_pool(
                    dsn.render_as_string(hide_password=False),
                    min_size=1,
                    max_size=self._bid_pool_size,
                    reset=_keep,
                )
        return self._raw

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """A transaction that commits on success and rolls back on any exception."""
        async with self._write() as session, session.begin():
            yield session

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        async with self._read() as session:
            yield session

    async def dispose(self) -> None:
        if self._raw is not None:
            await self._raw.close()
            self._raw = None
        await self.engine.dispose()
        if self.writer is not self.engine:
            await self.writer.dispose()


async def _keep(_connection: asyncpg.Connection) -> None:
    """No reset on return to the raw pool (asyncpg's default costs a round trip each time)."""


def _sqlite_pragmas(engine: AsyncEngine, *, immediate: bool) -> None:
    # pysqlite's own transaction handling defers BEGIN and cannot do IMMEDIATE; take it over.
    @event.listens_for(engine.sync_engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
