"""The migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine

from app.models import metadata


def _significant(diff: Any) -> bool:
    # Type comparison across dialect variants (JSON/JSONB, BIGINT/INTEGER on SQLite) is noise.
    kind = diff[0][0] if isinstance(diff, list) else diff[0]
    return kind not in ("modify_type",)


async def test_migrations_match_the_models(database_url: str) -> None:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            diffs = await conn.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync), metadata)
            )
    finally:
        await engine.dispose()
    assert [d for d in diffs if _significant(d)] == []
