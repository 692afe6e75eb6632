"""Sealed identities on the production profile (docs/security.md §3): an auction on PostgreSQL
with two workers, watched by every kind of person through every read route, page and the
websocket room. Until the hammer no answer seen by anyone links a bidder number to a name,
phone, ID number, user id or registration; afterwards the regulator of the region sees them all.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import select

from core.accounts import User
from core.db import Database
from core.ids import mask_id_number, mask_phone
from tests.e2e.conftest import LiveExchange
from tests.integration.test_route_policy import READS
from tests.servers import add_users
from tests.support import PASSWORD, Http, phone, resident_id

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]

TOWN = "福建省/泉州市/泉州台商投资区/洛阳镇"
OTHER_TOWN = "福建省/泉州市/泉州台商投资区/张坂镇"
OBSERVERS = {  # role → username (None: anonymous)
    "anonymous": None,
    "bidder A": "A",
    "bidder B": "B",
    "bidder C": "C",
    "village": "xingtian",
    "reviewer": "reviewer",
    "town reviewer": "town-reviewer",
    "town regulator": "town-regulator",
    "far regulator": "far-regulator",
    "admin": "admin",
}


@dataclass
class Bidder:
    name: str
    phone: str
    id_number: str
    user_id: int = 0
    registration_id: int = 0
    number: str = ""

    def secrets(self) -> list[str]:
        """What identifies the person, and the ids that lead to them."""
        ids = (self.user_id, self.registration_id)
        return [
            self.name,
            self.phone,
            mask_phone(self.phone),
            self.id_number,
            mask_id_number(self.id_number),
            f"user:{self.user_id}",
            *(rf'"{key}": ?{ids[0]}\b' for key in ("bidder_id", "user_id")),
            # The registrations list names applicants by registration; beside a number it links.
            rf'"registration_id": ?{ids[1]}\b',
        ]


def number_in(text: str, number: str) -> bool:
    """The bidder number as a number of its own (not inside a date, price or longer number)."""
    edge = r"0-9A-Za-z.\-:/,"
    return re.search(rf"(?<![{edge}]){number}(?![{edge}年月日])", text) is not None


def secret_in(text: str, secret: str) -> bool:
    if secret.startswith('"'):
        return re.search(secret, text) is not None
    return secret in text


@dataclass
class Seen:
    moment: str
    role: str
    where: str
    text: str


async def read_everything(
    clients: dict[str, Http], paths: list[str], moment: str, seen: list[Seen]
) -> None:
    for role, http in clients.items():
        for path in paths:
            response = await http.call("GET", path)
            seen.append(Seen(moment, role, f"GET {path} {response.status_code}", response.text))


def linking(seen: list[Seen], bidders: dict[str, Bidder]) -> list[str]:
    """Answers in which a bidder number and something personal of a bidder meet, except an
    observer's own number and own person."""
    found = []
    for s in seen:
        others = [b for role, b in bidders.items() if s.role != f"bidder {role}"]
        numbers = [b.number for b in others if b.number and number_in(s.text, b.number)]
        if not numbers:
            continue
        for b in others:
            for secret in b.secrets():
                if secret_in(s.text, secret):
                    found.append(f"{s.moment}: {s.role} {s.where}: number {numbers} with {secret}")
    return found


