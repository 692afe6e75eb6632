"""Every route and page of the app, checked against the access policy (listings/policy.py,
docs/security.md) for every kind of person and every phase of a listing.

The routes come from the app's own route table: a route added without an entry in `READS` or
`WRITES` below fails the test, so nothing escapes the policy by being new. For each read the
expected answer is computed from the role guard the route declares and the policy's facets;
for each write, everyone the guard or the policy refuses is sent a valid request and must be
refused with nothing written (those allowed are exercised by the flow tests)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from litestar.routes import HTTPRoute
from sqlalchemy import func, select

from auction.models import Bid
from core.accounts import Actor, NewUser, Region, User, add_user
from core.ledger import LedgerEntry
from core.sessions import csrf_token
from listings import policy
from listings.policy import Action, Facet
from tests.integration.conftest import Exchange
from tests.support import PASSWORD, SEED_LISTING, Http, phone, resident_id

TOWN = "福建省/泉州市/泉州台商投资区/洛阳镇"
OTHER_TOWN = "福建省/泉州市/泉州台商投资区/张坂镇"
PHASES = ("draft", "announced", "closed", "live", "ended")
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(32)
DENIED = {303, 401, 403, 404, 409}

#: username → role name in this test. "reviewer" and "admin" (no region) come with the exchange.
PEOPLE = {
    "anonymous": None,
    "bidder own": "bidder-a",  # registered, qualified with a priority right, the winner
    "bidder other": "bidder-c",  # registered for nothing
    "village own": "xingtian",
    "village other": "other-village",
    "reviewer inside": "town-reviewer",
    "reviewer outside": "far-reviewer",
    "regulator inside": "town-regulator",
    "regulator outside": "far-regulator",
    "admin": "admin",
}


@dataclass
class World:
    ex: Exchange
    listings: dict[str, int] = field(default_factory=dict)
    documents: dict[str, int] = field(default_factory=dict)
    photos: dict[str, int] = field(default_factory=dict)
    registrations: dict[str, int] = field(default_factory=dict)
    proofs: dict[str, int] = field(default_factory=dict)
    contract: int = 0
    owner: int = 0  # bidder A's user id
    http: dict[str, Http] = field(default_factory=dict)
    actors: dict[str, Actor | None] = field(default_factory=dict)
    village: Region | None = None
    states: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Case:
    """One request: a role, a phase, and what the policy says about the listing then."""

    world: World
    role: str
    phase: str

    @property
    def actor(self) -> Actor | None:
        return self.world.actors[self.role]

    @property
    def state(self) -> str:
        return self.world.states[self.phase]

    def sees(self, facet: Facet, owner: int | None = None) -> bool:
        assert self.world.village is not None
        # Bidder A's registration is qualified on every listing but the draft.
        mine = "qualified" if self.own and self.phase != "draft" else None
        return policy.may_see(
            self.actor, facet, self.state, self.world.village, owner=owner, registration=mine
        )

    def may(self, action: Action) -> bool:
        assert self.world.village is not None
        return policy.may_do(self.actor, action, self.world.village)

    @property
    def own(self) -> bool:
        return self.role == "bidder own"

    @property
    def auction(self) -> bool:
        return self.phase in ("closed", "live", "ended")


Cond = Callable[[Case], bool]
ALWAYS: Cond = lambda c: True  # noqa: E731 (the guard alone decides)
LISTING: Cond = lambda c: c.sees(Facet.LISTING)  # noqa: E731

#: GET routes → the condition, beyond the role guard, under which the answer is 200.
READS: dict[str, Cond] = {
    "/api/v1/auth/me": ALWAYS,
    "/api/v1/me/notices": ALWAYS,
    "/api/v1/me/notice-preferences": ALWAYS,
    "/api/v1/settings": ALWAYS,
    "/api/v1/listings": ALWAYS,
    "/api/v1/listings/{listing_id:int}": LISTING,
    "/api/v1/listings/{listing_id:int}/documents/{document_id:int}": lambda c: (
        c.sees(Facet.LISTING) and c.sees(Facet.DOCUMENTS)
    ),
    # The asset's photos are part of the announcement.
    "/api/v1/listings/{listing_id:int}/photos/{document_id:int}": LISTING,
    "/api/v1/listings/{listing_id:int}/registrations": lambda c: (
        c.sees(Facet.LISTING) and c.sees(Facet.REGISTRATIONS)
    ),
    "/api/v1/registrations": ALWAYS,
    "/api/v1/registrations/{registration_id:int}": lambda c: (
        c.phase != "draft" and c.sees(Facet.REGISTRATION, owner=c.world.owner)
    ),
    "/api/v1/registrations/{registration_id:int}/documents/{document_id:int}": lambda c: (
        c.phase != "draft" and (c.own or (c.sees(Facet.REGISTRATIONS) and c.sees(Facet.APPLICANTS)))
    ),
    "/api/v1/auctions/{listing_id:int}": lambda c: c.auction and c.sees(Facet.LISTING),
    "/api/v1/listings/{listing_id:int}/deal": lambda c: c.phase == "ended",
    "/api/v1/listings/{listing_id:int}/objections": LISTING,
    "/api/v1/listings/{listing_id:int}/refunds.csv": lambda c: (
        c.sees(Facet.LISTING) and c.sees(Facet.REGISTRATIONS)
    ),
    "/api/v1/listings/{listing_id:int}/settlement": lambda c: (
        c.sees(Facet.LISTING) and c.sees(Facet.REGISTRATIONS)
    ),
    "/api/v1/contracts/{contract_id:int}": lambda c: c.sees(Facet.CONTRACT, owner=c.world.owner),
    "/api/v1/contracts/{contract_id:int}/pdf": lambda c: c.sees(
        Facet.CONTRACT, owner=c.world.owner
    ),
    "/api/v1/contracts/{contract_id:int}/confirmation.pdf": lambda c: c.sees(
        Facet.CONTRACT, owner=c.world.owner
    ),
    "/api/v1/contracts/{contract_id:int}/verification": lambda c: c.sees(
        Facet.CONTRACT, owner=c.world.owner
    ),
    "/api/v1/contracts/{contract_id:int}/rent": lambda c: c.sees(
        Facet.CONTRACT, owner=c.world.owner
    ),
    # No staff-recorded payment in this world: its receipt is not found for anyone.
    "/api/v1/rent-payments/{payment_id:int}/receipt": lambda c: False,
    # Issued once both parties have signed; the drafted contract of this world has neither.
    "/api/v1/contracts/{contract_id:int}/certificate.pdf": lambda c: False,
    "/api/v1/ca/root.pem": ALWAYS,
    "/api/v1/ca/chain.pem": ALWAYS,
    "/api/v1/ca/crl.pem": ALWAYS,
    "/api/v1/ledger/bundle": lambda c: c.sees(Facet.LISTING) and c.sees(Facet.LEDGER_BUNDLE),
    "/api/v1/ledger/checkpoint": ALWAYS,
    "/api/v1/ledger/checkpoints": ALWAYS,
    "/api/v1/ledger/consistency": ALWAYS,
    "/api/v1/ledger/key": ALWAYS,
    "/api/v1/listings/{listing_id:int}/timeline": lambda c: (
        c.sees(Facet.LISTING) and c.sees(Facet.TIMELINE)
    ),
    "/api/v1/auctions/{listing_id:int}/ladder": lambda c: c.auction and c.sees(Facet.TIMELINE),
    "/api/v1/stats": ALWAYS,
    "/api/v1/stats/collection": ALWAYS,
    "/api/v1/stats/premium-distribution": ALWAYS,
    "/api/v1/stats/deals-by-month": ALWAYS,
    "/api/v1/warnings": ALWAYS,
    "/api/v1/disclosure": ALWAYS,
    "/": ALWAYS,
    "/disclosure": ALWAYS,
    "/listings": ALWAYS,
    "/listings/{listing_id:int}": LISTING,
    "/auctions/{listing_id:int}": lambda c: c.phase != "draft" and c.sees(Facet.LISTING),
    "/login": ALWAYS,
    "/signup": ALWAYS,
    "/me/deals": ALWAYS,
    "/me/registrations": ALWAYS,
    "/me/registrations/{registration_id:int}": lambda c: (
        c.phase != "draft" and c.sees(Facet.REGISTRATION, owner=c.world.owner)
    ),
    "/contracts/{contract_id:int}/verification": lambda c: c.sees(
        Facet.CONTRACT, owner=c.world.owner
    ),
    "/me/notices": ALWAYS,
    "/village": ALWAYS,
    "/village/listings/new": ALWAYS,
    "/village/listings/{listing_id:int}": lambda c: c.may(Action.ENTRUST),
    "/village/listings/{listing_id:int}/edit": lambda c: (
        c.may(Action.ENTRUST) and c.state in ("draft", "returned")
    ),
    "/review": ALWAYS,
    "/review/listings/{listing_id:int}": lambda c: c.sees(Facet.LISTING) and c.sees(Facet.TIMELINE),
    "/oversight": ALWAYS,
    "/oversight/listings/{listing_id:int}": lambda c: (
        c.sees(Facet.LISTING) and c.sees(Facet.TIMELINE)
    ),
    "/oversight/listings/{listing_id:int}/timeline": lambda c: (
        c.sees(Facet.LISTING) and c.sees(Facet.TIMELINE)
    ),
    "/oversight/listings/{listing_id:int}/ladder": lambda c: (
        c.sees(Facet.LISTING) and c.sees(Facet.TIMELINE)
    ),
    "/oversight/listings/{listing_id:int}/warnings": lambda c: (
        c.sees(Facet.LISTING) and c.sees(Facet.TIMELINE)
    ),
    "/oversight/listings": ALWAYS,
    "/oversight/warnings": ALWAYS,
    # No such warning (999999): not found for everyone the guard admits.
    "/oversight/warnings/{warning_id:int}": lambda c: False,
    "/admin/settings": ALWAYS,
    "/admin/users": ALWAYS,
    "/admin/users/new": ALWAYS,
    "/admin/users/{user_id:int}": ALWAYS,
    "/admin/regions": ALWAYS,
    "/admin/regions/{region_id:int}": ALWAYS,
    "/account/password": ALWAYS,
    "/healthz": ALWAYS,
    "/readyz": ALWAYS,
    "/static/{file_path:path}": ALWAYS,
}

#: Routes that describe the API (the OpenAPI plugin's), not the exchange: public by design.
SCHEMA = re.compile(r"^/schema(/|$)")

DECIDE: Cond = lambda c: c.may(Action.DECIDE)  # noqa: E731
ENTRUST: Cond = lambda c: c.may(Action.ENTRUST)  # noqa: E731
NOBODY_ELSE: Cond = lambda c: True  # noqa: E731 (only the guard refuses; the rest is the flow's)

#: Write routes → (who, beyond the guard, the policy lets through; a valid request body).
#: Everyone else is sent the body and must be refused with nothing written.
WRITES: dict[tuple[str, str], tuple[Cond, Any]] = {
    ("POST", "/api/v1/auth/login"): (NOBODY_ELSE, None),
    ("POST", "/api/v1/auth/logout"): (NOBODY_ELSE, None),
    ("POST", "/api/v1/bidders"): (NOBODY_ELSE, None),
    ("PUT", "/api/v1/settings"): (NOBODY_ELSE, {"countdown_seconds": 301}),
    ("POST", "/api/v1/listings"): (NOBODY_ELSE, SEED_LISTING),
    ("PATCH", "/api/v1/listings/{listing_id:int}"): (ENTRUST, {"title": "改名"}),
    ("POST", "/api/v1/listings/{listing_id:int}/submit"): (ENTRUST, {}),
    ("POST", "/api/v1/listings/{listing_id:int}/withdraw"): (ENTRUST, {}),
    ("POST", "/api/v1/listings/{listing_id:int}/relist"): (ENTRUST, {}),
    ("POST", "/api/v1/listings/{listing_id:int}/documents"): (ENTRUST, "upload"),
    ("POST", "/api/v1/listings/{listing_id:int}/review"): (
        DECIDE,
        {"decision": "return", "reason": "补充材料"},
    ),
    ("POST", "/api/v1/listings/{listing_id:int}/announce"): (DECIDE, "announce"),
    ("POST", "/api/v1/listings/{listing_id:int}/registrations"): (NOBODY_ELSE, {}),
    ("POST", "/api/v1/registrations/{registration_id:int}/review"): (
        DECIDE,
        {"decision": "reject", "reason": "不符合条件"},
    ),
    ("POST", "/api/v1/registrations/{registration_id:int}/deposit"): (
        DECIDE,
        {"amount_fen": 600_000, "bank_txn_id": "STAFF-1", "paid_at": "2026-12-01T10:00:00+08:00"},
    ),
    ("POST", "/api/v1/registrations/{registration_id:int}/documents"): (
        lambda c: c.own,
        "upload",
    ),
    ("POST", "/api/v1/payments/callback"): (NOBODY_ELSE, None),
    ("POST", "/api/v1/payments/rent-callback"): (NOBODY_ELSE, None),
    # The items of this world's (unsigned) lease take no money; the flow (test_rent) admits.
    ("POST", "/api/v1/rent-items/{rent_item_id:int}/payments"): (NOBODY_ELSE, None),
    ("POST", "/api/v1/rent-items/{rent_item_id:int}/waive"): (NOBODY_ELSE, {"reason": "试探"}),
    ("POST", "/api/v1/auctions/{listing_id:int}/bids"): (
        lambda c: c.own,
        {"amount_fen": 1_296_000, "ref": "route-policy"},
    ),
    ("POST", "/api/v1/auctions/{listing_id:int}/match"): (lambda c: c.own, {"ref": "rp-match"}),
    ("POST", "/api/v1/auctions/{listing_id:int}/pause"): (DECIDE, {"reason": "网络故障"}),
    ("POST", "/api/v1/auctions/{listing_id:int}/resume"): (DECIDE, {"reason": "恢复"}),
    ("POST", "/api/v1/listings/{listing_id:int}/refunds"): (
        lambda c: c.may(Action.DECIDE),
        {"bank_batch": "REFUND-1"},
    ),
    ("POST", "/api/v1/contracts/{contract_id:int}/sign"): (
        lambda c: c.own or c.role == "village own",
        {"password": PASSWORD},
    ),
    ("POST", "/api/v1/contracts/{contract_id:int}/certify"): (DECIDE, {}),
    ("POST", "/api/v1/listings/{listing_id:int}/objections"): (LISTING, {"reasons": "价格异常"}),
    # Before the signing deadline: refused by the flow even for the reviewer it admits.
    ("POST", "/api/v1/listings/{listing_id:int}/deal/default"): (DECIDE, {"reason": "not_signed"}),
    ("POST", "/api/v1/listings/{listing_id:int}/deal/offer"): (LISTING, {"decision": "decline"}),
    ("POST", "/api/v1/objections/{objection_id:int}/documents"): (NOBODY_ELSE, "upload"),
    ("POST", "/api/v1/objections/{objection_id:int}/decision"): (
        NOBODY_ELSE,
        {"decision": "dismiss", "reason": "不成立"},
    ),
    ("POST", "/api/v1/ca/certificates/{certificate_id:int}/revoke"): (NOBODY_ELSE, None),
    ("POST", "/api/v1/warnings/{warning_id:int}/acknowledge"): (NOBODY_ELSE, None),
    ("POST", "/oversight/warnings/{warning_id:int}/acknowledge"): (NOBODY_ELSE, {"note": "试探"}),
    ("POST", "/login"): (NOBODY_ELSE, None),
    ("POST", "/logout"): (NOBODY_ELSE, None),
    ("POST", "/signup"): (NOBODY_ELSE, None),
    ("POST", "/listings/{listing_id:int}/register"): (NOBODY_ELSE, {"accept": "1"}),
    ("POST", "/me/registrations/{registration_id:int}/proof"): (lambda c: c.own, "upload"),
    ("POST", "/listings/{listing_id:int}/objections"): (LISTING, {"reasons": "价格异常"}),
    ("POST", "/listings/{listing_id:int}/offer"): (
        LISTING,
        {"decision": "decline", "confirm": "1"},
    ),
    ("POST", "/rent-items/{item_id:int}/payments"): (NOBODY_ELSE, {"amount": "100"}),
    ("POST", "/rent-items/{item_id:int}/waive"): (NOBODY_ELSE, {"reason": "试探"}),
    ("POST", "/village/listings/new"): (NOBODY_ELSE, None),
    ("POST", "/village/listings/{listing_id:int}/edit"): (ENTRUST, {"title": "改名"}),
    ("POST", "/village/listings/{listing_id:int}/relist"): (ENTRUST, {}),
    ("POST", "/village/listings/{listing_id:int}/submit"): (ENTRUST, {}),
    ("POST", "/village/listings/{listing_id:int}/documents"): (ENTRUST, "upload"),
    ("POST", "/village/listings/{listing_id:int}/withdraw"): (ENTRUST, {}),
    ("POST", "/review/listings/{listing_id:int}/review"): (
        DECIDE,
        {"decision": "return", "reason": "补充材料"},
    ),
    ("POST", "/review/listings/{listing_id:int}/announce"): (DECIDE, "announce"),
    ("POST", "/review/listings/{listing_id:int}/qualify-paid"): (DECIDE, {}),
    ("POST", "/review/auctions/{listing_id:int}/control"): (
        DECIDE,
        {"action": "pause", "reason": "网络故障"},
    ),
    ("POST", "/review/registrations/{registration_id:int}/deposit"): (
        DECIDE,
        {"amount": "6000", "bank_txn_id": "STAFF-2", "paid_at": "2026-12-01T10:00"},
    ),
    ("POST", "/review/registrations/{registration_id:int}/review"): (
        DECIDE,
        {"decision": "reject", "reason": "不符合条件"},
    ),
    ("POST", "/review/objections/{objection_id:int}/decision"): (
        NOBODY_ELSE,
        {"decision": "dismiss", "reason": "不成立"},
    ),
    # Before the signing deadline: refused by the flow even for the reviewer it admits.
    ("POST", "/review/listings/{listing_id:int}/default"): (
        DECIDE,
        {"reason": "not_signed", "confirm": "1"},
    ),
    ("POST", "/admin/settings"): (NOBODY_ELSE, None),
    ("POST", "/api/v1/auth/password"): (
        NOBODY_ELSE,
        {"old_password": PASSWORD, "new_password": "another-secret-1"},
    ),
    ("POST", "/api/v1/users/{user_id:int}/password"): (
        NOBODY_ELSE,
        {"new_password": "another-secret-1"},
    ),
    ("POST", "/api/v1/users/{user_id:int}/deactivate"): (NOBODY_ELSE, {"reason": "试探"}),
    ("POST", "/api/v1/users/{user_id:int}/activate"): (NOBODY_ELSE, {"reason": "试探"}),
    ("POST", "/account/password"): (
        NOBODY_ELSE,
        {
            "old_password": PASSWORD,
            "new_password": "another-secret-1",
            "new_password2": "another-secret-1",
        },
    ),
    ("POST", "/admin/users/{user_id:int}/active"): (
        NOBODY_ELSE,
        {"active": "0", "reason": "试探", "confirm": "1"},
    ),
    ("POST", "/admin/users/{user_id:int}/password"): (NOBODY_ELSE, {"confirm": "1"}),
    ("POST", "/admin/users/new"): (
        NOBODY_ELSE,
        {"role": "admin", "display_name": "试探", "username": "probe"},
    ),
    ("POST", "/admin/regions"): (NOBODY_ELSE, {"name": "试探村"}),
    ("POST", "/admin/regions/{region_id:int}"): (NOBODY_ELSE, {"name": "试探村"}),
    ("POST", "/login/new-password"): (NOBODY_ELSE, None),
    # One's own inbox: anyone signed in, about their own notices only.
    ("POST", "/api/v1/me/notices/{notice_id:int}/read"): (NOBODY_ELSE, {}),
    ("POST", "/api/v1/me/notices/read-all"): (NOBODY_ELSE, {}),
    ("PUT", "/api/v1/me/notice-preferences"): (NOBODY_ELSE, {"disabled": ["rent_due"]}),
    ("POST", "/me/notices/{notice_id:int}/read"): (NOBODY_ELSE, {}),
    ("POST", "/me/notices/read-all"): (NOBODY_ELSE, {}),
    ("POST", "/me/notices/preferences"): (NOBODY_ELSE, {}),
}


def routes(app: Any) -> list[tuple[str, str, tuple[str, ...] | None]]:
    """(method, path, roles the guard admits: None = everyone, () = anyone signed in)."""
    out = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or SCHEMA.match(route.path):
            continue
        for handler in route.route_handlers:
            roles: tuple[str, ...] | None = None
            for guard in handler.resolve_guards():
                declared = getattr(getattr(guard, "func", guard), "ruralx_roles", None)
                if declared is not None:
                    roles = tuple(declared)
            for method in sorted(handler.http_methods - {"OPTIONS", "HEAD"}):
                out.append((method, route.path, roles))
    return out


def guard_admits(roles: tuple[str, ...] | None, actor: Actor | None) -> bool:
    if roles is None:
        return True
    return actor is not None and (not roles or actor.role in roles)


def concrete(world: World, path: str, phase: str) -> str:
    values = {
        "listing_id": world.listings[phase],
        "document_id": world.documents[phase],
        "registration_id": world.registrations.get(phase, 999_999),
        "contract_id": world.contract,
        "certificate_id": 999_999,
        "warning_id": 999_999,
        "objection_id": 999_999,
        "rent_item_id": 999_999,
        "item_id": 999_999,
        "payment_id": 999_999,
        "notice_id": 999_999,
        "user_id": world.owner,
        "region_id": world.village.id if world.village else 999_999,
        "file_path": "app.css",
    }
    if "/registrations/{registration_id:int}/documents/" in path:
        values["document_id"] = world.proofs.get(phase, 999_999)
    if "/photos/" in path:
        values["document_id"] = world.photos[phase]
    out = re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: str(values[m.group(1)]), path)
    queries = {
        "/api/v1/ledger/bundle": f"?listing_id={world.listings[phase]}",
        "/api/v1/ledger/consistency": "?first=1&second=2",
        "/api/v1/disclosure": f"?region={TOWN}",
        "/disclosure": f"?region={TOWN}",
    }
    return out + queries.get(path, "")


async def build(ex: Exchange) -> World:
    """Five listings of 杏田村, one in each phase, with bidder A in all but the draft."""
    world = World(ex)
    anon = ex.http
    async with ex.services.db.write() as session:
        for name, role, region in (
            ("town-reviewer", "reviewer", TOWN),
            ("far-reviewer", "reviewer", OTHER_TOWN),
            ("town-regulator", "regulator", TOWN),
            ("far-regulator", "regulator", OTHER_TOWN),
        ):
            await add_user(
                session,
                NewUser(name, role, PASSWORD, name, region),
                actor="test",
                now=ex.clock.now(),
                passwords=ex.services.passwords,
            )
    admin = await anon.login("admin")
    await admin.ok(
        "PUT",
        "/api/v1/settings",
        {
            "free_bidding_minutes": 0,
            "countdown_seconds": 300,
            "notice_period_working_days": 0,
            # The ended auction's deal is confirmed (its contract drafted) at once.
            "result_publicity_working_days": 0,
        },
    )
    a_id = resident_id()
    for username, name, id_number in (
        ("bidder-a", "竞买人甲", a_id),
        ("bidder-b", "竞买人乙", resident_id()),
        ("bidder-c", "竞买人丙", resident_id()),
    ):
        await anon.ok(
            "POST",
            "/api/v1/bidders",
            {
                "name": name,
                "id_type": "resident_id",
                "id_number": id_number,
                "phone": phone(),
                "password": PASSWORD,
            },
            status=201,
        )
        async with ex.services.db.write() as session:  # a memorable name for the test
            user = await session.scalar(select(User).where(User.id_number == id_number))
            assert user is not None
            user.username = username
            if username == "bidder-a":
                world.owner = user.id
    body = {
        **SEED_LISTING,
        "terms": {
            **SEED_LISTING["terms"],
            "priority_holders": [{"name": "竞买人甲", "id_type": "resident_id", "id_number": a_id}],
        },
    }
    village = await anon.login("xingtian")
    reviewer = await anon.login("reviewer")
    now = ex.clock.now()
    timetable = {  # registration closes, auction starts (from now)
        "announced": (timedelta(days=6), timedelta(days=7)),  # Monday, Tuesday
        "closed": (timedelta(days=1), timedelta(days=3)),
        "live": (timedelta(days=1), timedelta(days=1, hours=1)),
        "ended": (timedelta(days=1), timedelta(days=1, hours=1)),
    }
    for phase in PHASES:
        listing = await village.ok("POST", "/api/v1/listings", body, status=201)
        world.listings[phase] = listing["id"]
        document = await village.ok(
            "POST",
            f"/api/v1/listings/{listing['id']}/documents",
            files={"file": ("决议.pdf", PDF, "application/pdf")},
            data={"kind": "village_resolution"},
            status=201,
        )
        world.documents[phase] = document["id"]
        photo = await village.ok(
            "POST",
            f"/api/v1/listings/{listing['id']}/documents",
            files={"file": ("现场.png", PNG, "image/png")},
            data={"kind": "photo"},
            status=201,
        )
        world.photos[phase] = photo["id"]
        if phase == "draft":
            continue
        path = f"/api/v1/listings/{listing['id']}"
        await village.ok("POST", f"{path}/submit", {})
        await reviewer.ok("POST", f"{path}/review", {"decision": "accept", "reason": "材料齐全"})
        closes, starts = timetable[phase]
        await reviewer.ok(
            "POST",
            f"{path}/announce",
            {
                "registration_closes_at": (now + closes).isoformat(),
                "auction_starts_at": (now + starts).isoformat(),
            },
        )
        for username, claim in (("bidder-a", True), ("bidder-b", False)):
            bidder = await anon.login(username)
            registration = await bidder.ok(
                "POST", f"{path}/registrations", {"claim_priority": claim}, status=201
            )
            await anon.pay(registration["payment_reference"], registration["deposit_fen"])
            decision: dict[str, Any] = {"decision": "qualify"}
            if claim:
                world.registrations[phase] = registration["id"]
                proof = await bidder.ok(
                    "POST",
                    f"/api/v1/registrations/{registration['id']}/documents",
                    files={"file": ("租赁合同.pdf", PDF, "application/pdf")},
                    status=201,
                )
                world.proofs[phase] = proof["id"]
                decision["priority"] = "confirm"
            await reviewer.ok(
                "POST", f"/api/v1/registrations/{registration['id']}/review", decision
            )
    # Registration of three closes; two auctions start; A bids in both, B keeps one alive.
    ex.clock.set(now + timedelta(days=1, hours=1, seconds=1))
    await ex.tick()
    await ex.tick()
    a, b = await anon.login("bidder-a"), await anon.login("bidder-b")
    for phase in ("ended", "live"):
        await a.ok(
            "POST",
            f"/api/v1/auctions/{world.listings[phase]}/bids",
            {"amount_fen": 1_224_000, "ref": f"a-{phase}"},
        )
    ex.clock.advance(timedelta(seconds=200))
    await b.ok(
        "POST",
        f"/api/v1/auctions/{world.listings['live']}/bids",
        {"amount_fen": 1_248_000, "ref": "b-live"},
    )
    ex.clock.advance(timedelta(seconds=101))
    await ex.tick()
    for role, username in PEOPLE.items():
        world.http[role] = anon if username is None else await anon.login(username)
    async with ex.services.db.read() as session:
        for role, username in PEOPLE.items():
            if username is None:
                world.actors[role] = None
                continue
            user = await session.scalar(select(User).where(User.username == username))
            assert user is not None
            region = await session.get(Region, user.region_id) if user.region_id else None
            world.actors[role] = Actor(user, region)
        from listings.models import Listing

        for phase, listing_id in world.listings.items():
            listing = await session.get(Listing, listing_id)
            assert listing is not None
            world.states[phase] = listing.state
            world.village = await session.get(Region, listing.village_id)
        from auction.models import Deal

        deal = await session.get(Deal, world.listings["ended"])
        assert deal is not None and deal.contract_id is not None
        world.contract = deal.contract_id
    status = await anon.ok("GET", f"/api/v1/auctions/{world.listings['live']}")
    assert status["status"] not in ("ended", "scheduled"), status
    assert world.states == {
        "draft": "draft",
        "announced": "announced",
        "closed": "auction",
        "live": "auction",
        "ended": "sold",
    }
    return world


async def written(ex: Exchange) -> tuple[int, int]:
    async with ex.services.db.read() as session:
        entries = await session.scalar(select(func.count()).select_from(LedgerEntry))
        bids = await session.scalar(select(func.count()).select_from(Bid))
    return int(entries or 0), int(bids or 0)


async def send(world: World, http: Http, method: str, path: str, body: Any, phase: str) -> Any:
    if body == "upload":
        files = {"file": ("证明.pdf", PDF, "application/pdf")}
        if path.startswith("/me/") or path.startswith("/village/"):
            files = {"proof" if path.startswith("/me/") else "ownership_proof": files["file"]}
        data = {"kind": "priority_proof" if "/registrations/" in path else "other"}
        if not path.startswith("/api/"):
            data["_csrf"] = csrf(world, http)
        return await http.call(method, path, files=files, data=data)
    if body == "announce":
        now = world.ex.clock.now()
        body = {
            "registration_closes_at": (now + timedelta(days=10)).isoformat(),
            "auction_starts_at": (now + timedelta(days=11)).isoformat(),
        }
    if path.startswith("/api/"):
        return await http.call(method, path, body)
    form = {**(body or {}), "_csrf": csrf(world, http)}
    return await http.call(method, path, data=form)


def csrf(world: World, http: Http) -> str:
    return csrf_token(world.ex.services.config.secret_key, http.token) if http.token else ""


async def test_every_route_answers_as_the_policy_says(exchange: Exchange) -> None:
    world = await build(exchange)
    table = routes(exchange.app)
    unknown = [
        (m, p)
        for m, p, _ in table
        if (m == "GET" and p not in READS) or (m != "GET" and (m, p) not in WRITES)
    ]
    assert unknown == [], "routes without a policy entry in this test"
    wrong: list[str] = []
    for method, path, roles in table:
        listing_scoped = "{" in path and not path.startswith("/static/")
        for phase in PHASES if listing_scoped else ("live",):
            target = concrete(world, path, phase)
            for role in PEOPLE:
                case = Case(world, role, phase)
                admitted = guard_admits(roles, case.actor)
                if method == "GET":
                    expected = admitted and READS[path](case)
                    response = await world.http[role].call("GET", target)
                    got = response.status_code
                    if (got == 200) != expected or (not expected and got not in DENIED):
                        wrong.append(
                            f"GET {target} as {role} in {phase}: {got}, want "
                            f"{'200' if expected else 'refusal'}"
                        )
                    continue
                cond, body = WRITES[(method, path)]
                if (admitted and (cond is NOBODY_ELSE or cond(case))) or body is None:
                    continue  # allowed (the flow tests' business), or nothing to send
                before = await written(exchange)
                response = await send(world, world.http[role], method, target, body, phase)
                after = await written(exchange)
                if response.status_code not in DENIED or after != before:
                    wrong.append(
                        f"{method} {target} as {role} in {phase}: {response.status_code}"
                        f"{' and wrote' if after != before else ''}: {response.text[:200]}"
                    )
    assert wrong == [], "\n".join(wrong)
