"""Deposits and registration: bank callbacks (signed, idempotent), staff confirmation,
qualification, registration close by the number of qualified bidders, and the ledger."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, func, select, update

from app.scheduler import close_due_registrations
from core import ledger
from core.ledger import LedgerEntry
from listings.models import Payment
from tests.integration.conftest import START, Exchange
from tests.support import (
    PASSWORD,
    SEED_TERMS,
    Http,
    entrust_review_announce,
    new_bidder,
    phone,
    resident_id,
    sign,
    submit,
)

PROBLEM = "application/problem+json"
CALLBACK = "/api/v1/payments/callback"
DEPOSIT = SEED_TERMS["deposit_fen"]
CLOSES_IN = timedelta(days=10)  # Friday 2026-12-11 09:00 in Beijing
STARTS_IN = timedelta(days=11)


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].split(";")[0].strip() == PROBLEM, response.headers
    body = response.json()
    assert body["code"] == code, body
    return body


@dataclass
class Listing:
    id: int
    village: Http
    reviewer: Http
    admin: Http

    async def relogin(self, exchange: Exchange) -> None:
        """Sessions last 12 hours; after the clock jumps days ahead, staff sign in again."""
        self.village = await exchange.http.login("xingtian")
        self.reviewer = await exchange.http.login("reviewer")
        self.admin = await exchange.http.login("admin")


@dataclass
class Applicant:
    http: Http
    registration: dict[str, Any]

    @property
    def id(self) -> int:
        return int(self.registration["id"])

    @property
    def reference(self) -> str:
        return str(self.registration["payment_reference"])


async def announced(exchange: Exchange, **settings: Any) -> Listing:
    admin = await exchange.http.login("admin")
    if settings:
        await admin.ok("PUT", "/api/v1/settings", settings)
    listing_id, village, reviewer = await entrust_review_announce(
        exchange.http, exchange.clock.now(), closes_in=CLOSES_IN, starts_in=STARTS_IN
    )
    return Listing(listing_id, village, reviewer, admin)


async def apply(exchange: Exchange, listing_id: int, name: str = "竞买人") -> Applicant:
    bidder = await new_bidder(exchange.http, name)
    registration = await bidder.ok(
        "POST", f"/api/v1/listings/{listing_id}/registrations", {}, status=201
    )
    assert registration["state"] == "pending_deposit"
    assert registration["deposit_fen"] == DEPOSIT
    assert registration["payment_reference"]
    return Applicant(bidder, registration)


async def paid(exchange: Exchange, applicant: Applicant) -> None:
    response = await exchange.http.pay(applicant.reference, DEPOSIT)
    assert response.status_code == 200, response.text


async def qualified(exchange: Exchange, listing: Listing, name: str = "竞买人") -> Applicant:
    applicant = await apply(exchange, listing.id, name)
    await paid(exchange, applicant)
    answer = await listing.reviewer.ok(
        "POST", f"/api/v1/registrations/{applicant.id}/review", {"decision": "qualify"}
    )
    assert answer["state"] == "qualified" and "bidder_number" not in answer  # sealed from staff
    assert (await state_of(applicant))["bidder_number"]  # the bidder's own
    return applicant


async def state_of(applicant: Applicant) -> dict[str, Any]:
    return await applicant.http.ok("GET", f"/api/v1/registrations/{applicant.id}")  # type: ignore[no-any-return]


async def entries(exchange: Exchange, subject: str) -> list[LedgerEntry]:
    async with exchange.services.db.read() as session:
        return await ledger.entries_of(session, subject)


async def types_of(exchange: Exchange, listing_id: int) -> list[str]:
    return [e.type for e in await entries(exchange, f"listing:{listing_id}")]


async def payments(exchange: Exchange) -> list[Payment]:
    async with exchange.services.db.read() as session:
        return list(await session.scalars(select(Payment).order_by(Payment.id)))


async def ledger_size(exchange: Exchange) -> int:
    async with exchange.services.db.read() as session:
        return await session.scalar(select(func.count()).select_from(LedgerEntry)) or 0


async def assert_chain_ok(exchange: Exchange, *subjects: str) -> None:
    async with exchange.services.db.read() as session:
        for subject in subjects:
            assert await ledger.entries_of(session, subject), subject
            assert await ledger.verify_subject(session, subject) is None, subject


def raw_callback(
    reference: str, amount_fen: int, txn: str, paid_at: str = "2026-12-01T10:00:00+08:00"
) -> bytes:
    return json.dumps(
        {"reference": reference, "amount_fen": amount_fen, "bank_txn_id": txn, "paid_at": paid_at}
    ).encode()


async def post_raw(http: Http, raw: bytes, signature: str | None) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["X-Signature"] = signature
    return await http.call("POST", CALLBACK, content=raw, headers=headers)


async def close_at(exchange: Exchange, listing: Listing, when: timedelta) -> None:
    """Move the clock to START + when and run the scheduler's registration close."""
    exchange.clock.set(START + when)
    await close_due_registrations(exchange.services)
    await listing.relogin(exchange)


