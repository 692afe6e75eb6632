"""Every page of the exchange, as each role sees it, checked by axe-core in Chromium at a
phone's 375 × 812 and a desk's 1280 × 800: no serious or critical violation anywhere.

One `ruralx run` (SQLite, one worker, server time the test moves) holds a listing in every
phase — drafts, one under review, one accepted, registration open, registration closed before
the start, a live auction, sold with a signed lease, sold with the lease unsigned, failed, a
deal in its publicity with an objection, a deal offered to the runner-up —, reached through
the API, with the warnings the oversight job raises on bidders who share one machine.
Chromium then opens each page as the anonymous visitor, the bidders, the village official,
the reviewer, the regulator and the administrator see it, forms empty and with their errors,
and runs axe on it. The pages come from the app's route table: a new page that is neither
visited here nor excluded with a reason fails `test_every_page_is_toured`.

The keyboard test signs up, registers for a listing, signs in and bids with the keyboard
alone, then tabs through the main pages of each role: every element that takes focus shows it.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any, TypeVar

import pytest
import pytest_asyncio
from litestar.routes import HTTPRoute
from sqlalchemy import select

from core.accounts import Region, User
from core.clock import CHINA_TZ
from core.config import Config
from core.db import Database
from tests.e2e import axe
from tests.e2e.browser_support import (
    ALWAYS_SHOOT,
    ARTIFACTS,
    BROWSER_TESTS,
    chromium,
    login,
    sign_up,
)
from tests.e2e.conftest import LiveExchange, live_exchange
from tests.servers import add_users
from tests.support import (
    PASSWORD,
    SEED_LISTING,
    SEED_TERMS,
    XINGTIAN,
    Http,
    entrust_review_announce,
    new_bidder,
    on_a_weekday,
    phone,
    resident_id,
    submit,
    until,
)

T = TypeVar("T")


def in_chromium(test: T) -> T:
    """Marks of the browser tests, which share one exchange (`world`) and the worker's
    Chromium, and so the session's event loop."""
    marks = (*BROWSER_TESTS, pytest.mark.slow, pytest.mark.timeout(600))
    for mark in marks:
        test = mark(test)
    return test


VIEWPORTS = {"phone": (375, 812), "desk": (1280, 800)}
STEP = SEED_TERMS["increment_fen"]
START = SEED_TERMS["listing_price_fen"]

#: GET routes that are not pages of the exchange, each with the reason it is not toured.
NOT_PAGES = {
    "/healthz": "a probe for the load balancer (JSON)",
    "/readyz": "a probe for the load balancer (JSON)",
    "/static/{file_path:path}": "stylesheets and scripts, not pages",
}
#: Prefixes of routes that are not pages of the exchange, with the reason.
NOT_PAGES_UNDER = {
    "/api/": "the JSON API",
    "/schema": "the API reference drawn by the OpenAPI plugin, for developers",
}


def expect(locator: Any) -> Any:
    from playwright.async_api import expect as _expect

    return _expect(locator)


# ----- the world: a listing in every phase ------------------------------------------------


@dataclass
class World:
    ex: LiveExchange
    base: str
    #: phase → listing id; also "contract" (the lease of `sold`), "warning" (one raised on
    #: `sold`), "registration due" / "registration qualified" (A's, on `open` / `live`),
    #: "staff" (the reviewer's account), "region" (the village Xingtian)
    ids: dict[str, int] = field(default_factory=dict)
    #: "A", "B", "C" → the bidder's phone (their username)
    bidders: dict[str, str] = field(default_factory=dict)


async def register(anon: Http, bidder: Http, listing_id: int, *, pay: bool = True) -> int:
    registration = await bidder.ok(
        "POST", f"/api/v1/listings/{listing_id}/registrations", {}, status=201
    )
    if pay:
        paid = await anon.pay(registration["payment_reference"], registration["deposit_fen"])
        assert paid.status_code == 200, paid.text
    return int(registration["id"])


async def qualify(reviewer: Http, registration_id: int) -> None:
    await reviewer.ok(
        "POST", f"/api/v1/registrations/{registration_id}/review", {"decision": "qualify"}
    )


async def bid(bidder: Http, listing_id: int, steps: int, ref: str) -> None:
    await bidder.ok(
        "POST",
        f"/api/v1/auctions/{listing_id}/bids",
        {"amount_fen": START + steps * STEP, "ref": ref},
    )


async def status(ex: LiveExchange, listing_id: int, wanted: str) -> None:
    await until(
        lambda: ex.anon.call("GET", f"/api/v1/auctions/{listing_id}"),
        lambda r: r.status_code == 200 and r.json()["status"] == wanted,
        what=f"auction {listing_id} {wanted}",
    )


