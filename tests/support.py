"""Helpers for driving the exchange through its public HTTP API in tests."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from core.ids import resident_id_check_char

T = TypeVar("T")

XINGTIAN = "福建省/泉州市/泉州台商投资区/洛阳镇/杏田村"
PAYMENT_SECRET = "test-bank-secret"
PASSWORD = "correct-horse-9"

#: The reference case's terms (docs/domain.md §11): 12,000 yuan/year, 10 years, +240 yuan a step.
SEED_TERMS: dict[str, Any] = {
    "listing_price_fen": 1_200_000,
    "price_unit": "per_year",
    "term_years": 10,
    "payment": "annual",
    "increment_fen": 24_000,
    "max_steps": 10,
    "deposit_fen": 200_000,
}
#: A village representatives' meeting that adopted the lease (test data, not from the report):
#: 30 representatives, 27 present (quorum 20), 25 for (majority 14), a week of publicity.
SEED_RESOLUTION: dict[str, Any] = {
    "meeting_kind": "representatives_meeting",
    "meeting_date": "2026-11-10",
    "entitled": 30,
    "present": 27,
    "votes_for": 25,
    "votes_against": 1,
    "abstentions": 1,
    "publicity_start": "2026-11-11",
    "publicity_end": "2026-11-17",
}
SEED_LISTING: dict[str, Any] = {
    "title": "杏田村杏秀路口水泥地面公开招租",
    "category": "collective_operating_assets",
    "location": "洛阳镇杏田村杏秀路口",
    "area": "600",
    "area_unit": "square_meter",
    "description": "水泥硬化地面，可用于停车、仓储等合法用途。",
    "terms": SEED_TERMS,
    "resolution": SEED_RESOLUTION,
}
#: The scanned resolution, as far as the upload check cares (a PDF by its first and last bytes).
RESOLUTION_PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\n%%EOF\n"


_ids = itertools.count(secrets.randbelow(10**6))


def resident_id(birth: str | None = None, serial: int | None = None) -> str:
    """A valid GB 11643 number from Quanzhou (3505), different on every call in a process (one
    account per ID number): a fresh birth date and serial unless given."""
    n = next(_ids)
    if birth is None:
        birth = (date(1950, 1, 1) + timedelta(days=(n // 999) % 18_000)).strftime("%Y%m%d")
    serial = n % 999 if serial is None else serial
    first17 = f"350521{birth}{serial:03d}"
    return first17 + resident_id_check_char(first17)


def phone() -> str:
    return "139" + f"{secrets.randbelow(10**8):08d}"


def sign(body: bytes, secret: str = PAYMENT_SECRET) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass
class Http:
    """A thin JSON client over httpx.AsyncClient or Litestar's AsyncTestClient."""

    client: Any
    token: str | None = None
    username: str | None = None

    def as_(self, token: str | None, username: str | None = None) -> Http:
        return Http(self.client, token, username)

    async def relogin(self) -> Http:
        """Sign in again as the same user (sessions expire; the fake clock moves fast)."""
        assert self.username is not None
        fresh = await Http(self.client).login(self.username)
        self.token = fresh.token
        return self

    async def call(self, method: str, path: str, body: Any = None, **kw: Any) -> Any:
        headers = dict(kw.pop("headers", {}))
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if body is not None and "content" not in kw:
            kw["content"] = json.dumps(body, ensure_ascii=False).encode()
            headers.setdefault("Content-Type", "application/json")
        return await self.client.request(method, path, headers=headers, **kw)

    async def ok(
        self, method: str, path: str, body: Any = None, status: int | None = None, **kw: Any
    ) -> Any:
        response = await self.call(method, path, body, **kw)
        expected = status or (201 if method == "POST" and response.status_code == 201 else 200)
        assert response.status_code == expected, (method, path, response.status_code, response.text)
        return response.json()

    async def login(self, username: str, password: str = PASSWORD) -> Http:
        data = await self.ok(
            "POST", "/api/v1/auth/login", {"username": username, "password": password}
        )
        self.client.cookies.clear()  # API clients use the bearer token; anonymous stays anonymous
        return self.as_(data["token"], username)

    async def pay(
        self,
        reference: str,
        amount_fen: int,
        txn: str | None = None,
        paid_at: str = "2026-12-01T10:00:00+08:00",
        payer_account: str | None = None,
        path: str = "/api/v1/payments/callback",
    ) -> Any:
        """The bank's signed callback: a deposit, or rent with `path` the rent callback's."""
        body = {
            "reference": reference,
            "amount_fen": amount_fen,
            "bank_txn_id": txn or f"BANK{secrets.token_hex(6)}",
            "paid_at": paid_at,
        }
        if payer_account is not None:
            body["payer_account"] = payer_account
        raw = json.dumps(body).encode()
        return await self.call(
            "POST",
            path,
            content=raw,
            headers={"X-Signature": sign(raw), "Content-Type": "application/json"},
        )