# --- the bank callback -----------------------------------------------------------------------


async def test_bad_signatures_are_401_and_write_nothing(exchange: Exchange) -> None:
    listing = await announced(exchange)
    applicant = await apply(exchange, listing.id)
    raw = raw_callback(applicant.reference, DEPOSIT, "BANK-SIG-1")
    before = (await ledger_size(exchange), len(await payments(exchange)))
    for signature in [
        None,
        "",
        "deadbeef",
        sign(raw, "another-secret"),
        sign(raw + b" "),
        sign(raw)[:-1],
        "sha256=" + sign(raw),
    ]:
        response = await post_raw(exchange.http, raw, signature)
        assert response.status_code == 401, (signature, response.text)
        assert_problem(response, 401, "payment.bad_signature")
    # a body changed after signing
    tampered = raw_callback(applicant.reference, DEPOSIT * 10, "BANK-SIG-1")
    assert_problem(await post_raw(exchange.http, tampered, sign(raw)), 401, "payment.bad_signature")
    assert (await ledger_size(exchange), len(await payments(exchange))) == before
    assert (await state_of(applicant))["deposit_state"] == "pending"
    # the same transaction, properly signed, then goes through: nothing was remembered
    ok = await post_raw(exchange.http, raw, sign(raw))
    assert ok.status_code == 200, ok.text
    # an upper-case hex signature is still the signature
    raw2 = raw_callback("RXNOSUCHREF", 1, "BANK-SIG-2")
    assert_problem(
        await post_raw(exchange.http, raw2, sign(raw2).upper()), 422, "payment.unknown_reference"
    )


async def test_signed_garbage_is_400_and_writes_nothing(exchange: Exchange) -> None:
    before = await ledger_size(exchange)
    for raw in [
        b"{",
        b"[]",
        json.dumps({"reference": "x"}).encode(),
        json.dumps(
            {
                "reference": "RX1",
                "amount_fen": 1.5,
                "bank_txn_id": "T",
                "paid_at": "2026-12-01T10:00:00+08:00",
            }
        ).encode(),
        json.dumps(
            {
                "reference": "RX1",
                "amount_fen": "100",
                "bank_txn_id": "T",
                "paid_at": "2026-12-01T10:00:00+08:00",
            }
        ).encode(),
        json.dumps(
            {
                "reference": "RX1",
                "amount_fen": 100,
                "bank_txn_id": "T",
                "paid_at": "2026-12-01T10:00:00+08:00",
                "extra": 1,
            }
        ).encode(),
    ]:
        response = await post_raw(exchange.http, raw, sign(raw))
        assert_problem(response, 400, "request.invalid")
    assert await ledger_size(exchange) == before
    assert await payments(exchange) == []


async def test_wrong_amount_is_recorded_and_answered_the_same_on_replay(
    exchange: Exchange,
) -> None:
    listing = await announced(exchange)
    applicant = await apply(exchange, listing.id)
    raw = raw_callback(applicant.reference, DEPOSIT - 1, "BANK-SHORT")
    first = await post_raw(exchange.http, raw, sign(raw))
    body = assert_problem(first, 422, "payment.amount_mismatch")
    size = await ledger_size(exchange)
    again = await post_raw(exchange.http, raw, sign(raw))
    assert again.status_code == 422
    assert again.json() == body
    assert again.headers["content-type"] == first.headers["content-type"]
    assert await ledger_size(exchange) == size  # the replay adds nothing
    [payment] = await payments(exchange)
    assert (payment.outcome, payment.code, payment.amount_fen) == (
        "rejected",
        "payment.amount_mismatch",
        DEPOSIT - 1,
    )
    assert payment.registration_id == applicant.id
    assert (await types_of(exchange, listing.id)).count("payment.rejected") == 1
    assert (await state_of(applicant))["deposit_state"] == "pending"
    # the right amount under a new bank transaction is then accepted
    assert (await exchange.http.pay(applicant.reference, DEPOSIT)).status_code == 200
    assert (await state_of(applicant))["state"] == "deposit_paid"
    await assert_chain_ok(exchange, f"listing:{listing.id}")