async def deal_state(ex: LiveExchange, listing_id: int, wanted: str) -> dict[str, Any]:
    response = await until(
        lambda: ex.anon.call("GET", f"/api/v1/listings/{listing_id}/deal"),
        lambda r: r.status_code == 200 and r.json()["deal_state"] == wanted,
        what=f"deal {listing_id} {wanted}",
    )
    deal: dict[str, Any] = response.json()
    return deal


async def build_world(ex: LiveExchange) -> World:
    """Listings in every phase, reached through the API with server time moved between."""
    world = World(ex, ex.servers[0].base_url)
    ids, anon = world.ids, ex.anon
    # A working day at 09:00 in Beijing: registration closes only on working days.
    today = ex.clock.now().astimezone(CHINA_TZ).date() + timedelta(days=1)
    t0 = on_a_weekday(datetime.combine(today, time(9), tzinfo=CHINA_TZ))
    ex.clock.jump_to(t0)
    admin = await anon.login("admin")
    rules = {
        "notice_period_working_days": 0,
        "qualification_window_minutes": 0,
        "free_bidding_minutes": 0,
        "countdown_seconds": 60,
        "result_publicity_working_days": 0,
    }
    await admin.ok("PUT", "/api/v1/settings", rules)

    async def announce(name: str, closes: timedelta, starts: timedelta, **terms: Any) -> Http:
        listing = {**SEED_LISTING, "title": f"{SEED_LISTING['title']}（{name}）"}
        if terms:
            listing["terms"] = {**SEED_TERMS, **terms}
        ids[name], _, reviewer = await entrust_review_announce(
            anon, t0, closes_in=closes, starts_in=starts, listing=listing
        )
        return reviewer

    # A listing keeps the rules of its announcement: the deal of `sold` is confirmed at once,
    # the later ones have a day's publicity, the live auction an hour's countdown.
    hour, minute = timedelta(hours=1), timedelta(minutes=1)
    reviewer = await announce("sold", hour, hour + minute)
    await announce("unsigned", hour, hour + minute)
    await announce("failed", hour, hour + minute)
    await admin.ok("PUT", "/api/v1/settings", {"result_publicity_working_days": 1})
    await announce("publicity", 2 * hour, 2 * hour + minute, on_default="runner_up")
    await announce("offered", 2 * hour, 2 * hour + minute, on_default="runner_up")
    await admin.ok("PUT", "/api/v1/settings", {"countdown_seconds": 3600})
    await announce("live", 3 * hour, 3 * hour + minute)
    await announce("scheduled", 3 * hour, 6 * hour)
    open_closes = on_a_weekday(t0 + timedelta(days=3)) - t0
    await announce("open", open_closes, open_closes + minute)

    # The village's own listings before the announcement: draft, returned, submitted, accepted.
    village = await anon.login("xingtian")
    for name in ("draft", "returned", "submitted", "accepted"):
        listing = {**SEED_LISTING, "title": f"{SEED_LISTING['title']}（{name}）"}
        created = await village.ok("POST", "/api/v1/listings", listing, status=201)
        ids[name] = created["id"]
        if name != "draft":
            await submit(village, created["id"])
    await reviewer.ok(
        "POST",
        f"/api/v1/listings/{ids['returned']}/review",
        {"decision": "return", "reason": "请补充资产四至说明"},
    )
    await reviewer.ok(
        "POST",
        f"/api/v1/listings/{ids['accepted']}/review",
        {"decision": "accept", "reason": "材料齐全"},
    )

    # Three bidders; A is the one the tour signs in as.
    a, b, c = [await new_bidder(anon, name) for name in ("林一鸣", "陈秀兰", "王建国")]
    world.bidders = {"A": a.username or "", "B": b.username or "", "C": c.username or ""}
    for name, people in (
        ("sold", (a, b)),
        ("unsigned", (a, b)),
        ("publicity", (a, b, c)),
        ("offered", (a, b, c)),
        ("live", (a, b, c)),
        ("scheduled", (a, b)),
    ):
        for person in people:
            registration_id = await register(anon, person, ids[name])
            await qualify(reviewer, registration_id)
            if name == "live" and person is a:
                ids["registration qualified"] = registration_id
    # Registration open: A has yet to pay, B has paid (awaiting the reviewer), C qualified.
    ids["registration due"] = await register(anon, a, ids["open"], pay=False)
    await register(anon, b, ids["open"])
    await qualify(reviewer, await register(anon, c, ids["open"]))

    # 10:01 — sold and unsigned (B, then A): the lease of `sold` signed by both, that of
    # `unsigned` by nobody yet; failed (nobody qualified).
    ex.clock.jump_to(t0 + hour + minute + timedelta(seconds=1))
    for name in ("sold", "unsigned"):
        await status(ex, ids[name], "countdown")
        await bid(b, ids[name], 1, f"{name}-1")
        await bid(a, ids[name], 2, f"{name}-2")
    for name in ("sold", "unsigned"):
        await ex.pass_deadline(ids[name])
    await deal_state(ex, ids["unsigned"], "confirmed")
    deal = await deal_state(ex, ids["sold"], "confirmed")
    ids["contract"] = deal["contract_id"]
    contract = f"/api/v1/contracts/{deal['contract_id']}"
    await village.relogin()
    await village.ok("POST", f"{contract}/sign", {"password": PASSWORD})
    await a.ok("POST", f"{contract}/sign", {"password": PASSWORD})

    # 11:01 — two deals in their publicity; C objects to both, the objection on `offered` is
    # upheld and its deal offered to A, the runner-up.
    ex.clock.jump_to(t0 + 2 * hour + minute + timedelta(seconds=1))
    for name, (first, second, third) in (("publicity", (b, a, None)), ("offered", (b, a, b))):
        listing_id = ids[name]
        await status(ex, listing_id, "countdown")
        for n, who in enumerate((first, second, third), start=1):
            if who is not None:
                await bid(who, listing_id, n, f"{name}-{n}")
    for name in ("publicity", "offered"):
        await ex.pass_deadline(ids[name])
        await deal_state(ex, ids[name], "publicity")
        await c.ok(
            "POST",
            f"/api/v1/listings/{ids[name]}/objections",
            {"reasons": "竞得人与村干部存在关联关系"},
            status=201,
        )
    objections = await reviewer.ok("GET", f"/api/v1/listings/{ids['offered']}/objections")
    await reviewer.ok(
        "POST",
        f"/api/v1/objections/{objections['items'][0]['id']}/decision",
        {"decision": "uphold", "reason": "经核查关联关系属实，成交无效"},
    )
    await deal_state(ex, ids["offered"], "offered")

    # 12:01 — the live auction, in its countdown of an hour (long enough for the tour), led by
    # C: the live page lets A and B bid (it disables the leader's steps); `scheduled` has
    # closed its registration and starts at 15:00.
    ex.clock.jump_to(t0 + 3 * hour + minute + timedelta(seconds=1))
    await status(ex, ids["live"], "countdown")
    await status(ex, ids["scheduled"], "scheduled")
    await bid(b, ids["live"], 1, "live-1")
    await bid(a, ids["live"], 2, "live-2")
    await bid(c, ids["live"], 3, "live-3")

    await add_users(ex.database_url, [("regulator", "regulator", None)], PASSWORD)
    # Every bidder registered and bid from this machine: the oversight job finds it.
    regulator = await anon.login("regulator")
    found = await until(
        lambda: regulator.call("GET", f"/api/v1/warnings?listing_id={ids['sold']}"),
        lambda r: any(w["kind"] == "shared_ip" for w in r.json()["items"]),
        what="a shared address found on the sold listing",
    )
    ids["warning"] = next(w["id"] for w in found.json()["items"] if w["kind"] == "shared_ip")
    ids["staff"], ids["region"] = await staff_and_region(ex.database_url)
    return world


