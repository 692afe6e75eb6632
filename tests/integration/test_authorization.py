"""Who may do what: anonymous callers, roles, villages, bidders, sessions, CSRF, rate limits."""

from __future__ import annotations

import asyncio
import copy
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from app.main import build_services, create_app
from core.accounts import NewUser, Region, add_user
from core.config import Config
from core.errors import TooManyRequests
from core.ids import mask_id_number, mask_name
from core.ledger import LedgerEntry
from core.web import PUBLIC
from listings.models import Listing, Registration
from tests.integration import conftest as integration_conftest
from tests.integration.conftest import Exchange
from tests.support import (
    PASSWORD,
    SEED_LISTING,
    XINGTIAN,
    Http,
    iso,
    phone,
    resident_id,
    submit,
)

PROBLEM = "application/problem+json"
LISTINGS = "/api/v1/listings"
ROLES_USERS = {
    "village": "xingtian",
    "reviewer": "reviewer",
    "regulator": "regulator",
    "admin": "admin",
}


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].split(";")[0].strip() == PROBLEM, response.headers
    body = response.json()
    assert body["code"] == code, body
    assert body["status"] == status
    return body


async def writes(exchange: Exchange) -> tuple[int, int, int]:
    async with exchange.services.db.read() as session:
        return (
            await session.scalar(select(func.count()).select_from(Listing)) or 0,
            await session.scalar(select(func.count()).select_from(Registration)) or 0,
            await session.scalar(select(func.count()).select_from(LedgerEntry)) or 0,
        )


async def new_bidder(anon: Http, holder_id: str | None = None) -> Http:
    mobile = phone()
    await anon.ok(
        "POST",
        "/api/v1/bidders",
        {
            "name": "王五",
            "id_type": "resident_id",
            "id_number": holder_id or resident_id(),
            "phone": mobile,
            "password": PASSWORD,
        },
        status=201,
    )
    return await anon.login(mobile)


@dataclass
class World:
    anon: Http
    village: Http
    other_village: Http
    reviewer: Http
    regulator: Http
    admin: Http
    bidder: Http
    draft_id: int
    announced_id: int
    registration_id: int


HOLDER_ID = resident_id("19700202", 7)
SECRET_TERMS = {
    "reserve_fen": 1_500_000,
    "priority_holders": [{"name": "陈阿明", "id_type": "resident_id", "id_number": HOLDER_ID}],
}


@pytest.fixture
async def world(exchange: Exchange) -> World:
    anon, now = exchange.http, exchange.clock.now()
    village = await anon.login("xingtian")
    reviewer = await anon.login("reviewer")
    body = copy.deepcopy(SEED_LISTING)
    body["terms"].update(SECRET_TERMS)
    draft = await village.ok("POST", LISTINGS, body, status=201)
    announced = await village.ok("POST", LISTINGS, body, status=201)
    await submit(village, announced["id"])
    await reviewer.ok("POST", f"{LISTINGS}/{announced['id']}/review", {"decision": "accept"})
    await reviewer.ok(
        "POST",
        f"{LISTINGS}/{announced['id']}/announce",
        {
            "registration_closes_at": iso(now + timedelta(days=14)),
            "auction_starts_at": iso(now + timedelta(days=15)),
        },
    )
    bidder = await new_bidder(anon)
    registration = await bidder.ok(
        "POST", f"{LISTINGS}/{announced['id']}/registrations", {}, status=201
    )
    return World(
        anon=anon,
        village=village,
        other_village=await anon.login("other-village"),
        reviewer=reviewer,
        regulator=await anon.login("regulator"),
        admin=await anon.login("admin"),
        bidder=bidder,
        draft_id=draft["id"],
        announced_id=announced["id"],
        registration_id=registration["id"],
    )


# --- anonymous callers -----------------------------------------------------------------------