async def test_unknown_reference_is_recorded_and_answered_the_same_on_replay(
    exchange: Exchange,
) -> None:
    raw = raw_callback("RXNOSUCHREF", DEPOSIT, "BANK-UNKNOWN")
    first = await post_raw(exchange.http, raw, sign(raw))
    body = assert_problem(first, 422, "payment.unknown_reference")
    again = await post_raw(exchange.http, raw, sign(raw))
    assert (again.status_code, again.json()) == (422, body)
    [payment] = await payments(exchange)
    assert payment.registration_id is None and payment.code == "payment.unknown_reference"
    [entry] = await entries(exchange, "payments")
    assert entry.type == "payment.rejected"
    assert entry.payload["bank_txn_id"] == "BANK-UNKNOWN"
    await assert_chain_ok(exchange, "payments")


async def test_a_replayed_payment_answers_the_same_and_counts_once(exchange: Exchange) -> None:
    listing = await announced(exchange)
    applicant = await apply(exchange, listing.id)
    raw = raw_callback(applicant.reference, DEPOSIT, "BANK-OK-1")
    first = await post_raw(exchange.http, raw, sign(raw))
    assert first.status_code == 200, first.text
    assert first.headers["content-type"].startswith("application/json")
    body = first.json()
    assert body == {
        "status": "accepted",
        "registration_id": applicant.id,
        "state": "deposit_paid",
        "deposit_state": "paid",
    }
    size = await ledger_size(exchange)
    for _ in range(3):
        again = await post_raw(exchange.http, raw, sign(raw))
        assert (again.status_code, again.json()) == (200, body)
    # even after the registration has moved on, the replay answers as the first time
    await listing.reviewer.ok(
        "POST", f"/api/v1/registrations/{applicant.id}/review", {"decision": "qualify"}
    )
    again = await post_raw(exchange.http, raw, sign(raw))
    assert (again.status_code, again.json()) == (200, body)
    assert await ledger_size(exchange) == size + 1  # only the qualification
    assert (await types_of(exchange, listing.id)).count("deposit.paid") == 1
    assert len(await payments(exchange)) == 1
    await assert_chain_ok(exchange, f"listing:{listing.id}")


async def test_a_second_transfer_for_a_paid_deposit_is_kept_for_refund(exchange: Exchange) -> None:
    listing = await announced(exchange)
    applicant = await apply(exchange, listing.id)
    await paid(exchange, applicant)
    second = await exchange.http.pay(applicant.reference, DEPOSIT, txn="BANK-TWICE")
    assert_problem(second, 422, "payment.already_paid")
    assert [p.outcome for p in await payments(exchange)] == ["accepted", "rejected"]
    assert (await types_of(exchange, listing.id)).count("deposit.paid") == 1


async def test_concurrent_identical_callbacks_count_once(exchange: Exchange) -> None:
    listing = await announced(exchange)
    applicant = await apply(exchange, listing.id)
    raw = raw_callback(applicant.reference, DEPOSIT, "BANK-RACE")
    one, two = await asyncio.gather(
        post_raw(exchange.http, raw, sign(raw)), post_raw(exchange.http, raw, sign(raw))
    )
    assert one.status_code == two.status_code == 200, (one.text, two.text)
    assert one.json() == two.json()
    assert one.json()["status"] == "accepted"
    assert len(await payments(exchange)) == 1
    assert (await types_of(exchange, listing.id)).count("deposit.paid") == 1
    await assert_chain_ok(exchange, f"listing:{listing.id}")