async def staff_and_region(database_url: str) -> tuple[int, int]:
    """The reviewer's account and the village Xingtian, which no API lists by id."""
    db = Database(database_url)
    try:
        async with db.read() as session:
            staff = await session.scalar(select(User.id).where(User.username == "reviewer"))
            region = await session.scalar(select(Region.id).where(Region.path == XINGTIAN))
    finally:
        await db.dispose()
    assert staff is not None and region is not None
    return staff, region


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    tmp = tmp_path_factory.mktemp("a11y")
    # Sessions outlive the jumps of server time (hours).
    async with live_exchange(
        tmp, redis=None, workers=1, RURALX_TOKEN_TTL_SECONDS=str(3 * 86400)
    ) as ex:
        yield await build_world(ex)


# ----- the tour: every page as each role sees it -----------------------------------------

Action = Callable[[Any], Awaitable[None]]
#: phase → listing id, and the other ids of `World.ids`
Ids = Mapping[str, int]


@dataclass(frozen=True)
class Stop:
    """One page to check: the route it belongs to, its address, and what to do on it first
    (fill a form with errors, open a dialog) so that state is checked too."""

    route: str
    path: str
    what: str
    then: Action | None = None


def with_errors(button: str, *, clear: tuple[str, ...] = (), check: str | None = None) -> Action:
    """Submit a form left empty (the forms are `novalidate`: the server names every error and
    writes nothing): the fields labelled `clear` emptied, the option labelled `check` chosen."""

    async def submit(page: Any) -> None:
        for label in clear:
            await page.get_by_label(label).fill("")
        if check is not None:
            await page.get_by_label(check).check()
        await page.get_by_role("button", name=button, exact=True).click()
        await page.wait_for_load_state()
        # One alert above the form, or the summary linking to every field in error.
        await expect(
            page.locator(".alert[role=alert], .error-summary[role=alert]").first
        ).to_be_visible()

    return submit