def protected_endpoints(w: World) -> list[tuple[str, str, Any]]:
    d, a, r = w.draft_id, w.announced_id, w.registration_id
    return [
        ("POST", LISTINGS, SEED_LISTING),
        ("PATCH", f"{LISTINGS}/{d}", {"title": "改"}),
        ("POST", f"{LISTINGS}/{d}/submit", {}),
        ("POST", f"{LISTINGS}/{d}/withdraw", {}),
        ("POST", f"{LISTINGS}/{a}/relist", {}),
        ("POST", f"{LISTINGS}/{d}/review", {"decision": "accept"}),
        ("POST", f"{LISTINGS}/{d}/announce", {"registration_closes_at": "x"}),
        ("POST", f"{LISTINGS}/{d}/documents", None),
        ("GET", f"{LISTINGS}/{d}/documents/1", None),
        ("POST", f"{LISTINGS}/{a}/registrations", {}),
        ("GET", f"{LISTINGS}/{a}/registrations", None),
        ("GET", "/api/v1/registrations", None),
        ("GET", f"/api/v1/registrations/{r}", None),
        ("POST", f"/api/v1/registrations/{r}/review", {"decision": "qualify"}),
        ("POST", f"/api/v1/registrations/{r}/deposit", {}),
        ("GET", "/api/v1/settings", None),
        ("PUT", "/api/v1/settings", {"notice_period_working_days": 0}),
        ("POST", "/api/v1/auth/logout", {}),
        ("GET", "/api/v1/auth/me", None),
    ]


async def test_anonymous_callers_are_refused_and_nothing_is_written(
    exchange: Exchange, world: World
) -> None:
    before = await writes(exchange)
    for method, path, body in protected_endpoints(world):
        response = await world.anon.call(method, path, body)
        assert response.status_code == 401, (method, path, response.text)
        assert_problem(response, 401, "auth.required")
    assert await writes(exchange) == before


async def test_every_guarded_route_of_the_app_refuses_anonymous_callers(
    exchange: Exchange, world: World
) -> None:
    """Not just the list above: any HTTP route not declared public answers 401 to nobody."""
    app = create_app(services=exchange.services, run_scheduler=False)
    checked = 0
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            methods = set(getattr(handler, "http_methods", ())) - {"OPTIONS", "HEAD"}
            if not methods or not route.path.startswith("/api/"):
                continue  # pages answer anonymous visitors with the login page instead
            handler.resolve_opts()
            if handler.opt.get("public"):
                continue
            path = re.sub(r"\{[^}]+\}", "1", route.path)
            for method in methods:
                response = await world.anon.call(method, path, {} if method != "GET" else None)
                assert response.status_code == 401, (method, route.path, response.text)
                assert response.json()["code"] == "auth.required"
                checked += 1
    assert checked >= len(protected_endpoints(world))


async def test_public_endpoints_work_without_login(world: World) -> None:
    listed = await world.anon.ok("GET", LISTINGS)
    assert [item["id"] for item in listed["items"]] == [world.announced_id]
    shown = await world.anon.ok("GET", f"{LISTINGS}/{world.announced_id}")
    assert shown["state"] == "announced"
    assert (await world.anon.call("GET", "/healthz")).status_code == 200
    assert PUBLIC == {"public": True}


# --- roles -----------------------------------------------------------------------------------