async def test_concurrent_different_transfers_accept_one(exchange: Exchange) -> None:
    listing = await announced(exchange)
    applicant = await apply(exchange, listing.id)
    answers = await asyncio.gather(
        *[exchange.http.pay(applicant.reference, DEPOSIT, txn=f"BANK-DIFF-{i}") for i in range(4)]
    )
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200, 422, 422, 422], [a.text for a in answers]
    assert {a.json()["code"] for a in answers if a.status_code == 422} == {"payment.already_paid"}
    assert (await types_of(exchange, listing.id)).count("deposit.paid") == 1
    assert len(await payments(exchange)) == 4
    await assert_chain_ok(exchange, f"listing:{listing.id}")


async def test_payment_after_registration_close(exchange: Exchange) -> None:
    listing = await announced(exchange)
    late, later = await apply(exchange, listing.id), await apply(exchange, listing.id)
    # the closing time has passed, the scheduler has not yet run
    exchange.clock.advance(CLOSES_IN)
    assert_problem(
        await exchange.http.pay(late.reference, DEPOSIT), 422, "payment.registration_closed"
    )
    await close_due_registrations(exchange.services)
    assert_problem(
        await exchange.http.pay(later.reference, DEPOSIT), 422, "payment.registration_closed"
    )
    await listing.relogin(exchange)
    assert (await deposit_states(listing))[late.id] == ("pending_deposit", "pending")
    assert [p.code for p in await payments(exchange)] == ["payment.registration_closed"] * 2
    assert (await types_of(exchange, listing.id)).count("deposit.paid") == 0
    await assert_chain_ok(exchange, f"listing:{listing.id}")


# --- staff confirmation, qualification -----------------------------------------------------------


async def test_a_reviewer_confirms_a_deposit_by_hand(exchange: Exchange) -> None:
    listing = await announced(exchange)
    applicant = await apply(exchange, listing.id)
    path = f"/api/v1/registrations/{applicant.id}/deposit"
    body = {
        "amount_fen": DEPOSIT,
        "bank_txn_id": "STMT-001",
        "paid_at": "2026-12-01T11:00:00+08:00",
        "note": "对账单第3行",
    }
    before = await ledger_size(exchange)
    for who in (applicant.http, listing.village, listing.admin):
        assert_problem(await who.call("POST", path, body), 403, "auth.forbidden")
    assert_problem(await exchange.http.call("POST", path, body), 401, "auth.required")
    assert_problem(
        await listing.reviewer.call("POST", path, {**body, "amount_fen": 1}),
        422,
        "payment.amount_mismatch",
    )
    assert await ledger_size(exchange) == before + 1  # the rejected attempt is on the record
    confirmed = await listing.reviewer.ok("POST", path, {**body, "bank_txn_id": "STMT-002"})
    assert confirmed["status"] == "accepted" and confirmed["deposit_state"] == "paid"
    replay = await listing.reviewer.ok("POST", path, {**body, "bank_txn_id": "STMT-002"})
    assert replay == confirmed
    # the bank's own callback for the same transfer later answers the same
    raw = raw_callback(applicant.reference, DEPOSIT, "STMT-002")
    bank = await post_raw(exchange.http, raw, sign(raw))
    assert (bank.status_code, bank.json()) == (200, confirmed)
    deposit_entries = [
        e for e in await entries(exchange, f"listing:{listing.id}") if e.type == "deposit.paid"
    ]
    assert len(deposit_entries) == 1
    assert deposit_entries[0].payload["source"] == "staff"
    assert deposit_entries[0].actor.startswith("user:")
    await assert_chain_ok(exchange, f"listing:{listing.id}")


async def test_qualification_needs_the_deposit(exchange: Exchange) -> None:
    listing = await announced(exchange)
    applicant = await apply(exchange, listing.id)
    path = f"/api/v1/registrations/{applicant.id}/review"
    before = await ledger_size(exchange)
    assert_problem(
        await listing.reviewer.call("POST", path, {"decision": "qualify"}),
        409,
        "registration.deposit_unpaid",
    )
    assert await ledger_size(exchange) == before
    assert (await state_of(applicant))["state"] == "pending_deposit"
    await paid(exchange, applicant)
    assert_problem(
        await listing.reviewer.call("POST", path, {"decision": "reject"}),
        400,
        "review.reason_required",
    )
    answer = await listing.reviewer.ok("POST", path, {"decision": "qualify"})
    assert answer["state"] == "qualified" and "bidder_number" not in answer
    assert len((await state_of(applicant))["bidder_number"]) == 4
    assert_problem(
        await listing.reviewer.call("POST", path, {"decision": "qualify"}),
        409,
        "registration.already_reviewed",
    )
    mine = await state_of(applicant)
    assert (mine["state"], mine["deposit_state"]) == ("qualified", "held")


