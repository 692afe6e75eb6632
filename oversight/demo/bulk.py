"""Writing demo rows in bulk with explicit ids: COPY on PostgreSQL, batched inserts elsewhere,
sequences moved past the ids afterwards."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import msgspec
from sqlalchemy import JSON, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from core.accounts import Region, ensure_region
from core.db import StructJson

_CHUNK: Final = 5000


async def regions_of(session: AsyncSession, paths: list[str]) -> dict[str, Region]:
    """The villages (and their towns, via the use case), villages inserted in bulk."""
    towns = {path.rsplit("/", 1)[0] for path in paths}
    parents = {town: await ensure_region(session, town) for town in sorted(towns)}
    existing = set(await session.scalars(select(Region.path).where(Region.path.in_(paths))))
    await bulk(
        session,
        Region,
        [
            {
                "parent_id": parents[p.rsplit("/", 1)[0]].id,
                "name": p.rsplit("/", 1)[1],
                "level": "village",
                "path": p,
            }
            for p in paths
            if p not in existing
        ],
    )
    rows = await session.scalars(select(Region).where(Region.path.in_(paths)))
    return {r.path: r for r in rows}


async def reserve_ids(session: AsyncSession, model: Any) -> int:
    return int(await session.scalar(select(func.max(model.id))) or 0)


async def bump_sequences(session: AsyncSession, tables: Sequence[str]) -> None:
    if session.get_bind().dialect.name != "postgresql":
        return
    for table in tables:
        await session.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT COALESCE(MAX(id), 1) FROM {table}))"
            )
        )


async def bulk(session: AsyncSession, model: Any, rows: list[dict[str, Any]]) -> None:
    """COPY on PostgreSQL; Core executemany (batched multi-row VALUES) elsewhere."""
    if not rows:
        return
    connection = await session.connection()
    table = model.__table__
    if session.get_bind().dialect.name == "postgresql":
        raw = (await connection.get_raw_connection()).driver_connection
        assert raw is not None  # an open asyncpg connection
        names = list(rows[0])
        json_columns = {
            c.name
            for c in table.columns
            if c.name in names and isinstance(c.type, JSON | StructJson)
        }
        records = [
            tuple(msgspec.json.encode(r[n]).decode() if n in json_columns else r[n] for n in names)
            for r in rows
        ]
        await raw.copy_records_to_table(table.name, records=records, columns=names)
        return
    statement = insert(table)
    for start in range(0, len(rows), _CHUNK):
        await connection.execute(statement, rows[start : start + _CHUNK])