def asks_to_confirm(button: str, choose: tuple[str, str] | None = None) -> Action:
    """Press the button of a step that cannot be undone (after choosing (label, option)): the
    page asks again, nothing is written yet."""

    async def press(page: Any) -> None:
        if choose is not None:
            await page.get_by_label(choose[0]).select_option(label=choose[1])
        await page.get_by_role("button", name=button, exact=True).click()
        await expect(page.locator(".confirm-step[role=alert]")).to_be_visible()

    return press


async def live_open(page: Any) -> None:
    await expect(page.locator("#conn")).to_have_attribute("data-state", "open")


async def bid_dialog(page: Any) -> None:
    """The confirmation of a bid (the steps are enabled: the bidder does not lead)."""
    await live_open(page)
    step = page.locator("#steps button.step").first
    await expect(step).to_be_enabled()
    await step.click()
    await expect(page.locator("#confirm")).to_be_visible()


def public_stops(i: Ids) -> list[Stop]:
    county = "/".join(XINGTIAN.split("/")[:3])
    return [
        Stop("/", "/", "home"),
        Stop("/listings", "/listings", "announcements"),
        Stop("/listings", "/listings?state=sold", "announcements filtered"),
        Stop("/listings/{listing_id:int}", f"/listings/{i['open']}", "registration open"),
        Stop("/listings/{listing_id:int}", f"/listings/{i['scheduled']}", "registration closed"),
        Stop("/listings/{listing_id:int}", f"/listings/{i['live']}", "live auction"),
        Stop("/listings/{listing_id:int}", f"/listings/{i['sold']}", "sold"),
        Stop("/listings/{listing_id:int}", f"/listings/{i['failed']}", "failed"),
        Stop("/listings/{listing_id:int}", f"/listings/{i['publicity']}", "deal in publicity"),
        Stop("/listings/{listing_id:int}", f"/listings/{i['offered']}", "deal offered"),
        Stop("/auctions/{listing_id:int}", f"/auctions/{i['open']}", "waiting room"),
        Stop("/auctions/{listing_id:int}", f"/auctions/{i['scheduled']}", "before the start"),
        Stop("/auctions/{listing_id:int}", f"/auctions/{i['live']}", "live, watching", live_open),
        Stop("/auctions/{listing_id:int}", f"/auctions/{i['sold']}", "ended", live_open),
        Stop("/disclosure", "/disclosure", "income boards"),
        Stop("/disclosure", f"/disclosure?region={county}", "county board"),
        Stop("/disclosure", f"/disclosure?region={XINGTIAN}", "village board"),
        Stop("/login", "/login", "sign-in"),
        Stop("/login", "/login", "sign-in with errors", with_errors("登录")),
        Stop("/signup", "/signup", "sign-up"),
        Stop("/signup", "/signup", "sign-up with errors", with_errors("注册并登录")),
        Stop("/listings/{listing_id:int}", "/listings/999999", "not found (404)"),
    ]


def bidder_stops(i: Ids) -> list[Stop]:
    return [
        Stop("/me/registrations", "/me/registrations", "registrations and deposit"),
        Stop("/me/deals", "/me/deals", "deals and lease"),
        Stop("/me/notices", "/me/notices", "notices"),
        Stop(
            "/me/registrations/{registration_id:int}",
            f"/me/registrations/{i['registration due']}",
            "deposit to pay",
        ),
        Stop(
            "/me/registrations/{registration_id:int}",
            f"/me/registrations/{i['registration qualified']}",
            "qualified, deposit in",
        ),
        Stop(
            "/contracts/{contract_id:int}/verification",
            f"/contracts/{i['contract']}/verification",
            "signature report of the own lease",
        ),
        Stop("/account/password", "/account/password", "password"),
        Stop(
            "/account/password",
            "/account/password",
            "password with errors",
            with_errors("修改密码"),
        ),
        Stop("/listings/{listing_id:int}", f"/listings/{i['open']}", "registered, deposit due"),
        Stop("/listings/{listing_id:int}", f"/listings/{i['publicity']}", "own deal in publicity"),
        Stop("/listings/{listing_id:int}", f"/listings/{i['offered']}", "runner-up's offer"),
        Stop(
            "/listings/{listing_id:int}",
            f"/listings/{i['offered']}",
            "declining the offer, asked to confirm",
            asks_to_confirm("放弃递补成交"),
        ),
        Stop("/auctions/{listing_id:int}", f"/auctions/{i['open']}", "waiting room"),
        Stop("/auctions/{listing_id:int}", f"/auctions/{i['live']}", "live, bidding", live_open),
        Stop(
            "/auctions/{listing_id:int}", f"/auctions/{i['live']}", "bid confirmation", bid_dialog
        ),
        Stop("/review", "/review", "forbidden (403)"),
    ]