async def test_duplicate_registration_is_409(exchange: Exchange) -> None:
    listing = await announced(exchange)
    applicant = await apply(exchange, listing.id)
    before = await ledger_size(exchange)
    again = await applicant.http.call("POST", f"/api/v1/listings/{listing.id}/registrations", {})
    body = assert_problem(again, 409, "registration.duplicate")
    assert body["registration_id"] == applicant.id
    # a concurrent double submit does not make two either
    other = await apply(exchange, listing.id)
    answers = await asyncio.gather(
        *[
            other.http.call("POST", f"/api/v1/listings/{listing.id}/registrations", {})
            for _ in range(3)
        ]
    )
    for answer in answers:
        assert_problem(answer, 409, "registration.duplicate")
    assert await ledger_size(exchange) == before + 1 + 2  # the other's sign-up and application
    mine = await applicant.http.ok("GET", "/api/v1/registrations")
    assert [r["id"] for r in mine["items"]] == [applicant.id]


async def test_registration_after_close_is_refused(exchange: Exchange) -> None:
    listing = await announced(exchange)
    exchange.clock.advance(CLOSES_IN)
    await listing.relogin(exchange)
    anon, mobile = exchange.http, phone()
    await anon.ok(
        "POST",
        "/api/v1/bidders",
        {
            "name": "迟到者",
            "id_type": "resident_id",
            "id_number": resident_id(),
            "phone": mobile,
            "password": PASSWORD,
        },
        status=201,
    )
    late = await anon.login(mobile)
    before = await ledger_size(exchange)
    path = f"/api/v1/listings/{listing.id}/registrations"
    assert_problem(await late.call("POST", path, {}), 409, "registration.closed")
    await close_due_registrations(exchange.services)
    assert_problem(await late.call("POST", path, {}), 409, "registration.closed")
    assert await ledger_size(exchange) == before + 1  # registration.closed by the scheduler
    assert (await late.ok("GET", "/api/v1/registrations"))["items"] == []


async def test_registration_for_a_draft_is_not_found(exchange: Exchange) -> None:
    village = await exchange.http.login("xingtian")
    from tests.support import SEED_LISTING

    draft = await village.ok("POST", "/api/v1/listings", SEED_LISTING, status=201)
    listing = await announced(exchange)
    applicant = await apply(exchange, listing.id)
    assert_problem(
        await applicant.http.call("POST", f"/api/v1/listings/{draft['id']}/registrations", {}),
        404,
        "listing.not_found",
    )


async def test_a_free_deposit_is_ready_for_review_and_on_the_record(exchange: Exchange) -> None:
    from tests.support import SEED_LISTING

    village, reviewer = await exchange.http.login("xingtian"), await exchange.http.login("reviewer")
    body = {**SEED_LISTING, "terms": {**SEED_TERMS, "deposit_fen": 0}}
    created = await village.ok("POST", "/api/v1/listings", body, status=201)
    await submit(village, created["id"])
    await reviewer.ok("POST", f"/api/v1/listings/{created['id']}/review", {"decision": "accept"})
    now = exchange.clock.now()
    await reviewer.ok(
        "POST",
        f"/api/v1/listings/{created['id']}/announce",
        {
            "registration_closes_at": (now + CLOSES_IN).isoformat(),
            "auction_starts_at": (now + STARTS_IN).isoformat(),
        },
    )
    anon, mobile = exchange.http, phone()
    await anon.ok(
        "POST",
        "/api/v1/bidders",
        {
            "name": "免保证金",
            "id_type": "resident_id",
            "id_number": resident_id(),
            "phone": mobile,
            "password": PASSWORD,
        },
        status=201,
    )
    bidder = await anon.login(mobile)
    registration = await bidder.ok(
        "POST", f"/api/v1/listings/{created['id']}/registrations", {}, status=201
    )
    assert (registration["state"], registration["deposit_state"]) == ("deposit_paid", "paid")
    # the ledger agrees with the table: the last word on this registration says "paid"
    last = [
        e
        for e in await entries(exchange, f"listing:{created['id']}")
        if e.payload.get("registration_id") == registration["id"]
    ][-1]
    assert (last.payload["state"], last.payload["deposit_state"]) == ("deposit_paid", "paid")
    answer = await reviewer.ok(
        "POST", f"/api/v1/registrations/{registration['id']}/review", {"decision": "qualify"}
    )
    assert answer["state"] == "qualified"