async def until(
    probe: Callable[[], Awaitable[T]],
    done: Callable[[T], bool],
    *,
    what: str,
    timeout: float = 30,
    every: float = 0.05,
) -> T:
    """Ask `probe` until `done` holds for its answer; for state that only a server's own
    scheduler changes and that no event announces. Fails with the last answer after `timeout`.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        answer = await probe()
        if done(answer):
            return answer
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}; last answer: {answer!r}")
        await asyncio.sleep(every)


def on_a_weekday(moment: datetime) -> datetime:
    """The same time on the first weekday in Beijing from `moment` on: registration closes
    only on working days (the shipped calendars have no holiday in the months tests use)."""
    while (moment + timedelta(hours=8)).weekday() >= 5:
        moment += timedelta(days=1)
    return moment


def iso(dt: datetime) -> str:
    return dt.isoformat()


async def attach_resolution(village: Http, listing_id: int) -> dict[str, Any]:
    """Upload the village's resolution document (kind `village_resolution`) to a listing."""
    response = await village.call(
        "POST",
        f"/api/v1/listings/{listing_id}/documents",
        files={"file": ("村民代表会议决议.pdf", RESOLUTION_PDF, "application/pdf")},
        data={"kind": "village_resolution"},
    )
    assert response.status_code == 201, response.text
    document: dict[str, Any] = response.json()
    return document


async def submit(village: Http, listing_id: int) -> dict[str, Any]:
    """Attach the resolution document and submit the entrustment for review."""
    await attach_resolution(village, listing_id)
    submitted: dict[str, Any] = await village.ok(
        "POST", f"/api/v1/listings/{listing_id}/submit", {}
    )
    assert submitted["state"] == "submitted", submitted
    return submitted


@dataclass
class FirstHalf:
    listing_id: int
    bidders: list[Http]
    registrations: list[dict[str, Any]]
    village: Http
    reviewer: Http


async def entrust_review_announce(
    anon: Http,
    now: datetime,
    *,
    closes_in: timedelta,
    starts_in: timedelta,
    village_user: str = "xingtian",
    reviewer_user: str = "reviewer",
    listing: dict[str, Any] | None = None,
    resolution_document: bool = True,
) -> tuple[int, Http, Http]:
    """Steps 1–2 of docs/domain.md §11 through the API: entrust (with the resolution's
    document unless told not to), submit, accept, announce."""
    village = await anon.login(village_user)
    listing = await village.ok("POST", "/api/v1/listings", listing or SEED_LISTING, status=201)
    assert listing["state"] == "draft"
    if resolution_document:
        await attach_resolution(village, listing["id"])
    await village.ok("POST", f"/api/v1/listings/{listing['id']}/submit", {})
    reviewer = await anon.login(reviewer_user)
    accepted = await reviewer.ok(
        "POST",
        f"/api/v1/listings/{listing['id']}/review",
        {"decision": "accept", "reason": "材料齐全"},
    )
    assert accepted["state"] == "accepted"
    announced = await reviewer.ok(
        "POST",
        f"/api/v1/listings/{listing['id']}/announce",
        {
            "registration_closes_at": iso(now + closes_in),
            "auction_starts_at": iso(now + starts_in),
        },
    )
    assert announced["state"] == "announced"
    return listing["id"], village, reviewer


async def new_bidder(
    anon: Http, name: str, id_number: str | None = None, mobile: str | None = None
) -> Http:
    """A bidder signs up (a made-up resident ID and phone unless given) and signs in."""
    mobile = mobile or phone()
    await anon.ok(
        "POST",
        "/api/v1/bidders",
        {
            "name": name,
            "id_type": "resident_id",
            "id_number": id_number or resident_id(),
            "phone": mobile,
            "password": PASSWORD,
        },
        status=201,
    )
    return await anon.login(mobile)


async def sign_up_and_qualify(
    anon: Http,
    reviewer: Http,
    listing_id: int,
    count: int = 2,
    people: list[tuple[str, str, str]] | None = None,
) -> tuple[list[Http], list[dict[str, Any]]]:
    """Step 3 of docs/domain.md §11: bidders sign up, register, pay by callback, are qualified.
    `people` gives their (name, ID number, phone); else `count` of them, made up."""
    if people is None:
        people = [(f"竞买人{i + 1}", resident_id(), phone()) for i in range(count)]
    bidders, registrations = [], []
    for name, id_number, mobile in people:
        bidder = await new_bidder(anon, name, id_number, mobile)
        registration = await bidder.ok(
            "POST", f"/api/v1/listings/{listing_id}/registrations", {}, status=201
        )
        assert registration["state"] == "pending_deposit"
        assert registration["deposit_fen"] == SEED_TERMS["deposit_fen"]
        paid = await anon.pay(registration["payment_reference"], registration["deposit_fen"])
        assert paid.status_code == 200, paid.text
        qualified = await reviewer.ok(
            "POST", f"/api/v1/registrations/{registration['id']}/review", {"decision": "qualify"}
        )
        # The reviewer learns "qualified", not the number: only its bidder sees that.
        assert qualified["state"] == "qualified" and "bidder_number" not in qualified
        mine = await bidder.ok("GET", f"/api/v1/registrations/{registration['id']}")
        assert mine["state"] == "qualified" and mine["bidder_number"]
        bidders.append(bidder)
        registrations.append(mine)
    return bidders, registrations