async def test_wrong_roles_are_forbidden(exchange: Exchange, world: World) -> None:
    d, a, r = world.draft_id, world.announced_id, world.registration_id
    users = {
        "village": world.village,
        "reviewer": world.reviewer,
        "regulator": world.regulator,
        "admin": world.admin,
        "bidder": world.bidder,
    }
    rules: list[tuple[str, str, Any, set[str]]] = [
        ("POST", LISTINGS, SEED_LISTING, {"village"}),
        ("PATCH", f"{LISTINGS}/{d}", {"title": "改"}, {"village"}),
        ("POST", f"{LISTINGS}/{d}/submit", {}, {"village"}),
        ("POST", f"{LISTINGS}/{d}/withdraw", {}, {"village"}),
        ("POST", f"{LISTINGS}/{d}/review", {"decision": "accept"}, {"reviewer"}),
        ("POST", f"{LISTINGS}/{d}/announce", {}, {"reviewer"}),
        ("POST", f"{LISTINGS}/{a}/registrations", {}, {"bidder"}),
        ("GET", f"{LISTINGS}/{a}/registrations", None, {"reviewer", "regulator", "admin"}),
        ("GET", "/api/v1/registrations", None, {"bidder"}),
        ("POST", f"/api/v1/registrations/{r}/review", {"decision": "qualify"}, {"reviewer"}),
        ("POST", f"/api/v1/registrations/{r}/deposit", {}, {"reviewer"}),
        ("GET", "/api/v1/settings", None, {"reviewer", "regulator", "admin"}),
        ("PUT", "/api/v1/settings", {"notice_period_working_days": 0}, {"admin"}),
    ]
    before = await writes(exchange)
    for method, path, body, allowed in rules:
        for role, http in users.items():
            if role in allowed:
                continue
            response = await http.call(method, path, body)
            assert response.status_code == 403, (role, method, path, response.text)
            assert_problem(response, 403, "auth.forbidden")
    assert await writes(exchange) == before


async def test_multipart_upload_is_village_only(exchange: Exchange, world: World) -> None:
    pdf = b"%PDF-1.4\n%%EOF\n"
    for http in (world.reviewer, world.bidder, world.admin):
        response = await http.call(
            "POST",
            f"{LISTINGS}/{world.draft_id}/documents",
            files={"file": ("a.pdf", pdf, "application/pdf")},
            data={"kind": "other"},
        )
        assert_problem(response, 403, "auth.forbidden")


# --- villages --------------------------------------------------------------------------------


async def test_the_other_village_cannot_see_or_touch_our_draft(
    exchange: Exchange, world: World
) -> None:
    other, d = world.other_village, world.draft_id
    before = await writes(exchange)
    assert_problem(await other.call("GET", f"{LISTINGS}/{d}"), 404, "listing.not_found")
    for method, path, body in [
        ("PATCH", f"{LISTINGS}/{d}", {"title": "别人的"}),
        ("POST", f"{LISTINGS}/{d}/submit", {}),
        ("POST", f"{LISTINGS}/{d}/withdraw", {}),
    ]:
        assert_problem(await other.call(method, path, body), 404, "listing.not_found")
    response = await other.call(
        "POST",
        f"{LISTINGS}/{d}/documents",
        files={"file": ("a.pdf", b"%PDF-1.4\n%%EOF\n", "application/pdf")},
        data={"kind": "other"},
    )
    assert_problem(response, 404, "listing.not_found")
    listed = await other.ok("GET", LISTINGS)
    assert d not in [item["id"] for item in listed["items"]]
    # and entrusting for our village is refused
    async with exchange.services.db.read() as session:
        ours_id = await session.scalar(select(Region.id).where(Region.path == XINGTIAN))
    assert_problem(
        await other.call("POST", LISTINGS, {**SEED_LISTING, "village_id": ours_id}),
        403,
        "listing.not_your_village",
    )
    assert await writes(exchange) == before
    # our draft is untouched
    ours = await world.village.ok("GET", f"{LISTINGS}/{d}")
    assert ours["title"] == SEED_LISTING["title"] and ours["state"] == "draft"


async def test_the_other_village_cannot_act_on_our_announced_listing(
    exchange: Exchange, world: World
) -> None:
    other, a = world.other_village, world.announced_id
    shown = await other.ok("GET", f"{LISTINGS}/{a}")  # public from the announcement on
    assert "reserve_fen" not in shown["terms"]
    before = await writes(exchange)
    assert_problem(
        await other.call("PATCH", f"{LISTINGS}/{a}", {"title": "x"}),
        403,
        "listing.not_your_village",
    )
    assert_problem(
        await other.call("POST", f"{LISTINGS}/{a}/relist", {}), 403, "listing.not_your_village"
    )
    assert await writes(exchange) == before