# --- registration close --------------------------------------------------------------------------


async def listing_state(listing: Listing) -> dict[str, Any]:
    return await listing.reviewer.ok("GET", f"/api/v1/listings/{listing.id}")  # type: ignore[no-any-return]


async def deposit_states(listing: Listing) -> dict[int, tuple[str, str]]:
    rows = await listing.reviewer.ok("GET", f"/api/v1/listings/{listing.id}/registrations")
    return {r["id"]: (r["state"], r["deposit_state"]) for r in rows["items"]}


async def test_nothing_closes_early(exchange: Exchange) -> None:
    listing = await announced(exchange)
    await close_at(exchange, listing, CLOSES_IN - timedelta(seconds=1))
    assert (await listing_state(listing))["state"] == "announced"
    assert "registration.closed" not in await types_of(exchange, listing.id)


async def rejected(listing: Listing, applicant: Applicant, reason: str = "材料不全") -> None:
    answer = await listing.reviewer.ok(
        "POST",
        f"/api/v1/registrations/{applicant.id}/review",
        {"decision": "reject", "reason": reason},
    )
    assert answer["state"] == "rejected"


async def test_close_with_no_qualified_bidder_fails(exchange: Exchange) -> None:
    listing = await announced(exchange)
    unpaid = await apply(exchange, listing.id)
    turned_down = await apply(exchange, listing.id)
    await paid(exchange, turned_down)
    await rejected(listing, turned_down)
    await close_at(exchange, listing, CLOSES_IN)
    await close_due_registrations(exchange.services)  # a second run finds nothing
    shown = await listing_state(listing)
    assert (shown["state"], shown["outcome"]) == ("failed", "no_bidders")
    states = await deposit_states(listing)
    assert states[unpaid.id] == ("pending_deposit", "pending")
    assert states[turned_down.id] == ("rejected", "refundable")
    types = await types_of(exchange, listing.id)
    assert types.count("registration.closed") == 1
    await assert_chain_ok(exchange, f"listing:{listing.id}")


async def test_a_paid_registration_nobody_reviewed_is_qualified_at_close(
    exchange: Exchange,
) -> None:
    """Staff cannot keep a bidder out by doing nothing (the stalled-qualification finding:
    the only qualified rival would otherwise win by agreement at 0 % premium)."""
    listing = await announced(exchange, single_bidder_policy="agreement")
    favourite = await qualified(exchange, listing)
    stalled = await apply(exchange, listing.id)
    await paid(exchange, stalled)  # paid on time; the reviewer never decides
    await close_at(exchange, listing, CLOSES_IN)
    shown = await listing_state(listing)
    assert shown["state"] == "auction" and shown.get("outcome") is None
    states = await deposit_states(listing)
    assert states[favourite.id] == ("qualified", "held")
    assert states[stalled.id] == ("qualified", "held")
    await stalled.http.relogin()
    mine = await state_of(stalled)
    assert mine["bidder_number"] and "自动确认竞买资格" in mine["reason"]
    decided = [
        e
        for e in await entries(exchange, f"listing:{listing.id}")
        if e.type == "registration.qualified" and e.payload["registration_id"] == stalled.id
    ]
    assert [(e.actor, e.payload["automatic"]) for e in decided] == [("system", True)]
    closed = [
        e
        for e in await entries(exchange, f"listing:{listing.id}")
        if e.type == "registration.closed"
    ]
    assert [(e.payload["outcome"], e.payload["qualified"]) for e in closed] == [("auction", 2)]
    await assert_chain_ok(exchange, f"listing:{listing.id}")


