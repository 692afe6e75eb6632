"""Schemathesis over the whole OpenAPI schema against a running server, on SQLite and on
PostgreSQL: whatever the schema allows (and the negative cases it derives), no answer is a
5xx, and every error is problem JSON (docs/security.md §7).

Each operation is called as someone its role guard admits (from the app's route table), so
the generated input reaches the handlers instead of stopping at 401.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from litestar.routes import HTTPRoute
from sqlalchemy import select

from app.main import create_app
from core.accounts import Passwords, User
from core.config import Config
from core.db import Database
from tests.conftest import redis_prefixed
from tests.e2e.conftest import LiveExchange, live_exchange
from tests.servers import add_users
from tests.support import PASSWORD, phone, resident_id

pytestmark = [pytest.mark.slow]

#: Examples per operation: positive and negative ones, derandomized so a run is reproducible.
EXAMPLES = 15
#: Who signs in for an operation admitting several roles: the first of these it admits.
PREFERENCE = ("admin", "reviewer", "regulator", "village", "bidder")
#: Who signs in as each role (the bidder is signed up by the test).
NAMES = {
    "admin": "admin",
    "reviewer": "reviewer",
    "regulator": "town-regulator",
    "village": "xingtian",
}


def guard_roles(tmp_path: Path) -> dict[tuple[str, str], tuple[str, ...] | None]:
    """(method, path as in the schema) → the roles its guard admits (None: public)."""
    app = create_app(
        Config(database_url=f"sqlite+aiosqlite:///{tmp_path}/r.db", data_dir=str(tmp_path)),
        run_scheduler=False,
    )
    roles: dict[tuple[str, str], tuple[str, ...] | None] = {}
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        template = route.path.replace(":int", "").replace(":str", "").replace(":path", "")
        for handler in route.route_handlers:
            declared = None
            for guard in handler.resolve_guards():
                found = getattr(getattr(guard, "func", guard), "ruralx_roles", None)
                if found is not None:
                    declared = tuple(found)
            for method in handler.http_methods:
                roles[(method, template)] = declared
    return roles


async def sign_up_bidder(ex: LiveExchange) -> str:
    await add_users(ex.database_url, [("town-regulator", "regulator", None)], PASSWORD)
    mobile = phone()
    await ex.anon.ok(
        "POST",
        "/api/v1/bidders",
        {
            "name": "测试竞买人",
            "id_type": "resident_id",
            "id_number": resident_id(),
            "phone": mobile,
            "password": PASSWORD,
        },
        status=201,
    )
    return mobile


async def fresh_token(ex: LiveExchange, username: str) -> str:
    """Undo what earlier operations did to the account (random ids reach it: deactivated,
    password reset, signed out), then sign in anew."""
    db = Database(ex.database_url)
    try:
        async with db.write() as session:
            user = await session.scalar(select(User).where(User.username == username))
            assert user is not None
            user.active = True
            user.password_hash = Passwords(time_cost=1, memory_kib=1024).hash(PASSWORD)
    finally:
        await db.dispose()
    return str((await ex.anon.login(username)).token)


def operations(base_url: str) -> list[Any]:
    schema = schemathesis.openapi.from_url(f"{base_url}/schema/openapi.json")
    return [result.ok() for result in schema.get_all_operations()]


def fuzz_operation(operation: Any, base_url: str, role: str | None, token: str | None) -> list[str]:
    """EXAMPLES generated cases of one operation; what went wrong."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    failures: list[str] = []

    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case: schemathesis.Case) -> None:
        response = case.call(base_url=base_url, headers=headers, timeout=30)
        label = f"{case.method} {case.formatted_path} as {role or 'anonymous'}"
        if response.status_code >= 500:
            failures.append(f"{label}: {response.status_code} {response.text[:200]}")
        elif response.status_code >= 400:
            media = (response.headers.get("content-type") or [""])[0].split(";")[0]
            if media != "application/problem+json":
                failures.append(f"{label}: {response.status_code} as {media}")

    check()
    return failures


async def fuzz(ex: LiveExchange, tmp_path: Path) -> None:
    roles = guard_roles(tmp_path)
    names = {**NAMES, "bidder": await sign_up_bidder(ex)}
    base_url = ex.servers[0].base_url
    failures: list[str] = []
    ran = 0
    for operation in await asyncio.to_thread(operations, base_url):
        admitted = roles.get((operation.method.upper(), operation.path))
        role = None
        if admitted is not None:
            role = next((r for r in PREFERENCE if not admitted or r in admitted), None)
        token = await fresh_token(ex, names[role]) if role else None
        failures += await asyncio.to_thread(fuzz_operation, operation, base_url, role, token)
        ran += 1
    api = {k for k in roles if k[1].startswith("/api/") and k[0] not in ("OPTIONS", "HEAD")}
    assert ran == len(api), f"the schema lists {ran} of the {len(api)} API operations"
    assert failures == [], "\n".join(failures[:50])


async def test_no_server_errors_on_sqlite(tmp_path: Path) -> None:
    async with live_exchange(tmp_path, redis=None, workers=1) as ex:
        await fuzz(ex, tmp_path)


@pytest.mark.postgres
@pytest.mark.redis
async def test_no_server_errors_on_postgresql(tmp_path: Path) -> None:
    async with redis_prefixed() as redis, live_exchange(tmp_path, redis=redis, workers=1) as ex:
        await fuzz(ex, tmp_path)