async def test_bidders_and_the_public_cannot_see_drafts(world: World) -> None:
    for http in (world.bidder, world.anon):
        assert_problem(
            await http.call("GET", f"{LISTINGS}/{world.draft_id}"), 404, "listing.not_found"
        )
        for query in ("", "?state=draft", "?state=accepted"):
            listed = await http.ok("GET", f"{LISTINGS}{query}")
            assert world.draft_id not in [item["id"] for item in listed["items"]]
            assert all(
                item["state"] in ("announced", "auction", "sold", "failed")
                for item in listed["items"]
            )


async def test_reviewers_do_not_see_drafts_but_see_submitted(world: World) -> None:
    assert_problem(
        await world.reviewer.call("GET", f"{LISTINGS}/{world.draft_id}"), 404, "listing.not_found"
    )
    await submit(world.village, world.draft_id)
    assert (await world.reviewer.ok("GET", f"{LISTINGS}/{world.draft_id}"))["state"] == "submitted"


async def test_a_reviewer_outside_the_jurisdiction_cannot_review(
    exchange: Exchange, world: World
) -> None:
    async with exchange.services.db.write() as session:
        await add_user(
            session,
            NewUser("far-reviewer", "reviewer", PASSWORD, "外县审核员", "福建省/三明市/将乐县"),
            actor="test",
            now=exchange.clock.now(),
        )
    far = await world.anon.login("far-reviewer")
    await submit(world.village, world.draft_id)
    before = await writes(exchange)
    assert_problem(
        await far.call("POST", f"{LISTINGS}/{world.draft_id}/review", {"decision": "accept"}),
        404,
        "listing.not_found",
    )
    assert_problem(
        await far.call("GET", f"/api/v1/registrations/{world.registration_id}"),
        404,
        "registration.not_found",
    )
    assert await writes(exchange) == before


# --- what the public sees ----------------------------------------------------------------------


def assert_redacted(listing: dict[str, Any]) -> None:
    terms = listing["terms"]
    assert "reserve_fen" not in terms
    [holder] = terms["priority_holders"]
    assert holder["name"] == mask_name("陈阿明") != "陈阿明"
    assert holder["id_number"] == mask_id_number(HOLDER_ID) != HOLDER_ID
    assert HOLDER_ID not in str(listing) and "陈阿明" not in str(listing)


def assert_complete(listing: dict[str, Any]) -> None:
    terms = listing["terms"]
    assert terms["reserve_fen"] == SECRET_TERMS["reserve_fen"]
    assert terms["priority_holders"] == SECRET_TERMS["priority_holders"]


async def test_the_public_view_hides_the_reserve_and_masks_priority_holders(world: World) -> None:
    a = world.announced_id
    for http in (world.anon, world.bidder, world.other_village):
        assert_redacted(await http.ok("GET", f"{LISTINGS}/{a}"))
        [item] = [i for i in (await http.ok("GET", LISTINGS))["items"] if i["id"] == a]
        assert_redacted(item)
    for http in (world.village, world.reviewer, world.regulator, world.admin):
        assert_complete(await http.ok("GET", f"{LISTINGS}/{a}"))
        [item] = [i for i in (await http.ok("GET", LISTINGS))["items"] if i["id"] == a]
        assert_complete(item)
    assert_complete(await world.village.ok("GET", f"{LISTINGS}/{world.draft_id}"))


