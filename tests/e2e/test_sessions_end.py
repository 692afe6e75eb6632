"""A deactivated account is signed out at once on every worker, not after the workers'
sign-in caches expire (PostgreSQL, Redis, two workers)."""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.conftest import LiveExchange
from tests.support import Http, until

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]


async def test_a_deactivated_user_is_signed_out_everywhere_at_once(
    pg_two_workers: LiveExchange,
) -> None:
    ex = pg_two_workers
    admin = await ex.anon.login("admin")  # on worker 0
    async with httpx.AsyncClient(base_url=ex.servers[1].base_url, timeout=30) as client:
        village = await Http(client).login("xingtian")  # on worker 1
        me = await village.ok("GET", "/api/v1/auth/me")  # worker 1 now caches the sign-in
        await admin.ok("POST", f"/api/v1/users/{me['id']}/deactivate", {"reason": "离职"})
        # The other worker is told through Redis: refused within a message's trip between
        # workers, far inside the 5 s its cache would otherwise keep the sign-in.
        await until(
            lambda: village.call("GET", "/api/v1/auth/me"),
            lambda r: r.status_code == 401,
            what="the other worker to sign the user out",
            timeout=1,
            every=0.01,
        )
