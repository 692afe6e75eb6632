"""Priority rights proven, not claimed: one account per ID number, a claim only by the named
holder, a proof document, and an explicit decision by the reviewer (docs/security.md §4)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import func, select

from app.scheduler import close_due_registrations
from core.ledger import LedgerEntry
from listings.models import Registration, RegistrationDocument
from tests.integration.conftest import START, Exchange
from tests.integration.test_pages import Browser, error_of
from tests.support import (
    PASSWORD,
    SEED_LISTING,
    Http,
    entrust_review_announce,
    phone,
    resident_id,
)

PROOF = b"%PDF-1.4\n1 0 obj<<>>endobj\n%%EOF\n"
HOLDER = "陈阿明"


def problem(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, (response.status_code, response.text)
    assert response.json()["code"] == code, response.text


async def sign_up(anon: Http, id_number: str, name: str = "竞买人") -> Http:
    mobile = phone()
    await anon.ok(
        "POST",
        "/api/v1/bidders",
        {
            "name": name,
            "id_type": "resident_id",
            "id_number": id_number,
            "phone": mobile,
            "password": PASSWORD,
        },
        status=201,
    )
    return await anon.login(mobile)


async def holder_listing(exchange: Exchange, holder_id: str) -> tuple[int, Http]:
    body = {
        **SEED_LISTING,
        "terms": {
            **SEED_LISTING["terms"],
            "priority_holders": [
                {"name": HOLDER, "id_type": "resident_id", "id_number": holder_id}
            ],
        },
    }
    listing_id, _, reviewer = await entrust_review_announce(
        exchange.http,
        exchange.clock.now(),
        closes_in=timedelta(days=10),
        starts_in=timedelta(days=11),
        listing=body,
    )
    return listing_id, reviewer


async def register(bidder: Http, listing_id: int, claim: bool = True) -> dict[str, Any]:
    return await bidder.ok(  # type: ignore[no-any-return]
        "POST",
        f"/api/v1/listings/{listing_id}/registrations",
        {"claim_priority": claim},
        status=201,
    )


async def upload_proof(bidder: Http, registration_id: int) -> httpx.Response:
    return await bidder.call(  # type: ignore[no-any-return]
        "POST",
        f"/api/v1/registrations/{registration_id}/documents",
        files={"file": ("租赁合同.pdf", PROOF, "application/pdf")},
    )


async def review(reviewer: Http, registration_id: int, **body: Any) -> httpx.Response:
    return await reviewer.call(  # type: ignore[no-any-return]
        "POST", f"/api/v1/registrations/{registration_id}/review", body
    )


async def count(exchange: Exchange, model: Any) -> int:
    async with exchange.services.db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_one_account_per_id_number(exchange: Exchange) -> None:
    """The priority-spoof finding, first half: a second account cannot take the holder's ID."""
    holder_id = resident_id()
    await sign_up(exchange.http, holder_id, HOLDER)
    response = await exchange.http.call(
        "POST",
        "/api/v1/bidders",
        {
            "name": "冒名者",
            "id_type": "resident_id",
            "id_number": holder_id.lower(),  # the same number, however typed
            "phone": phone(),
            "password": PASSWORD,
        },
    )
    problem(response, 409, "user.id_number_taken")


async def test_only_the_named_holder_may_claim_and_nothing_is_written_otherwise(
    exchange: Exchange,
) -> None:
    """The priority-spoof finding, second half: a typed claim by anyone else is refused."""
    listing_id, _ = await holder_listing(exchange, resident_id())
    stranger = await sign_up(exchange.http, resident_id())
    before = await count(exchange, Registration), await count(exchange, LedgerEntry)
    response = await stranger.call(
        "POST", f"/api/v1/listings/{listing_id}/registrations", {"claim_priority": True}
    )
    problem(response, 422, "registration.not_priority_holder")
    assert (await count(exchange, Registration), await count(exchange, LedgerEntry)) == before
    plain = await register(stranger, listing_id, claim=False)  # as an ordinary bidder: fine
    assert "priority_claim" not in plain
    problem(await upload_proof(stranger, plain["id"]), 409, "registration.no_priority_claim")