def objector_stops(i: Ids) -> list[Stop]:
    return [
        Stop("/listings/{listing_id:int}", f"/listings/{i['publicity']}", "own objection"),
        Stop("/me/registrations", "/me/registrations", "registrations, one qualified"),
    ]


def newcomer_stops(i: Ids) -> list[Stop]:
    return [
        Stop("/listings/{listing_id:int}", f"/listings/{i['open']}", "registration form"),
        Stop("/me/registrations", "/me/registrations", "no registrations yet"),
        Stop("/me/deals", "/me/deals", "no deals yet"),
    ]


def village_stops(i: Ids) -> list[Stop]:
    return [
        Stop("/village", "/village", "our listings"),
        Stop("/village/listings/new", "/village/listings/new", "entrustment form"),
        Stop(
            "/village/listings/new",
            "/village/listings/new",
            "entrustment form with errors",
            with_errors("保存委托"),
        ),
        Stop("/village/listings/{listing_id:int}", f"/village/listings/{i['draft']}", "draft"),
        Stop(
            "/village/listings/{listing_id:int}", f"/village/listings/{i['returned']}", "returned"
        ),
        Stop("/village/listings/{listing_id:int}", f"/village/listings/{i['open']}", "announced"),
        Stop("/village/listings/{listing_id:int}", f"/village/listings/{i['sold']}", "sold, lease"),
        Stop("/village/listings/{listing_id:int}", f"/village/listings/{i['failed']}", "failed"),
        Stop(
            "/village/listings/{listing_id:int}",
            f"/village/listings/{i['unsigned']}",
            "sold, lease to sign",
        ),
        Stop(
            "/village/listings/{listing_id:int}/edit",
            f"/village/listings/{i['draft']}/edit",
            "editing a draft",
        ),
        Stop(
            "/auctions/{listing_id:int}", f"/auctions/{i['live']}", "live, numbers only", live_open
        ),
    ]


def reviewer_stops(i: Ids) -> list[Stop]:
    return [
        Stop("/review", "/review", "work queues"),
        Stop(
            "/review/listings/{listing_id:int}", f"/review/listings/{i['submitted']}", "to review"
        ),
        Stop(
            "/review/listings/{listing_id:int}",
            f"/review/listings/{i['submitted']}",
            "review with errors",
            with_errors("提交审核结论", check="退回（请说明需补正的内容）"),
        ),
        Stop(
            "/review/listings/{listing_id:int}", f"/review/listings/{i['accepted']}", "to announce"
        ),
        Stop(
            "/review/listings/{listing_id:int}",
            f"/review/listings/{i['accepted']}",
            "announce with errors",
            with_errors("发布公告", clear=("报名截止时间", "竞价开始时间")),
        ),
        Stop(
            "/review/listings/{listing_id:int}",
            f"/review/listings/{i['open']}",
            "registrations to qualify",
        ),
        Stop(
            "/review/listings/{listing_id:int}", f"/review/listings/{i['live']}", "auction running"
        ),
        Stop(
            "/review/listings/{listing_id:int}",
            f"/review/listings/{i['sold']}",
            "sold, rent ledger",
        ),
        Stop(
            "/review/listings/{listing_id:int}",
            f"/review/listings/{i['publicity']}",
            "objection to decide",
        ),
        Stop("/review/listings/{listing_id:int}", f"/review/listings/{i['offered']}", "offered"),
        Stop(
            "/review/listings/{listing_id:int}",
            f"/review/listings/{i['unsigned']}",
            "lease unsigned, default with errors",
            with_errors("认定违约"),
        ),
        Stop(
            "/review/listings/{listing_id:int}",
            f"/review/listings/{i['unsigned']}",
            "default, asked to confirm",
            asks_to_confirm("认定违约", choose=("违约情形", "竞得后放弃（悔拍）")),
        ),
        Stop("/auctions/{listing_id:int}", f"/auctions/{i['live']}", "live, controls", live_open),
    ]