async def test_single_bidder_agreement_sells_at_the_listing_price(exchange: Exchange) -> None:
    listing = await announced(exchange, single_bidder_policy="agreement")
    winner = await qualified(exchange, listing)
    loser = await apply(exchange, listing.id)
    await paid(exchange, loser)
    await rejected(listing, loser)  # told why; the reason is on record
    assert (await state_of(loser))["reason"] == "材料不全"
    await close_at(exchange, listing, CLOSES_IN)
    shown = await listing_state(listing)
    assert (shown["state"], shown["outcome"]) == ("sold", "agreement")
    states = await deposit_states(listing)
    assert states[winner.id] == ("qualified", "held")  # to be credited to the first rent
    assert states[loser.id] == ("rejected", "refundable")
    closed = [
        e
        for e in await entries(exchange, f"listing:{listing.id}")
        if e.type == "registration.closed"
    ]
    assert [e.payload["outcome"] for e in closed] == ["agreement"]
    await assert_chain_ok(exchange, f"listing:{listing.id}")


async def test_single_bidder_fail_policy(exchange: Exchange) -> None:
    listing = await announced(exchange, single_bidder_policy="fail")
    alone = await qualified(exchange, listing)
    await close_at(exchange, listing, CLOSES_IN)
    shown = await listing_state(listing)
    assert (shown["state"], shown["outcome"]) == ("failed", "too_few_bidders")
    assert (await deposit_states(listing))[alone.id] == ("qualified", "refundable")
    await assert_chain_ok(exchange, f"listing:{listing.id}")


async def test_single_bidder_extend_policy_extends_once_then_fails(exchange: Exchange) -> None:
    # 3 working days from Friday 11 Dec, with Tuesday 15 Dec a holiday: Mon 14, Wed 16, Thu 17.
    listing = await announced(
        exchange,
        single_bidder_policy="extend",
        single_bidder_extension_working_days=3,
        holidays=["2026-12-15"],
    )
    alone = await qualified(exchange, listing)
    before = await listing_state(listing)
    assert before["registration_closes_at"] == "2026-12-11T01:00:00Z"
    await close_at(exchange, listing, CLOSES_IN)
    extended = await listing_state(listing)
    assert extended["state"] == "announced"
    assert extended["registration_closes_at"] == "2026-12-17T01:00:00Z"
    assert extended["auction_starts_at"] == "2026-12-18T01:00:00Z"
    assert (await deposit_states(listing))[alone.id] == ("qualified", "held")
    # registration is open again until the new close
    late = await apply(exchange, listing.id, "补报名")
    await close_due_registrations(exchange.services)
    assert (await listing_state(listing))["state"] == "announced"
    # the second close, still with one qualified bidder, fails
    await close_at(exchange, listing, timedelta(days=16))
    shown = await listing_state(listing)
    assert (shown["state"], shown["outcome"]) == ("failed", "too_few_bidders")
    states = await deposit_states(listing)
    assert states[alone.id] == ("qualified", "refundable")
    assert states[late.id] == ("pending_deposit", "pending")
    closed = [
        e
        for e in await entries(exchange, f"listing:{listing.id}")
        if e.type == "registration.closed"
    ]
    assert [e.payload["outcome"] for e in closed] == ["extend", "failed"]
    assert closed[0].payload["registration_closes_at"] == "2026-12-17T01:00:00.000000Z"
    await assert_chain_ok(exchange, f"listing:{listing.id}")


async def test_extension_that_finds_a_second_bidder_goes_to_auction(exchange: Exchange) -> None:
    listing = await announced(exchange, single_bidder_policy="extend")
    await qualified(exchange, listing)
    await close_at(exchange, listing, CLOSES_IN)
    assert (await listing_state(listing))["state"] == "announced"
    await qualified(exchange, listing, "第二位")
    await close_at(exchange, listing, timedelta(days=30))
    assert (await listing_state(listing))["state"] == "auction"


async def test_two_qualified_bidders_go_to_auction(exchange: Exchange) -> None:
    listing = await announced(exchange)
    first, second = await qualified(exchange, listing), await qualified(exchange, listing)
    rejected = await apply(exchange, listing.id)
    await paid(exchange, rejected)
    await listing.reviewer.ok(
        "POST",
        f"/api/v1/registrations/{rejected.id}/review",
        {"decision": "reject", "reason": "材料不全"},
    )
    unreviewed = await apply(exchange, listing.id)
    await paid(exchange, unreviewed)
    unpaid = await apply(exchange, listing.id)
    await close_at(exchange, listing, CLOSES_IN)
    shown = await listing_state(listing)
    assert shown["state"] == "auction"
    states = await deposit_states(listing)
    assert states[first.id] == ("qualified", "held")
    assert states[second.id] == ("qualified", "held")
    assert states[rejected.id] == ("rejected", "refundable")
    assert states[unreviewed.id] == ("qualified", "held")  # paid in time: qualified at close
    assert states[unpaid.id] == ("pending_deposit", "pending")
    # after the close no more decisions: nobody can take a qualification back
    assert_problem(
        await listing.reviewer.call(
            "POST",
            f"/api/v1/registrations/{unreviewed.id}/review",
            {"decision": "reject", "reason": "迟到的审核"},
        ),
        409,
        "registration.listing_not_open",
    )
    await assert_chain_ok(exchange, f"listing:{listing.id}")


