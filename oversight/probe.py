"""Tables of packages being built alongside (contracts), found by reflection when present.

The contracts package adds its tables in a migration of its own; until that has run, the
checks that need them are skipped (and say so) instead of failing.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import MetaData, Table, inspect
from sqlalchemy.ext.asyncio import AsyncSession

_found: dict[str, Table] = {}


async def table(session: AsyncSession, name: str) -> Table | None:
    """The reflected table, or None if the database does not have it (yet)."""
    if name in _found:
        return _found[name]

    def reflect(sync_session: Any) -> Table | None:
        connection = sync_session.connection()
        if not inspect(connection).has_table(name):
            return None
        return Table(name, MetaData(), autoload_with=connection)

    found = await session.run_sync(reflect)
    if found is not None:
        _found[name] = found
    return found