async def test_documents_are_for_the_village_and_staff(world: World) -> None:
    pdf = b"%PDF-1.4\nresolution\n%%EOF\n"
    doc = await world.village.ok(
        "POST",
        f"{LISTINGS}/{world.draft_id}/documents",
        files={"file": ("决议.pdf", pdf, "application/pdf")},
        data={"kind": "village_resolution"},
        status=201,
    )
    path = f"{LISTINGS}/{world.draft_id}/documents/{doc['id']}"
    got = await world.village.call("GET", path)
    assert got.status_code == 200 and got.content == pdf
    assert got.headers["x-content-type-options"] == "nosniff"
    assert (await world.admin.call("GET", path)).status_code == 200
    assert_problem(await world.other_village.call("GET", path), 404, "listing.not_found")
    assert_problem(await world.bidder.call("GET", path), 404, "listing.not_found")
    # a document id of another listing under our listing's path is no document
    assert_problem(
        await world.village.call("GET", f"{LISTINGS}/{world.announced_id}/documents/{doc['id']}"),
        404,
        "document.not_found",
    )


async def test_registrations_are_private(exchange: Exchange, world: World) -> None:
    r = world.registration_id
    mine = await world.bidder.ok("GET", f"/api/v1/registrations/{r}")
    assert mine["id"] == r
    stranger = await new_bidder(world.anon)
    assert_problem(
        await stranger.call("GET", f"/api/v1/registrations/{r}"), 404, "registration.not_found"
    )
    assert (await stranger.ok("GET", "/api/v1/registrations"))["items"] == []
    assert_problem(
        await world.village.call("GET", f"/api/v1/registrations/{r}"), 404, "registration.not_found"
    )
    staff_view = await world.reviewer.ok("GET", f"{LISTINGS}/{world.announced_id}/registrations")
    [entry] = staff_view["items"]
    assert entry["bidder"]["name"] == "王五"
    assert "*" in entry["bidder"]["id_number"] and "*" in entry["bidder"]["phone"]


# --- sessions and CSRF -----------------------------------------------------------------------