def regulator_stops(i: Ids) -> list[Stop]:
    town = "/".join(XINGTIAN.split("/")[:4])
    return [
        Stop("/oversight", "/oversight", "dashboard"),
        Stop("/oversight", f"/oversight?region={town}&category=", "dashboard filtered"),
        Stop("/oversight/listings/{listing_id:int}", f"/oversight/listings/{i['sold']}", "sold"),
        Stop("/oversight/listings/{listing_id:int}", f"/oversight/listings/{i['live']}", "live"),
        Stop(
            "/oversight/listings/{listing_id:int}",
            f"/oversight/listings/{i['offered']}",
            "deal offered",
        ),
        Stop("/oversight/listings", "/oversight/listings", "listings of the jurisdiction"),
        Stop("/oversight/listings", "/oversight/listings?warnings=1", "listings with warnings"),
        Stop(
            "/oversight/listings/{listing_id:int}/timeline",
            f"/oversight/listings/{i['sold']}/timeline",
            "timeline",
        ),
        Stop(
            "/oversight/listings/{listing_id:int}/ladder",
            f"/oversight/listings/{i['sold']}/ladder",
            "bid ladder",
        ),
        Stop(
            "/oversight/listings/{listing_id:int}/warnings",
            f"/oversight/listings/{i['sold']}/warnings",
            "a listing's warnings",
        ),
        Stop("/oversight/warnings", "/oversight/warnings", "open warnings"),
        Stop("/oversight/warnings/{warning_id:int}", f"/oversight/warnings/{i['warning']}", "one"),
        Stop(
            "/oversight/warnings/{warning_id:int}",
            f"/oversight/warnings/{i['warning']}",
            "acknowledge with errors",
            with_errors("标记为已处理"),
        ),
        Stop(
            "/contracts/{contract_id:int}/verification",
            f"/contracts/{i['contract']}/verification",
            "signature report",
        ),
    ]


def admin_stops(i: Ids) -> list[Stop]:
    return [
        Stop("/admin/settings", "/admin/settings", "exchange settings"),
        Stop("/admin/users", "/admin/users", "users"),
        Stop("/admin/users/new", "/admin/users/new", "new account"),
        Stop(
            "/admin/users/new",
            "/admin/users/new",
            "new account with errors",
            with_errors("创建账号"),
        ),
        Stop("/admin/users/{user_id:int}", f"/admin/users/{i['staff']}", "an account"),
        Stop(
            "/admin/users/{user_id:int}",
            f"/admin/users/{i['staff']}",
            "deactivation with errors",
            with_errors("停用账号"),
        ),
        Stop(
            "/admin/users/{user_id:int}",
            f"/admin/users/{i['staff']}",
            "password reset, asked to confirm",
            asks_to_confirm("重置密码"),
        ),
        Stop("/admin/regions", "/admin/regions", "region tree"),
        Stop("/admin/regions", "/admin/regions", "new region with errors", with_errors("新增地区")),
        Stop("/admin/regions/{region_id:int}", f"/admin/regions/{i['region']}", "a village"),
        Stop(
            "/admin/regions/{region_id:int}",
            f"/admin/regions/{i['region']}",
            "rename with errors",
            with_errors("保存名称", clear=("新名称",)),
        ),
        Stop("/oversight", "/oversight", "dashboard"),
        Stop(
            "/oversight/warnings/{warning_id:int}",
            f"/oversight/warnings/{i['warning']}",
            "a warning, read only",
        ),
    ]


#: Who tours (a label, how to sign in: None for anonymous, else a username or a bidder key).
ROLES: list[tuple[str, str | None, Callable[[Ids], list[Stop]]]] = [
    ("public", None, public_stops),
    ("bidder", "A", bidder_stops),
    ("objector", "C", objector_stops),
    ("newcomer", "new", newcomer_stops),
    ("village", "xingtian", village_stops),
    ("reviewer", "reviewer", reviewer_stops),
    ("regulator", "regulator", regulator_stops),
    ("admin", "admin", admin_stops),
]


def page_routes() -> set[str]:
    """Every GET route of the app that is a page of the exchange (not excluded above)."""
    from app.main import create_app

    app = create_app(
        Config(
            database_url="sqlite+aiosqlite:///:memory:",
            secret_key="route-table",
            payment_secret="route-table",
            data_dir="unused",
        )
    )
    found = set()
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        if any("GET" in h.http_methods for h in route.route_handlers):
            found.add(route.path)
    return {
        path
        for path in found
        if path not in NOT_PAGES and not any(path.startswith(p) for p in NOT_PAGES_UNDER)
    }


def toured_routes() -> set[str]:
    """The routes the tour visits, read from its stops (any listing id will do)."""
    return {stop.route for _, _, stops in ROLES for stop in stops(defaultdict(int))}