async def test_a_claim_is_confirmed_only_explicitly_and_with_a_proof(exchange: Exchange) -> None:
    holder_id = resident_id()
    listing_id, reviewer = await holder_listing(exchange, holder_id)
    holder = await sign_up(exchange.http, holder_id, HOLDER)
    claim = await register(holder, listing_id)
    assert claim["priority_claim"] == "claimed" and not claim.get("priority_holder")
    await exchange.http.pay(claim["payment_reference"], claim["deposit_fen"])

    undecided = await review(reviewer, claim["id"], decision="qualify")
    problem(undecided, 400, "review.priority_required")
    problem(
        await review(reviewer, claim["id"], decision="qualify", priority="confirm"),
        409,
        "review.priority_proof_missing",
    )
    # Nobody else can attach to, or read, the holder's registration.
    other = await sign_up(exchange.http, resident_id())
    problem(await upload_proof(other, claim["id"]), 404, "registration.not_found")
    assert (await upload_proof(holder, claim["id"])).status_code == 201

    # The reviewer sees the applicant beside the announcement's named holder, and the proof.
    [row] = (await reviewer.ok("GET", f"/api/v1/listings/{listing_id}/registrations"))["items"]
    assert row["bidder"]["name"] == HOLDER and row["priority_claim"] == "claimed"
    [proof] = row["documents"]
    terms = (await reviewer.ok("GET", f"/api/v1/listings/{listing_id}"))["terms"]
    assert terms["priority_holders"][0]["id_number"] == holder_id
    download = await reviewer.call(
        "GET", f"/api/v1/registrations/{claim['id']}/documents/{proof['id']}"
    )
    assert download.status_code == 200 and download.content == PROOF
    problem(
        await other.call("GET", f"/api/v1/registrations/{claim['id']}/documents/{proof['id']}"),
        404,
        "registration.not_found",
    )

    problem(
        await review(reviewer, claim["id"], decision="qualify", priority="refuse"),
        400,
        "review.reason_required",
    )
    answer = await reviewer.ok(
        "POST",
        f"/api/v1/registrations/{claim['id']}/review",
        {"decision": "qualify", "priority": "confirm"},
    )
    assert (answer["state"], answer["priority_claim"], answer["priority_holder"]) == (
        "qualified",
        "confirmed",
        True,
    )
    problem(await upload_proof(holder, claim["id"]), 409, "registration.already_reviewed")


async def test_a_refused_claim_bids_as_an_ordinary_bidder(exchange: Exchange) -> None:
    holder_id = resident_id()
    listing_id, reviewer = await holder_listing(exchange, holder_id)
    holder = await sign_up(exchange.http, holder_id, HOLDER)
    claim = await register(holder, listing_id)
    await exchange.http.pay(claim["payment_reference"], claim["deposit_fen"])
    assert (await upload_proof(holder, claim["id"])).status_code == 201
    answer = await reviewer.ok(
        "POST",
        f"/api/v1/registrations/{claim['id']}/review",
        {"decision": "qualify", "priority": "refuse", "reason": "证明材料不能证明承租关系"},
    )
    assert answer["state"] == "qualified" and answer["priority_claim"] == "refused"
    assert not answer.get("priority_holder")
    mine = await holder.ok("GET", f"/api/v1/registrations/{claim['id']}")
    assert mine["reason"] == "证明材料不能证明承租关系"
    # A decision on a registration without a claim must not carry one.
    plain = await register(await sign_up(exchange.http, resident_id()), listing_id, claim=False)
    await exchange.http.pay(plain["payment_reference"], plain["deposit_fen"])
    problem(
        await review(reviewer, plain["id"], decision="qualify", priority="confirm"),
        400,
        "review.no_priority_claim",
    )


async def test_an_undecided_claim_lapses_at_close_and_the_bidder_still_bids(
    exchange: Exchange,
) -> None:
    holder_id = resident_id()
    listing_id, _ = await holder_listing(exchange, holder_id)
    holder = await sign_up(exchange.http, holder_id, HOLDER)
    claim = await register(holder, listing_id)
    await exchange.http.pay(claim["payment_reference"], claim["deposit_fen"])
    assert (await upload_proof(holder, claim["id"])).status_code == 201
    rival = await register(await sign_up(exchange.http, resident_id()), listing_id, claim=False)
    await exchange.http.pay(rival["payment_reference"], rival["deposit_fen"])
    exchange.clock.set(START + timedelta(days=10))
    await close_due_registrations(exchange.services)
    holder = await holder.relogin()
    mine = await holder.ok("GET", f"/api/v1/registrations/{claim['id']}")
    assert (mine["state"], mine["priority_claim"]) == ("qualified", "lapsed")
    assert not mine.get("priority_holder") and mine["bidder_number"]
    assert "按普通竞买人参加竞价" in mine["reason"]
    async with exchange.services.db.read() as session:
        assert await session.scalar(select(func.count()).select_from(RegistrationDocument)) == 1
        qualified = await session.scalar(
            select(func.count())
            .select_from(Registration)
            .where(Registration.listing_id == listing_id, Registration.state == "qualified")
        )
    assert qualified == 2


