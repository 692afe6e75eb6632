"""Migration 0003 creates exactly the tables `contracts.models` declares (both databases)."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine

from contracts import models
from core.db import Base

TABLES = {"contracts", "contract_signatures", "signing_certificates", "rent_items"}


def _names(diff: Any) -> set[str]:
    found = set()
    for item in diff if isinstance(diff, list) else [diff]:
        for part in item if isinstance(item, tuple) else (item,):
            table = getattr(part, "table", None)
            name = getattr(part, "name", None)
            if table is not None and getattr(table, "name", None):
                found.add(table.name)
            elif isinstance(part, str) and part in TABLES:
                found.add(part)
            elif name in TABLES:
                found.add(name)
    return found


async def test_migration_matches_the_models(database_url: str) -> None:
    assert {t for t in Base.metadata.tables if t in TABLES} == TABLES
    assert models.Contract.__tablename__ in TABLES
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            diffs = await connection.run_sync(
                lambda sync: compare_metadata(
                    MigrationContext.configure(sync, opts={"compare_type": True}), Base.metadata
                )
            )
    finally:
        await engine.dispose()
    mine = [d for d in diffs if _names(d) & TABLES]
    assert mine == [], mine