async def test_minimum_bidders_setting(exchange: Exchange) -> None:
    listing = await announced(exchange, min_qualified_bidders=3)
    await qualified(exchange, listing)
    await qualified(exchange, listing)
    await close_at(exchange, listing, CLOSES_IN)
    shown = await listing_state(listing)
    assert (shown["state"], shown["outcome"]) == ("failed", "too_few_bidders")


# --- the ledger ------------------------------------------------------------------------------


async def test_a_tampered_entry_is_detected(exchange: Exchange) -> None:
    listing = await announced(exchange)
    applicant = await qualified(exchange, listing)
    subject = f"listing:{listing.id}"
    await assert_chain_ok(exchange, subject)
    chain = await entries(exchange, subject)
    target = next(e for e in chain if e.type == "deposit.paid")
    async with exchange.services.db.write() as session:
        await session.execute(
            update(LedgerEntry)
            .where(LedgerEntry.id == target.id)
            .values(payload={**target.payload, "amount_fen": 1})
        )
    async with exchange.services.db.read() as session:
        bad = await ledger.verify_subject(session, subject)
    assert bad is not None and bad.id == target.id
    # restoring the payload restores the chain; then a removed entry is detected too
    async with exchange.services.db.write() as session:
        await session.execute(
            update(LedgerEntry).where(LedgerEntry.id == target.id).values(payload=target.payload)
        )
    await assert_chain_ok(exchange, subject)
    async with exchange.services.db.write() as session:
        await session.execute(delete(LedgerEntry).where(LedgerEntry.id == target.id))
    async with exchange.services.db.read() as session:
        bad = await ledger.verify_subject(session, subject)
    assert bad is not None and bad.subject_seq == target.subject_seq + 1
    assert applicant.id


async def test_a_rewritten_time_or_actor_is_detected(exchange: Exchange) -> None:
    listing = await announced(exchange)
    subject = f"listing:{listing.id}"
    first = (await entries(exchange, subject))[0]
    async with exchange.services.db.write() as session:
        await session.execute(
            update(LedgerEntry).where(LedgerEntry.id == first.id).values(actor="user:999")
        )
    async with exchange.services.db.read() as session:
        bad = await ledger.verify_subject(session, subject)
    assert bad is not None and bad.id == first.id


@pytest.mark.parametrize("policy", ["agreement", "fail", "extend"])
async def test_every_flow_leaves_a_verifiable_chain(exchange: Exchange, policy: str) -> None:
    listing = await announced(exchange, single_bidder_policy=policy)
    await qualified(exchange, listing)
    await close_at(exchange, listing, CLOSES_IN)
    await close_at(exchange, listing, timedelta(days=40))
    shown = await listing_state(listing)
    assert shown["state"] == {"agreement": "sold", "fail": "failed", "extend": "failed"}[policy]
    await assert_chain_ok(exchange, f"listing:{listing.id}", "settings")


async def test_an_extension_leaves_undecided_applications_to_the_reviewer(
    exchange: Exchange,
) -> None:
    """A single paid application and the extend policy: registration is extended, and the
    application stays open to a decision (it is qualified by the system only at the final
    close)."""
    listing = await announced(exchange, single_bidder_policy="extend")
    alone = await apply(exchange, listing.id)
    await paid(exchange, alone)
    await close_at(exchange, listing, CLOSES_IN)
    shown = await listing_state(listing)
    assert shown["state"] == "announced"  # extended
    assert (await deposit_states(listing))[alone.id] == ("deposit_paid", "paid")
    answer = await listing.reviewer.ok(
        "POST", f"/api/v1/registrations/{alone.id}/review", {"decision": "qualify"}
    )
    assert answer["state"] == "qualified"