async def test_the_pages_claim_prove_and_confirm(exchange: Exchange) -> None:
    """As people would: the holder registers on the listing page with the proof; the reviewer
    compares the applicant with the announced holder, must decide the claim, and confirms."""
    holder_id = resident_id()
    listing_id, _ = await holder_listing(exchange, holder_id)
    holder = Browser(exchange)
    reviewer = Browser(exchange)
    try:
        await holder.sign_up(HOLDER, holder_id, phone())
        html = await holder.get(f"/listings/{listing_id}")
        assert "我是公告所列优先权人" in html
        await holder.post(
            f"/listings/{listing_id}/register",
            {"accept": "1", "claim_priority": "1"},
            files={"proof": ("租赁合同.pdf", PROOF, "application/pdf")},
        )
        mine = await holder.get("/me/registrations")
        assert "已声明，待审核确认" in mine and "租赁合同.pdf" in mine
        async with exchange.services.db.read() as session:
            registration = await session.scalar(
                select(Registration).where(Registration.listing_id == listing_id)
            )
        assert registration is not None
        await exchange.http.pay(registration.payment_reference, registration.deposit_fen)

        await reviewer.login("reviewer")
        page = await reviewer.get(f"/review/listings/{listing_id}")
        assert "公告优先权人" in page and "证件号码一致" in page and "租赁合同.pdf" in page
        form = f"/review/registrations/{registration.id}/review"
        refused = await reviewer.post(form, {"decision": "qualify"}, status=400)
        assert error_of(refused.text, "priority")[0] == "review.priority_required"
        await reviewer.post(form, {"decision": "qualify", "priority": "confirm"})
        assert "已确认" in await holder.get("/me/registrations")
    finally:
        await holder.close()
        await reviewer.close()


async def test_a_stranger_claiming_on_the_page_is_told_why(exchange: Exchange) -> None:
    listing_id, _ = await holder_listing(exchange, resident_id())
    stranger = Browser(exchange)
    try:
        await stranger.sign_up("冒名者", resident_id(), phone())
        await stranger.get(f"/listings/{listing_id}")
        response = await stranger.post(
            f"/listings/{listing_id}/register",
            {"accept": "1", "claim_priority": "1"},
            files={"proof": ("租赁合同.pdf", PROOF, "application/pdf")},
            status=422,
        )
        assert "与公告所列优先权人不符" in response.text
        assert await count(exchange, Registration) == 0
    finally:
        await stranger.close()


async def test_the_proof_can_follow_on_my_registrations(exchange: Exchange) -> None:
    holder_id = resident_id()
    listing_id, _ = await holder_listing(exchange, holder_id)
    holder = Browser(exchange)
    try:
        await holder.sign_up(HOLDER, holder_id, phone())
        await holder.get(f"/listings/{listing_id}")
        claim = {"accept": "1", "claim_priority": "1"}
        await holder.post(f"/listings/{listing_id}/register", claim)
        mine = await holder.get("/me/registrations")
        assert "上传优先权证明材料" in mine
        [registration_id] = re.findall(r'action="/me/registrations/(\d+)/proof"', mine)
        bad = await holder.post(
            f"/me/registrations/{registration_id}/proof",
            {},
            files={"proof": ("合同.pdf", b"not a pdf", "application/pdf")},
            status=400,
        )
        assert "仅支持 PDF、JPEG、PNG" in bad.text
        await holder.post(
            f"/me/registrations/{registration_id}/proof",
            {},
            files={"proof": ("合同.pdf", PROOF, "application/pdf")},
        )
        assert "已上传证明材料" in await holder.get("/me/registrations")
        assert await count(exchange, RegistrationDocument) == 1
    finally:
        await holder.close()