async def cookie_login(client: httpx.AsyncClient, username: str) -> dict[str, Any]:
    client.cookies.clear()
    response = await client.post(
        "/api/v1/auth/login", json={"username": username, "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    assert "ruralx_session" in client.cookies
    return response.json()  # type: ignore[no-any-return]


async def test_cookie_writes_need_the_csrf_token(exchange: Exchange) -> None:
    client = exchange.http.client
    try:
        login = await cookie_login(client, "xingtian")
        csrf = login["csrf_token"]
        assert client.cookies["ruralx_csrf"] == csrf
        # safe requests with the cookie just work
        me = await client.get("/api/v1/auth/me")
        assert me.status_code == 200 and me.json()["username"] == "xingtian"
        before = await writes(exchange)
        refused = await client.post(LISTINGS, json=SEED_LISTING)
        assert_problem(refused, 403, "auth.csrf")
        wrong = await client.post(LISTINGS, json=SEED_LISTING, headers={"X-CSRF-Token": "0" * 64})
        assert_problem(wrong, 403, "auth.csrf")
        assert await writes(exchange) == before
        created = await client.post(LISTINGS, json=SEED_LISTING, headers={"X-CSRF-Token": csrf})
        assert created.status_code == 201, created.text
        # a token from another session is worthless
        other = await cookie_login(client, "xingtian")
        assert other["csrf_token"] != csrf
        stale = await client.post(LISTINGS, json=SEED_LISTING, headers={"X-CSRF-Token": csrf})
        assert_problem(stale, 403, "auth.csrf")
        # logout by cookie is a write too
        assert_problem(await client.post("/api/v1/auth/logout", json={}), 403, "auth.csrf")
        out = await client.post(
            "/api/v1/auth/logout", json={}, headers={"X-CSRF-Token": other["csrf_token"]}
        )
        assert out.status_code == 200, out.text
        assert_problem(await client.get("/api/v1/auth/me"), 401, "auth.required")
    finally:
        client.cookies.clear()


async def test_bearer_clients_need_no_csrf_token(exchange: Exchange) -> None:
    village = await exchange.http.login("xingtian")
    response = await village.call("POST", LISTINGS, SEED_LISTING)
    assert response.status_code == 201, response.text


async def test_a_stale_cookie_is_anonymous(exchange: Exchange) -> None:
    client = exchange.http.client
    try:
        client.cookies.set("ruralx_session", "not-a-session", domain="testserver.local")
        assert (await client.get(LISTINGS)).status_code == 200
        assert_problem(await client.get("/api/v1/auth/me"), 401, "auth.required")
    finally:
        client.cookies.clear()


async def test_an_invalid_bearer_token_is_401(exchange: Exchange) -> None:
    for token in ("nonsense", "x" * 43, "a b"):
        bad = exchange.http.as_(token)
        assert_problem(await bad.call("GET", "/api/v1/auth/me"), 401, "auth.token_invalid")
        # even on a public route: a client that believes it is signed in must learn it is not
        assert_problem(await bad.call("GET", LISTINGS), 401, "auth.token_invalid")
    malformed = await exchange.http.call(
        "GET", "/api/v1/auth/me", headers={"Authorization": "Basic eDp5"}
    )
    assert_problem(malformed, 401, "auth.required")


async def test_a_logged_out_token_no_longer_works(exchange: Exchange) -> None:
    village = await exchange.http.login("xingtian")
    other_session = await exchange.http.login("xingtian")
    assert (await village.ok("GET", "/api/v1/auth/me"))["username"] == "xingtian"
    await village.ok("POST", "/api/v1/auth/logout", {})
    assert_problem(await village.call("GET", "/api/v1/auth/me"), 401, "auth.token_invalid")
    before = await writes(exchange)
    assert_problem(await village.call("POST", LISTINGS, SEED_LISTING), 401, "auth.token_invalid")
    assert await writes(exchange) == before
    # only that session ended
    assert (await other_session.ok("GET", "/api/v1/auth/me"))["username"] == "xingtian"


async def test_tokens_expire(exchange: Exchange) -> None:
    village = await exchange.http.login("xingtian")
    exchange.clock.advance(timedelta(seconds=exchange.services.config.token_ttl_seconds + 1))
    assert_problem(await village.call("GET", "/api/v1/auth/me"), 401, "auth.token_invalid")


# --- login -----------------------------------------------------------------------------------


async def test_wrong_password_and_unknown_user_look_the_same(exchange: Exchange) -> None:
    anon = exchange.http
    wrong = await anon.call(
        "POST", "/api/v1/auth/login", {"username": "xingtian", "password": "wrong-password"}
    )
    unknown = await anon.call(
        "POST", "/api/v1/auth/login", {"username": "nobody-here", "password": "wrong-password"}
    )
    body_wrong = assert_problem(wrong, 401, "auth.invalid_credentials")
    body_unknown = assert_problem(unknown, 401, "auth.invalid_credentials")
    assert body_wrong == body_unknown
    assert "ruralx_session" not in wrong.cookies
    assert "token" not in body_wrong


async def test_login_answers_token_user_and_csrf(exchange: Exchange) -> None:
    response = await exchange.http.call(
        "POST", "/api/v1/auth/login", {"username": "xingtian", "password": PASSWORD}
    )
    exchange.http.client.cookies.clear()
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token"] and body["csrf_token"]
    assert body["user"]["username"] == "xingtian" and body["user"]["role"] == "village"
    assert "password_hash" not in body["user"]
    cookie = response.headers.get_list("set-cookie")
    session_cookie = next(c for c in cookie if c.startswith("ruralx_session="))
    assert "httponly" in session_cookie.lower() and "samesite=lax" in session_cookie.lower()


@dataclass
class Limited:
    clients: dict[str, Http]  # by client IP
    exchange: Exchange


@pytest.fixture
def low_login_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the `exchange` fixture allow 3 free failed sign-ins per account and address
    (12 per address)."""

    def config(**values: Any) -> Config:
        return Config(**{**values, "login_free_failures": 3})

    monkeypatch.setattr(integration_conftest, "Config", config)


@pytest.fixture
async def limited(low_login_limit: None, exchange: Exchange) -> AsyncIterator[Limited]:
    """`exchange` with the low limit, and clients from two addresses."""
    assert exchange.services.throttle.budgets["login"].free == 3
    transports = [
        httpx.ASGITransport(app=exchange.app, client=(ip, 1000)) for ip in ("10.0.0.1", "10.0.0.2")
    ]
    async with (
        httpx.AsyncClient(transport=transports[0], base_url="http://testserver.local") as one,
        httpx.AsyncClient(transport=transports[1], base_url="http://testserver.local") as two,
    ):
        yield Limited({"10.0.0.1": Http(one), "10.0.0.2": Http(two)}, exchange)


async def attempt(http: Http, username: str, password: str) -> httpx.Response:
    response = await http.call(
        "POST", "/api/v1/auth/login", {"username": username, "password": password}
    )
    http.client.cookies.clear()
    return response


async def fail(http: Http, username: str) -> None:
    assert_problem(await attempt(http, username, "wrong-password"), 401, "auth.invalid_credentials")


async def test_a_stranger_cannot_lock_the_owner_out(limited: Limited) -> None:
    """The lockout finding: failures from one address slow that address down on that account;
    the owner signs in from their own address at once."""
    attacker, owner = limited.clients["10.0.0.1"], limited.clients["10.0.0.2"]
    for _ in range(3):
        await fail(attacker, "xingtian")
    await fail(attacker, "xingtian")  # the fourth failure: from now on the attacker waits
    body = assert_problem(await attempt(attacker, "xingtian", PASSWORD), 429, "rate_limited")
    assert body["retry_after"] == 2
    assert (await attempt(owner, "xingtian", PASSWORD)).status_code == 200


async def test_the_wait_doubles_and_ends(limited: Limited) -> None:
    one = limited.clients["10.0.0.1"]
    clock = limited.exchange.clock
    waits = []
    for _ in range(3):
        await fail(one, "xingtian")
    for _ in range(4):
        await fail(one, "xingtian")
        refused = await attempt(one, "xingtian", "wrong-password")
        body = assert_problem(refused, 429, "rate_limited")
        assert refused.headers["retry-after"] == str(body["retry_after"])
        waits.append(body["retry_after"])
        clock.advance(timedelta(seconds=body["retry_after"]))
    assert waits == [2, 4, 8, 16]
    # Waiting out the delay, the right password gets in; the count starts afresh.
    assert (await attempt(one, "xingtian", PASSWORD)).status_code == 200
    for _ in range(3):
        await fail(one, "xingtian")


async def test_one_address_guessing_many_accounts_is_slowed_down(limited: Limited) -> None:
    one, two = limited.clients["10.0.0.1"], limited.clients["10.0.0.2"]
    for i in range(12):
        await fail(one, f"nobody-{i}")
    await fail(one, "nobody-12")
    assert_problem(await attempt(one, "xingtian", PASSWORD), 429, "rate_limited")
    assert (await attempt(two, "xingtian", PASSWORD)).status_code == 200  # not the other one


async def test_the_counts_are_shared_by_every_worker(
    low_login_limit: None, exchange: Exchange
) -> None:
    """Two workers' services over one database: failures on one slow down the other."""
    other = build_services(exchange.services.config, exchange.clock)
    try:
        keys = ("login:xingtian@10.0.0.9", "login-ip:10.0.0.9")
        for _ in range(4):
            await exchange.services.throttle.attempt(*keys)
        with pytest.raises(TooManyRequests):
            await other.throttle.attempt(*keys)
    finally:
        await other.db.dispose()


async def test_a_burst_of_parallel_guesses_is_counted_before_the_passwords(
    limited: Limited,
) -> None:
    """Every attempt is counted under the key's lock before argon2 runs: ten guesses sent at
    once get the 3 free ones and the one that starts the wait, not ten."""
    one = limited.clients["10.0.0.1"]
    answers = await asyncio.gather(*(attempt(one, "xingtian", f"guess-{i}") for i in range(10)))
    codes = sorted(r.status_code for r in answers)
    assert codes == [401] * 4 + [429] * 6, codes