def test_every_page_is_toured() -> None:
    pages, toured = page_routes(), toured_routes()
    assert toured <= pages, f"stops name routes the app does not have: {toured - pages}"
    assert pages <= toured, (
        f"pages nobody tours: {sorted(pages - toured)}; add a Stop for each to the tour of the "
        "roles that see it (or, if it is not a page, to NOT_PAGES with the reason)"
    )


async def sign_in(page: Any, w: World, who: str | None) -> None:
    if who is None:
        return
    if who == "new":
        await sign_up(page, w.base, "赵新来", resident_id(), phone())
    else:
        await login(page, w.base, w.bidders.get(who, who))


@in_chromium
@pytest.mark.parametrize("viewport", list(VIEWPORTS))
async def test_no_serious_or_critical_violations_on_any_page(
    world: World, viewport: str, request: pytest.FixtureRequest
) -> None:
    width, height = VIEWPORTS[viewport]
    problems: list[str] = []
    lesser: list[str] = []
    async with chromium(request) as browser:
        for role, who, stops in ROLES:
            page = await browser.page(role, width=width, height=height, bypass_csp=True)
            await axe.install(page.context)
            await sign_in(page, world, who)
            for n, stop in enumerate(stops(world.ids)):
                await page.goto(f"{world.base}{stop.path}")
                if stop.then is not None:
                    await stop.then(page)
                if ALWAYS_SHOOT:
                    ARTIFACTS.mkdir(parents=True, exist_ok=True)
                    await page.screenshot(
                        path=str(ARTIFACTS / f"a11y-{viewport}-{role}-{n:02d}.png"), full_page=True
                    )
                found = await axe.violations(page)
                where = f"{viewport} {width}×{height} · {role} · {stop.what} · {stop.path}"
                if axe.blocking(found):
                    problems.append(axe.report(where, axe.blocking(found)))
                others = [v for v in found if v not in axe.blocking(found)]
                if others:
                    lesser.append(axe.report(where, others))
    if lesser:
        print("moderate and minor findings (not failed):\n" + "\n".join(lesser))
    assert not problems, f"{len(problems)} pages with serious or critical violations:\n" + (
        "\n".join(problems)
    )


# ----- the keyboard: the main flows without a mouse, focus always visible ------------------

#: Describes the focused element and whether its focus shows: an outline or a shadow of at
#: least 2 px whose colour stands 3:1 against what is behind it (WCAG 2.4.7, 1.4.11).
FOCUS = r"""() => {
  const el = document.activeElement;
  if (!el || el === document.body || el === document.documentElement) return null;
  const text = (el.getAttribute('aria-label') || el.innerText || el.value || el.name || '');
  const name = el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + ' “'
    + text.replace(/\s+/g, ' ').trim().slice(0, 24) + '”';
  const rgb = s => ((s || '').match(/rgba?\(([^)]+)\)/) || [, ''])[1].split(',').map(Number);
  const lum = ([r, g, b]) => {
    const f = c => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const cs = getComputedStyle(el);
  const box = el.getBoundingClientRect();
  if (!box.width || !box.height) return { name, problem: 'focus on an invisible element' };
  let ring = null;
  if (cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) >= 2) ring = rgb(cs.outlineColor);
  else if (cs.boxShadow !== 'none') ring = rgb(cs.boxShadow);
  if (!ring || ring.length < 3) return { name, problem: 'no focus indicator' };
  // The ring is drawn around the element, over its parent's background (or gradient).
  let behind = null;
  for (let p = el.parentElement; p && !behind; p = p.parentElement) {
    const ps = getComputedStyle(p);
    const gradient = ps.backgroundImage.match(/rgba?\([^)]+\)/);
    const colour = rgb(ps.backgroundColor);
    if (gradient) behind = rgb(gradient[0]);
    else if (colour.length === 3 || colour[3] > 0) behind = colour;
  }
  const [hi, lo] = [lum(ring), lum(behind || [255, 255, 255])].sort((a, b) => b - a);
  const ratio = (hi + 0.05) / (lo + 0.05);
  if (ratio < 3) return { name, problem: `focus ring ${ratio.toFixed(2)}:1 on its background` };
  return { name, problem: '' };
}"""