async def test_no_one_links_a_number_to_a_person_until_the_hammer(
    pg_two_workers: LiveExchange,
) -> None:
    ex = pg_two_workers
    await add_users(
        ex.database_url,
        [
            ("town-reviewer", "reviewer", TOWN),
            ("town-regulator", "regulator", TOWN),
            ("far-regulator", "regulator", OTHER_TOWN),
        ],
        PASSWORD,
    )
    bidders = {
        role: Bidder(f"秘密{role}{uuid.uuid4().hex[:4]}", phone(), resident_id())
        for role in ("A", "B", "C")
    }
    for b in bidders.values():
        await ex.anon.ok(
            "POST",
            "/api/v1/bidders",
            {
                "name": b.name,
                "id_type": "resident_id",
                "id_number": b.id_number,
                "phone": b.phone,
                "password": PASSWORD,
            },
            status=201,
        )
    db = Database(ex.database_url)
    try:
        async with db.write() as session:
            for role, b in bidders.items():
                user = await session.scalar(select(User).where(User.phone == b.phone))
                assert user is not None
                user.username, b.user_id = role, user.id
    finally:
        await db.dispose()

    listing_id, _, reviewer, announced = await ex.quick_listing()
    for role in ("A", "B"):
        b = bidders[role]
        http = await ex.anon.login(role)
        registration = await http.ok(
            "POST", f"/api/v1/listings/{listing_id}/registrations", {}, status=201
        )
        b.registration_id = registration["id"]
        await ex.anon.pay(registration["payment_reference"], registration["deposit_fen"])
        await reviewer.ok(
            "POST", f"/api/v1/registrations/{b.registration_id}/review", {"decision": "qualify"}
        )
        b.number = (await http.ok("GET", f"/api/v1/registrations/{b.registration_id}"))[
            "bidder_number"
        ]
    # C never registers: a watcher with an account and no number.

    def paths() -> list[str]:
        values = {
            "listing_id": listing_id,
            "registration_id": bidders["A"].registration_id,
            "document_id": 1,
            "contract_id": 1,
            "file_path": "app.css",
        }
        out = []
        for template in READS:
            # Ids of nothing in this world (a rent payment, a notice) answer 404 alike.
            path = re.sub(
                r"\{(\w+)(?::\w+)?\}", lambda m: str(values.get(m.group(1), 999_999)), template
            )
            if path.startswith("/static/") or path in ("/healthz", "/readyz"):
                continue
            out.append(path + (f"?listing_id={listing_id}" if "ledger/bundle" in path else ""))
        out.append(f"/api/v1/registrations/{bidders['B'].registration_id}")
        return out

    seen: list[Seen] = []
    async with (
        httpx.AsyncClient(base_url=ex.servers[0].base_url, timeout=30) as first,
        httpx.AsyncClient(base_url=ex.servers[1].base_url, timeout=30) as second,
    ):

        async def observers() -> dict[str, Http]:
            """Everyone signed in afresh (server time jumps), half of them on each worker."""
            out = {}
            for i, (role, username) in enumerate(OBSERVERS.items()):
                http = Http(first if i % 2 == 0 else second)
                out[role] = http if username is None else await http.login(username)
            return out

        await read_everything(await observers(), paths(), "registration open", seen)
        await ex.close_registration(listing_id, announced)
        await read_everything(await observers(), paths(), "registration closed", seen)
        await ex.start_auction(listing_id, announced)

        clients = await observers()
        rooms = {
            role: await ex.room(listing_id, http.token, server=i).connect(last_seq=0)
            for i, (role, http) in enumerate(clients.items())
        }
        a_room, b_room = rooms["bidder A"], rooms["bidder B"]
        assert (await a_room.bid(1_224_000, ref=uuid.uuid4().hex))["type"] == "accepted"
        assert (await b_room.bid(1_248_000, ref=uuid.uuid4().hex))["type"] == "accepted"
        for room in rooms.values():
            await room.wait_for(lambda f: f["type"] == "bid" and f["amount_fen"] == 1_248_000)
        await read_everything(clients, paths(), "live", seen)
        for role, room in rooms.items():
            for frame in [room.snapshot, *room.events]:
                seen.append(Seen("live", role, "websocket", str(frame)))

        assert linking(seen, bidders) == []
        # The check sees what it looks for: the bidders' own numbers reached them, and the
        # applicants' names reached the reviewer while registration was open.
        assert any(s.role == "bidder A" and number_in(s.text, bidders["A"].number) for s in seen)
        assert any(
            s.role == "reviewer" and s.moment == "registration open" and bidders["A"].name in s.text
            for s in seen
        )

        await ex.end_countdown(listing_id)
        for room in rooms.values():
            await room.close()
        after: list[Seen] = []
        await read_everything(await observers(), paths(), "ended", after)

    ladder = next(
        s.text
        for s in after
        if s.role == "town regulator"
        and s.where.startswith(f"GET /api/v1/auctions/{listing_id}/ladder")
    )
    for role in ("A", "B"):
        b = bidders[role]
        for fact in (b.number, b.name, b.phone, b.id_number):
            assert fact in ladder, (role, fact)
    far = [s for s in after if s.role == "far regulator"]
    assert far and not any(
        secret_in(s.text, secret)
        for s in far
        for role in ("A", "B")
        for secret in bidders[role].secrets()[:5]
    )
