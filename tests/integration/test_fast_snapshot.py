"""The snapshot `GET` answered before Litestar's stack (app.fast_snapshot) is the route's own
answer: the same status, body and headers as Litestar's route for every kind of caller, and
whatever it does not answer plainly goes to Litestar."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar import Litestar

from app import fast_snapshot
from core import sessions
from core.sessions import SESSION_COOKIE
from tests.integration.conftest import Exchange, make_exchange
from tests.integration.test_auction_api import running
from tests.support import new_bidder

BASE = "http://testserver.local"


@dataclass
class Trace:
    answered: list[bool] = field(default_factory=list)  # by the fast path, per request
    entered: list[str] = field(default_factory=list)  # the middleware, by path

    def clear(self) -> None:
        self.answered.clear()
        self.entered.clear()


@pytest.fixture
def trace(monkeypatch: pytest.MonkeyPatch) -> Iterator[Trace]:
    """What the fast path answered, and which requests went through the app's middleware:
    AuthMiddleware signs in every request it sees by `core.sessions.authenticate` (the fast
    path holds its own reference to it, so only the middleware's calls are counted)."""
    seen = Trace()
    answer, authenticate = fast_snapshot.answer, sessions.authenticate

    async def answering(app: Any, scope: Any, send: Any) -> bool:
        seen.answered.append(await answer(app, scope, send))
        return seen.answered[-1]

    async def counted(scope: Any, svc: Any) -> Any:
        seen.entered.append(scope["path"])
        return await authenticate(scope, svc)

    monkeypatch.setattr(fast_snapshot, "answer", answering)
    monkeypatch.setattr(sessions, "authenticate", counted)
    yield seen


@contextlib.asynccontextmanager
async def _clients(ex: Exchange) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    """The app as served (fast path first), and Litestar's own entry (the route's stack)."""

    async def litestar_only(scope: Any, receive: Any, send: Any) -> None:
        await Litestar.__call__(ex.app, scope, receive, send)

    fast = httpx.AsyncClient(transport=httpx.ASGITransport(app=ex.app), base_url=BASE)
    stack = httpx.AsyncClient(transport=httpx.ASGITransport(app=litestar_only), base_url=BASE)
    async with fast, stack:
        yield fast, stack


@pytest.fixture
async def clients(exchange: Exchange) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    async with _clients(exchange) as pair:
        yield pair


def headers_of(response: httpx.Response) -> list[tuple[str, str]]:
    return [(k, v) for k, v in response.headers.multi_items() if k != "date"]


async def same_answer(
    clients: tuple[httpx.AsyncClient, httpx.AsyncClient],
    trace: Trace,
    path: str,
    *,
    fast: bool,
    method: str = "GET",
    **kw: Any,
) -> httpx.Response:
    """Ask both ways; the answers are equal; `fast`: the first was answered before the stack
    (whose middleware it never entered), else it went on to Litestar."""
    via_fast, via_stack = clients
    trace.clear()
    answered = await via_fast.request(method, path, **kw)
    assert trace.answered == [fast], (path, trace)
    if fast:
        assert trace.entered == [], path
    expected = await via_stack.request(method, path, **kw)
    if fast:
        assert trace.entered == [path]  # Litestar's route goes through the middleware
    assert answered.status_code == expected.status_code, (path, answered.text, expected.text)
    assert answered.content == expected.content, path
    assert headers_of(answered) == headers_of(expected), path
    return answered


def bearer(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def cookie(token: str | None) -> dict[str, str]:
    return {"Cookie": f"ruralx_csrf=x; {SESSION_COOKIE}={token}"}


async def test_every_caller_gets_the_routes_own_answer(
    exchange: Exchange,
    clients: tuple[httpx.AsyncClient, httpx.AsyncClient],
    trace: Trace,
) -> None:
    listing_id, (a, _), _ = await running(exchange)
    path = f"/api/v1/auctions/{listing_id}"
    reviewer = await exchange.http.login("reviewer")
    outsider = await new_bidder(exchange.http, "旁观者", None, None)

    async def check(**kw: Any) -> httpx.Response:
        return await same_answer(clients, trace, path, fast=True, **kw)

    anonymous = await check()
    assert anonymous.status_code == 200 and anonymous.json().get("you") is None
    assert anonymous.headers["cache-control"] == "no-store"
    assert anonymous.headers["x-content-type-options"] == "nosniff"
    # A qualified bidder sees their number, by bearer token and by the session cookie alike.
    for headers in (bearer(a.token), cookie(a.token)):
        mine = await check(headers=headers)
        assert mine.json()["you"]["bidder_number"], mine.text
    # A bidder who is not in this auction, and staff: no number.
    assert (await check(headers=bearer(outsider.token))).json().get("you") is None
    assert (await check(headers=cookie(reviewer.token))).json().get("you") is None
    # A stale session cookie is anonymous; a bad bearer token is the middleware's 401.
    assert (await check(headers=cookie("stale"))).json().get("you") is None
    assert (await check(headers={"Authorization": "Basic eDp5"})).json().get("you") is None
    refused = await check(headers=bearer("stale"))
    assert refused.status_code == 401 and refused.json()["code"] == "auth.token_invalid"
    # Leading zeros name the same auction, as Litestar's int parameter reads them.
    zeros = await same_answer(clients, trace, f"/api/v1/auctions/000{listing_id}", fast=True)
    assert zeros.content == anonymous.content


async def test_unknown_and_odd_requests(
    exchange: Exchange,
    clients: tuple[httpx.AsyncClient, httpx.AsyncClient],
    trace: Trace,
) -> None:
    listing_id, _, _ = await running(exchange, 2)
    unknown = await same_answer(clients, trace, "/api/v1/auctions/987654321", fast=True)
    assert unknown.status_code == 404 and unknown.json()["code"] == "auction.not_found"
    assert unknown.headers["content-type"].startswith("application/problem+json")
    largest = f"/api/v1/auctions/{2**63 - 1}"
    assert (await same_answer(clients, trace, largest, fast=True)).status_code == 404
    path = f"/api/v1/auctions/{listing_id}"
    for odd in (
        f"/api/v1/auctions/{2**63}",
        "/api/v1/auctions/99999999999999999999999",
        "/api/v1/auctions/-1",
        "/api/v1/auctions/+1",
        "/api/v1/auctions/1x",
        "/api/v1/auctions/",
        f"{path}/",
        f"{path}?x=1",
    ):
        await same_answer(clients, trace, odd, fast=False)
    for method in ("HEAD", "POST", "PUT", "DELETE", "OPTIONS"):
        await same_answer(clients, trace, path, fast=False, method=method)


async def test_tls_deployments_get_hsts_on_the_fast_path_too(
    database_url: str, tmp_path: Path, trace: Trace
) -> None:
    async with make_exchange(database_url, tmp_path, secure_cookies=True) as ex:
        listing_id, (a, _), _ = await running(ex)
        async with _clients(ex) as pair:
            for headers in ({}, bearer(a.token)):
                found = await same_answer(
                    pair, trace, f"/api/v1/auctions/{listing_id}", fast=True, headers=headers
                )
                assert "strict-transport-security" in found.headers