@dataclass
class Keyboard:
    """Tabs through a page as a keyboard user does, noting each stop whose focus is hidden."""

    page: Any
    hidden: list[str] = field(default_factory=list)

    async def tab_to(self, selector: str, limit: int = 120) -> None:
        """Press Tab until the element matching `selector` has the focus."""
        for _ in range(limit):
            await self.page.keyboard.press("Tab")
            await self.note()
            if await self.page.evaluate("s => document.activeElement.matches(s)", selector):
                return
        raise AssertionError(f"{selector} not reached with Tab on {self.page.url}")

    async def tour(self, limit: int = 150) -> int:
        """Tab through the whole page just opened, top to bottom; returns the stops made."""
        first: str | None = None
        for stop in range(limit):
            await self.page.keyboard.press("Tab")
            here = await self.note()
            if here is None or here == first:
                return stop
            first = first or here
        return limit

    async def note(self) -> str | None:
        focus = await self.page.evaluate(FOCUS)
        if focus is None:
            return None
        if focus["problem"]:
            self.hidden.append(f"{self.page.url}: {focus['name']}: {focus['problem']}")
        return str(focus["name"])


@in_chromium
async def test_the_main_flows_work_with_the_keyboard_alone(
    world: World, request: pytest.FixtureRequest
) -> None:
    base, ids = world.base, world.ids
    async with chromium(request) as browser:
        page = await browser.page("keyboard", width=1280, height=800)
        keys = Keyboard(page)

        # The skip link comes first and takes the reader past the header to the main content.
        await page.goto(f"{base}/")
        await keys.tab_to("a.skip", limit=1)
        await expect(page.locator("a.skip")).to_be_in_viewport()
        await page.keyboard.press("Enter")
        await expect(page.locator("#main")).to_be_focused()

        # A newcomer signs up and registers for a listing without touching the mouse.
        await page.goto(f"{base}/signup")
        for selector, value in (
            ("#f-name", "钱多多"),
            ("#f-id_number", resident_id()),
            ("#f-phone", phone()),
            ("#f-password", PASSWORD),
            ("#f-password2", PASSWORD),
        ):
            await keys.tab_to(selector)
            await page.keyboard.type(value)
        await page.keyboard.press("Enter")
        await page.wait_for_url(re.compile(r"/me/registrations"))
        await page.goto(f"{base}/listings/{ids['open']}")
        await keys.tab_to("#accept-terms")
        await page.keyboard.press("Space")
        await keys.tab_to("form[action$='/register'] button[type=submit]")
        await page.keyboard.press("Enter")
        await expect(page.locator(".flash")).to_contain_text("报名成功")

        # A qualified bidder signs in and bids with the keyboard: a step, then the dialog.
        await page.context.clear_cookies()
        await page.goto(f"{base}/login")
        await keys.tab_to("#f-username")
        await page.keyboard.type(world.bidders["B"])
        await keys.tab_to("#f-password")
        await page.keyboard.type(PASSWORD)
        await page.keyboard.press("Enter")
        await page.wait_for_url(re.compile(r"^(?!.*/login).*$"))
        await page.goto(f"{base}/auctions/{ids['live']}")
        await expect(page.locator("#conn")).to_have_attribute("data-state", "open")
        await expect(page.locator("#steps button.step").first).to_be_enabled()
        await keys.tab_to("#steps button.step")
        amount = await page.evaluate("() => document.activeElement.dataset.amount")
        await page.keyboard.press("Enter")
        await expect(page.locator("#confirm-ok")).to_be_focused()
        await keys.note()
        await page.keyboard.press("Escape")  # changed their mind: back to the step
        await expect(page.locator("#confirm")).to_be_hidden()
        await expect(page.locator(f"#steps button[data-amount='{amount}']")).to_be_focused()
        await page.keyboard.press("Enter")
        await expect(page.locator("#confirm-ok")).to_be_focused()
        await page.keyboard.press("Enter")
        await expect(page.locator("#message")).to_contain_text("出价成功")
        await expect(page.locator("#price")).to_have_text(re.compile(r"¥[\d,]+\.\d\d"))
        assert int(amount) > START

        # Every stop on the way through the main pages shows where the focus is.
        for path in (
            "/",
            "/listings",
            f"/listings/{ids['open']}",
            f"/auctions/{ids['live']}",
            "/me/registrations",
            "/me/deals",
        ):
            await page.goto(f"{base}{path}")
            assert await keys.tour() > 3, path
        staff = await browser.page("staff", width=375, height=812)
        staff_keys = Keyboard(staff)
        for who, paths in (
            ("xingtian", ["/village", "/village/listings/new"]),
            ("reviewer", ["/review", f"/review/listings/{ids['open']}"]),
        ):
            await staff.context.clear_cookies()
            await login(staff, base, who)
            for path in paths:
                await staff.goto(f"{base}{path}")
                assert await staff_keys.tour() > 3, path
    hidden = keys.hidden + staff_keys.hidden
    assert not hidden, "focus not visible:\n" + "\n".join(dict.fromkeys(hidden))
