"""Bad input at the HTTP boundary: every refusal is problem JSON with a stable code, never a
500, and nothing is written (no listing, no document, no ledger entry)."""

from __future__ import annotations

import copy
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from core.ledger import LedgerEntry
from listings.models import Document, Listing
from tests.integration.conftest import Exchange
from tests.support import SEED_LISTING, SEED_TERMS, Http, iso, submit

PROBLEM = "application/problem+json"
LISTINGS = "/api/v1/listings"


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].split(";")[0].strip() == PROBLEM, response.headers
    body = response.json()
    assert body["code"] == code, body
    assert body["status"] == status
    assert body["detail"]
    return body


async def counts(exchange: Exchange) -> tuple[int, int, int]:
    """(listings, documents, ledger entries): what a refused request must leave unchanged."""
    async with exchange.services.db.read() as session:
        return (
            await session.scalar(select(func.count()).select_from(Listing)) or 0,
            await session.scalar(select(func.count()).select_from(Document)) or 0,
            await session.scalar(select(func.count()).select_from(LedgerEntry)) or 0,
        )


def listing(**terms: Any) -> dict[str, Any]:
    body = copy.deepcopy(SEED_LISTING)
    body["terms"].update(terms)
    return body


@pytest.fixture
async def village(exchange: Exchange) -> Http:
    return await exchange.http.login("xingtian")


# --- JSON bodies -----------------------------------------------------------------------------


MALFORMED = [
    b'{"title": ',
    b"not json at all",
    b'{"title": "x",}',
    b"\xff\xfe\x00garbage",
    b"",
    b"[]",
    b"null",
    b'"a string"',
]


async def test_malformed_json_is_refused(exchange: Exchange, village: Http) -> None:
    before = await counts(exchange)
    for raw in MALFORMED:
        response = await village.call(
            "POST", LISTINGS, content=raw, headers={"Content-Type": "application/json"}
        )
        assert_problem(response, 400, "request.invalid")
    assert await counts(exchange) == before


WRONG = [
    ("title is a number", {**SEED_LISTING, "title": 123}),
    ("terms is a list", {**SEED_LISTING, "terms": []}),
    ("price is a string", listing(listing_price_fen="1200000")),
    ("price is a bool", listing(listing_price_fen=True)),
    ("term_years is a string", listing(term_years="10")),
    ("unknown category", {**SEED_LISTING, "category": "moon_rights"}),
    ("unknown price unit", listing(price_unit="per_week")),
    ("unknown payment", listing(payment="weekly")),
    ("area is a float", {**SEED_LISTING, "area": 600.5}),
    ("area is not a decimal", {**SEED_LISTING, "area": "six hundred"}),
    ("priority holders is a dict", listing(priority_holders={"name": "x"})),
    ("escalation percent is a float", listing(escalation={"every_years": 3, "percent": 5.5})),
    ("empty title", {**SEED_LISTING, "title": ""}),
    ("title too long", {**SEED_LISTING, "title": "田" * 201}),
    ("term of zero years", listing(term_years=0)),
    ("zero increment", listing(increment_fen=0)),
    ("zero listing price", listing(listing_price_fen=0)),
    ("max steps out of range", listing(max_steps=0)),
    ("rent free over the whole term", listing(term_years=1, rent_free_months=12)),
]


async def test_wrong_types_and_values_are_refused(exchange: Exchange, village: Http) -> None:
    before = await counts(exchange)
    for case, body in WRONG:
        response = await village.call("POST", LISTINGS, body)
        assert response.status_code == 400, (case, response.text)
        assert_problem(response, 400, "request.invalid")
    assert await counts(exchange) == before


async def test_negative_fen_is_refused(exchange: Exchange, village: Http) -> None:
    before = await counts(exchange)
    for field in ["listing_price_fen", "increment_fen", "deposit_fen", "reserve_fen"]:
        response = await village.call("POST", LISTINGS, listing(**{field: -1}))
        assert response.status_code == 400, (field, response.text)
        assert_problem(response, 400, "request.invalid")
    assert await counts(exchange) == before


async def test_fractional_or_float_fen_is_refused(exchange: Exchange, village: Http) -> None:
    """Money is integer fen on the wire: a JSON number with a fraction or exponent is no fen."""
    before = await counts(exchange)
    for raw_amount in ["1200000.5", "1200000.0", "1.2e6", "1200000e0"]:
        text = json.dumps(SEED_LISTING, ensure_ascii=False).replace(
            '"listing_price_fen": 1200000', f'"listing_price_fen": {raw_amount}'
        )
        assert raw_amount in text
        response = await village.call(
            "POST", LISTINGS, content=text.encode(), headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 400, (raw_amount, response.text)
        assert_problem(response, 400, "request.invalid")
    assert await counts(exchange) == before


async def test_fen_above_the_limit_is_refused(exchange: Exchange, village: Http) -> None:
    before = await counts(exchange)
    response = await village.call("POST", LISTINGS, listing(listing_price_fen=10**18))
    assert_problem(response, 400, "request.invalid")  # past the money limit (core/money.py)
    response = await village.call("POST", LISTINGS, listing(listing_price_fen=10**19))
    assert_problem(response, 400, "request.integer_out_of_range")  # past 64 bits, at the door
    assert await counts(exchange) == before


UNKNOWN = [
    ("top level", {**SEED_LISTING, "owner": "me"}),
    ("inside terms", listing(discount_fen=5)),
    ("inside escalation", listing(escalation={"every_years": 3, "percent": 5, "cap": 1})),
    (
        "inside a priority holder",
        listing(
            priority_holders=[
                {
                    "name": "张三",
                    "id_type": "resident_id",
                    "id_number": "350521198001010012",
                    "phone": "13900000000",
                }
            ]
        ),
    ),
]


async def test_unknown_fields_are_refused(exchange: Exchange, village: Http) -> None:
    before = await counts(exchange)
    for case, body in UNKNOWN:
        response = await village.call("POST", LISTINGS, body)
        assert response.status_code == 400, (case, response.text)
        problem = assert_problem(response, 400, "request.invalid")
        assert problem["errors"], problem
    assert await counts(exchange) == before


async def test_missing_required_fields_are_refused(exchange: Exchange, village: Http) -> None:
    before = await counts(exchange)
    for missing in ["title", "category", "location", "terms"]:
        body = {k: v for k, v in SEED_LISTING.items() if k != missing}
        response = await village.call("POST", LISTINGS, body)
        assert response.status_code == 400, (missing, response.text)
        assert_problem(response, 400, "request.invalid")
    for missing in ["listing_price_fen", "term_years", "increment_fen", "deposit_fen"]:
        body = copy.deepcopy(SEED_LISTING)
        del body["terms"][missing]
        response = await village.call("POST", LISTINGS, body)
        assert response.status_code == 400, (missing, response.text)
        assert_problem(response, 400, "request.invalid")
    assert await counts(exchange) == before


async def test_other_endpoints_refuse_bad_bodies(exchange: Exchange, village: Http) -> None:
    anon = exchange.http
    created = await village.ok("POST", LISTINGS, SEED_LISTING, status=201)
    before = await counts(exchange)
    # Submit takes {} only.
    assert_problem(
        await village.call("POST", f"{LISTINGS}/{created['id']}/submit", {"x": 1}),
        400,
        "request.invalid",
    )
    # Login: missing password, wrong type.
    assert_problem(
        await anon.call("POST", "/api/v1/auth/login", {"username": "xingtian"}),
        400,
        "request.invalid",
    )
    assert_problem(
        await anon.call(
            "POST", "/api/v1/auth/login", {"username": "xingtian", "password": 12345678}
        ),
        400,
        "request.invalid",
    )
    # Bidder sign-up with an unknown field.
    assert_problem(
        await anon.call(
            "POST",
            "/api/v1/bidders",
            {
                "name": "张三",
                "id_type": "resident_id",
                "id_number": "350521198001010012",
                "phone": "13900000000",
                "password": "long-enough-1",
                "admin": True,
            },
        ),
        400,
        "request.invalid",
    )
    # A review decision outside the vocabulary.
    reviewer = await anon.login("reviewer")
    await submit(village, created["id"])
    before = await counts(exchange)
    assert_problem(
        await reviewer.call("POST", f"{LISTINGS}/{created['id']}/review", {"decision": "maybe"}),
        400,
        "request.invalid",
    )
    # returning an entrustment needs a reason
    for reason in ("", "   "):
        assert_problem(
            await reviewer.call(
                "POST",
                f"{LISTINGS}/{created['id']}/review",
                {"decision": "return", "reason": reason},
            ),
            400,
            "review.reason_required",
        )
    assert await counts(exchange) == before
    assert (await reviewer.ok("GET", f"{LISTINGS}/{created['id']}"))["state"] == "submitted"


async def test_oversized_json_body_is_413(exchange: Exchange, village: Http) -> None:
    before = await counts(exchange)
    body = {**SEED_LISTING, "description": "田" * 30_000}  # ~90 KB of UTF-8
    raw = json.dumps(body, ensure_ascii=False).encode()
    assert len(raw) > 64 * 1024
    response = await village.call(
        "POST", LISTINGS, content=raw, headers={"Content-Type": "application/json"}
    )
    assert_problem(response, 413, "request.too_large")
    assert await counts(exchange) == before


async def test_json_just_under_the_limit_is_read(exchange: Exchange, village: Http) -> None:
    """The limit is on the body, nothing smaller: 60 KB reaches validation (5000 chars max)."""
    body = {**SEED_LISTING, "description": "x" * 60_000}
    response = await village.call("POST", LISTINGS, body)
    assert_problem(response, 400, "request.invalid")


# --- uploads ---------------------------------------------------------------------------------

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64
EXE = b"MZ\x90\x00" + b"\x00" * 64


async def upload(
    http: Http,
    listing_id: int,
    name: str,
    content: bytes,
    content_type: str = "application/octet-stream",
    kind: str = "other",
) -> httpx.Response:
    return await http.call(
        "POST",
        f"{LISTINGS}/{listing_id}/documents",
        files={"file": (name, content, content_type)},
        data={"kind": kind},
    )


@pytest.fixture
async def draft(exchange: Exchange, village: Http) -> int:
    created = await village.ok("POST", LISTINGS, SEED_LISTING, status=201)
    return int(created["id"])


async def test_good_uploads_are_stored(exchange: Exchange, village: Http, draft: int) -> None:
    for name, content, ctype in [
        ("决议.pdf", PDF, "application/pdf"),
        ("photo.PNG", PNG, "image/png"),
        ("photo.jpeg", JPEG, "image/jpeg"),
    ]:
        response = await upload(village, draft, name, content, ctype, kind="village_resolution")
        assert response.status_code == 201, response.text
        assert response.json()["content_type"] == ctype
        assert response.json()["size"] == len(content)
    shown = await village.ok("GET", f"{LISTINGS}/{draft}")
    assert len(shown["documents"]) == 3


BAD_UPLOADS = [
    ("scan.png", PDF, "application/octet-stream", "document.extension_mismatch"),
    ("scan.png", PDF, "application/pdf", "document.extension_mismatch"),
    ("setup.exe", EXE, "application/octet-stream", "document.unsupported_type"),
    ("setup.pdf", EXE, "application/pdf", "document.unsupported_type"),
    ("empty.pdf", b"", "application/pdf", "document.empty"),
    ("scan.pdf", PDF, "image/png", "document.type_mismatch"),
    ("photo.png", PNG, "application/pdf", "document.type_mismatch"),
    ("cut.pdf", b"%PDF-1.4\n" + b"x" * 100, "application/pdf", "document.truncated"),
    (".pdf", PDF, "application/pdf", "document.filename"),
    (
        "page.html",
        b"<html><script>alert(1)</script></html>",
        "text/html",
        "document.unsupported_type",
    ),
]


async def test_bad_uploads_are_refused(exchange: Exchange, village: Http, draft: int) -> None:
    before = await counts(exchange)
    for name, content, declared, code in BAD_UPLOADS:
        response = await upload(village, draft, name, content, declared)
        assert response.status_code == 400, (name, declared, response.text)
        assert_problem(response, 400, code)
    assert await counts(exchange) == before
    stored = Path(exchange.services.config.data_dir) / "documents"
    assert not stored.exists() or not any(p.is_file() for p in stored.rglob("*"))


async def test_upload_without_file_or_with_a_bad_kind(
    exchange: Exchange, village: Http, draft: int
) -> None:
    before = await counts(exchange)
    response = await village.call(
        "POST",
        f"{LISTINGS}/{draft}/documents",
        files={"other": ("a.pdf", PDF, "application/pdf")},
        data={"kind": "other"},
    )
    assert_problem(response, 400, "document.file_required")
    assert_problem(
        await upload(village, draft, "a.pdf", PDF, "application/pdf", kind="selfie"),
        400,
        "document.kind",
    )
    assert await counts(exchange) == before


async def test_oversized_upload_is_413(exchange: Exchange, village: Http, draft: int) -> None:
    before = await counts(exchange)
    for size in [10 * 1024 * 1024 + 1, 11 * 1024 * 1024]:
        content = PDF[:-7] + b"\0" * (size - len(PDF)) + b"\n%%EOF\n"
        assert len(content) == size
        response = await upload(village, draft, "big.pdf", content, "application/pdf")
        assert response.status_code == 413, (size, response.text)
        assert_problem(response, 413, "request.too_large")
    assert await counts(exchange) == before


async def test_upload_of_exactly_10_mib_is_accepted(
    exchange: Exchange, village: Http, draft: int
) -> None:
    size = 10 * 1024 * 1024
    content = PDF[:-7] + b"\0" * (size - len(PDF)) + b"\n%%EOF\n"
    response = await upload(village, draft, "big.pdf", content, "application/pdf")
    assert response.status_code == 201, response.text
    assert response.json()["size"] == size


# --- terms checked against the exchange rules ----------------------------------------------


async def test_term_longer_than_the_category_limit(exchange: Exchange, village: Http) -> None:
    before = await counts(exchange)
    body = {**listing(term_years=21), "category": "collective_construction_land"}
    problem = assert_problem(await village.call("POST", LISTINGS, body), 400, "terms.term_too_long")
    assert problem["max_years"] == 20
    body = listing(term_years=31)  # the default limit for the other categories
    assert_problem(await village.call("POST", LISTINGS, body), 400, "terms.term_too_long")
    assert await counts(exchange) == before
    # exactly at the limit is fine
    ok = await village.call(
        "POST", LISTINGS, {**listing(term_years=20), "category": "collective_construction_land"}
    )
    assert ok.status_code == 201, ok.text


async def test_term_limit_follows_the_settings(exchange: Exchange, village: Http) -> None:
    admin = await exchange.http.login("admin")
    await admin.ok("PUT", "/api/v1/settings", {"max_term_years": {"*": 30, "forest_rights": 50}})
    forest = {**listing(term_years=50), "category": "forest_rights"}
    assert (await village.call("POST", LISTINGS, forest)).status_code == 201
    before = await counts(exchange)
    forest = {**listing(term_years=51), "category": "forest_rights"}
    assert_problem(await village.call("POST", LISTINGS, forest), 400, "terms.term_too_long")
    assert await counts(exchange) == before


async def test_reserve_below_start_is_refused(exchange: Exchange, village: Http) -> None:
    before = await counts(exchange)
    body = listing(reserve_fen=SEED_TERMS["listing_price_fen"] - 1)
    assert_problem(await village.call("POST", LISTINGS, body), 400, "terms.reserve_below_start")
    assert await counts(exchange) == before
    ok = await village.call("POST", LISTINGS, listing(reserve_fen=SEED_TERMS["listing_price_fen"]))
    assert ok.status_code == 201, ok.text


async def test_per_mu_year_needs_the_area(exchange: Exchange, village: Http) -> None:
    before = await counts(exchange)
    response = await village.call("POST", LISTINGS, listing(price_unit="per_mu_year"))
    problem = assert_problem(response, 400, "request.invalid")
    assert "area" in json.dumps(problem, ensure_ascii=False)
    assert await counts(exchange) == before
    ok = await village.call("POST", LISTINGS, listing(price_unit="per_mu_year", area="12.5"))
    assert ok.status_code == 201, ok.text


async def test_editing_terms_is_checked_too(exchange: Exchange, village: Http, draft: int) -> None:
    before = await counts(exchange)
    terms = {**SEED_TERMS, "reserve_fen": 1}
    assert_problem(
        await village.call("PATCH", f"{LISTINGS}/{draft}", {"terms": terms}),
        400,
        "terms.reserve_below_start",
    )
    assert_problem(
        await village.call("PATCH", f"{LISTINGS}/{draft}", {"terms": {**SEED_TERMS, "bonus": 1}}),
        400,
        "request.invalid",
    )
    assert_problem(
        await village.call(
            "PATCH",
            f"{LISTINGS}/{draft}",
            {"category": "collective_construction_land", "terms": {**SEED_TERMS, "term_years": 25}},
        ),
        400,
        "terms.term_too_long",
    )
    assert await counts(exchange) == before


# --- announcement ----------------------------------------------------------------------------


@pytest.fixture
async def accepted(exchange: Exchange, village: Http, draft: int) -> tuple[int, Http]:
    reviewer = await exchange.http.login("reviewer")
    await submit(village, draft)
    await reviewer.ok("POST", f"{LISTINGS}/{draft}/review", {"decision": "accept"})
    return draft, reviewer


async def assert_not_announced(
    exchange: Exchange, http: Http, listing_id: int, before: tuple[int, int, int]
) -> None:
    assert (await http.ok("GET", f"{LISTINGS}/{listing_id}"))["state"] == "accepted"
    assert await counts(exchange) == before


async def test_naive_datetimes_in_announce(exchange: Exchange, accepted: tuple[int, Http]) -> None:
    listing_id, reviewer = accepted
    before = await counts(exchange)
    response = await reviewer.call(
        "POST",
        f"{LISTINGS}/{listing_id}/announce",
        {
            "registration_closes_at": "2026-12-20T17:00:00",
            "auction_starts_at": "2026-12-21T09:00:00",
        },
    )
    assert_problem(response, 400, "time.timezone_required")
    response = await reviewer.call(
        "POST",
        f"{LISTINGS}/{listing_id}/announce",
        {
            "registration_closes_at": "2026-12-20T17:00:00+08:00",
            "auction_starts_at": "2026-12-21T09:00:00",
        },
    )
    assert_problem(response, 400, "time.timezone_required")
    await assert_not_announced(exchange, reviewer, listing_id, before)


async def test_unparseable_datetimes_in_announce(
    exchange: Exchange, accepted: tuple[int, Http]
) -> None:
    listing_id, reviewer = accepted
    before = await counts(exchange)
    for value in ["tomorrow", "2026-13-01T00:00:00+08:00", 1767225600, None]:
        response = await reviewer.call(
            "POST",
            f"{LISTINGS}/{listing_id}/announce",
            {
                "registration_closes_at": value,
                "auction_starts_at": "2026-12-21T09:00:00+08:00",
            },
        )
        assert response.status_code == 400, (value, response.text)
        assert_problem(response, 400, "request.invalid")
    await assert_not_announced(exchange, reviewer, listing_id, before)


async def test_announce_with_a_too_short_notice_period(
    exchange: Exchange, accepted: tuple[int, Http]
) -> None:
    listing_id, reviewer = accepted
    admin = await exchange.http.login("admin")
    settings = await admin.ok("PUT", "/api/v1/settings", {"notice_period_working_days": 7})
    assert settings["notice_period_working_days"] == 7
    before = await counts(exchange)
    now = exchange.clock.now()  # Tuesday 2026-12-01 09:00 in Beijing
    # Seven working days counted from Wed 2 Dec end at 24:00 on Thu 10 Dec (民法典 arts. 201,
    # 203): closing at 17:00 that day is seven hours short.
    response = await reviewer.call(
        "POST",
        f"{LISTINGS}/{listing_id}/announce",
        {
            "registration_closes_at": "2026-12-10T17:00:00+08:00",
            "auction_starts_at": "2026-12-11T09:00:00+08:00",
        },
    )
    problem = assert_problem(response, 422, "announce.notice_too_short")
    assert problem["earliest"] == "2026-12-11T00:00:00+08:00"
    assert problem["last_day"] == "2026-12-10"
    # late enough, but on a Saturday
    problem = assert_problem(
        await reviewer.call(
            "POST",
            f"{LISTINGS}/{listing_id}/announce",
            {
                "registration_closes_at": "2026-12-12T10:00:00+08:00",
                "auction_starts_at": "2026-12-14T09:00:00+08:00",
            },
        ),
        422,
        "announce.closes_on_rest_day",
    )
    assert problem["day"] == "2026-12-12"
    # in the past, and the auction before the close
    assert_problem(
        await reviewer.call(
            "POST",
            f"{LISTINGS}/{listing_id}/announce",
            {
                "registration_closes_at": iso(now - timedelta(hours=1)),
                "auction_starts_at": iso(now + timedelta(days=20)),
            },
        ),
        422,
        "announce.closes_in_past",
    )
    assert_problem(
        await reviewer.call(
            "POST",
            f"{LISTINGS}/{listing_id}/announce",
            {
                "registration_closes_at": "2026-12-11T17:00:00+08:00",
                "auction_starts_at": "2026-12-11T16:00:00+08:00",
            },
        ),
        422,
        "announce.auction_before_close",
    )
    await assert_not_announced(exchange, reviewer, listing_id, before)
    # the auction too soon after the close: the qualification window (30 minutes by default)
    problem = assert_problem(
        await reviewer.call(
            "POST",
            f"{LISTINGS}/{listing_id}/announce",
            {
                "registration_closes_at": "2026-12-11T17:00:00+08:00",
                "auction_starts_at": "2026-12-11T17:29:00+08:00",
            },
        ),
        422,
        "announce.auction_before_close",
    )
    assert problem["qualification_window_minutes"] == 30
    await assert_not_announced(exchange, reviewer, listing_id, before)
    # the earliest allowed moment works: 24:00 on the last day
    announced = await reviewer.ok(
        "POST",
        f"{LISTINGS}/{listing_id}/announce",
        {
            "registration_closes_at": "2026-12-11T00:00:00+08:00",
            "auction_starts_at": "2026-12-11T09:00:00+08:00",
        },
    )
    assert announced["state"] == "announced"


async def test_with_business_hours_the_notice_ends_at_the_close_of_business(
    exchange: Exchange, accepted: tuple[int, Http]
) -> None:
    listing_id, reviewer = accepted
    admin = await exchange.http.login("admin")
    settings = await admin.ok("PUT", "/api/v1/settings", {"business_day_ends": "17:00:00"})
    assert settings["business_day_ends"] == "17:00:00"
    announced = await reviewer.ok(
        "POST",
        f"{LISTINGS}/{listing_id}/announce",
        {
            "registration_closes_at": "2026-12-10T17:00:00+08:00",
            "auction_starts_at": "2026-12-11T09:00:00+08:00",
        },
    )
    assert announced["state"] == "announced"


async def test_a_holiday_in_the_settings_lengthens_the_notice(
    exchange: Exchange, accepted: tuple[int, Http]
) -> None:
    listing_id, reviewer = accepted
    admin = await exchange.http.login("admin")
    await admin.ok(
        "PUT", "/api/v1/settings", {"notice_period_working_days": 7, "holidays": ["2026-12-04"]}
    )
    problem = assert_problem(
        await reviewer.call(
            "POST",
            f"{LISTINGS}/{listing_id}/announce",
            {
                "registration_closes_at": "2026-12-11T17:00:00+08:00",
                "auction_starts_at": "2026-12-12T09:00:00+08:00",
            },
        ),
        422,
        "announce.notice_too_short",
    )
    assert problem["earliest"] == "2026-12-12T00:00:00+08:00"


async def test_terms_are_frozen_once_submitted_and_announced(
    exchange: Exchange, village: Http, accepted: tuple[int, Http]
) -> None:
    listing_id, reviewer = accepted
    await reviewer.ok(
        "POST",
        f"{LISTINGS}/{listing_id}/announce",
        {
            "registration_closes_at": "2026-12-11T17:00:00+08:00",
            "auction_starts_at": "2026-12-14T09:00:00+08:00",
        },
    )
    before = await counts(exchange)
    assert_problem(
        await village.call(
            "PATCH", f"{LISTINGS}/{listing_id}", {"terms": {**SEED_TERMS, "listing_price_fen": 1}}
        ),
        409,
        "listing.terms_frozen",
    )
    assert_problem(
        await upload(village, listing_id, "late.pdf", PDF, "application/pdf"),
        409,
        "listing.terms_frozen",
    )
    # announcing again is an illegal transition
    assert_problem(
        await reviewer.call(
            "POST",
            f"{LISTINGS}/{listing_id}/announce",
            {
                "registration_closes_at": "2026-12-18T17:00:00+08:00",
                "auction_starts_at": "2026-12-21T09:00:00+08:00",
            },
        ),
        409,
        "listing.illegal_transition",
    )
    assert await counts(exchange) == before
    shown = await village.ok("GET", f"{LISTINGS}/{listing_id}")
    assert shown["terms"]["listing_price_fen"] == SEED_TERMS["listing_price_fen"]


# --- paths and query strings -----------------------------------------------------------------


async def test_unknown_paths_are_problem_json(exchange: Exchange) -> None:
    for path, code in [
        ("/api/v1/listings/abc", "not_found"),
        ("/api/v1/listings/99999999", "listing.not_found"),
        ("/api/v1/listings/-1", "listing.not_found"),
        ("/api/v1/nothing-here", "not_found"),
    ]:
        response = await exchange.http.call("GET", path)
        assert response.status_code == 404, (path, response.text)
        assert_problem(response, 404, code)


async def test_bad_query_parameters(exchange: Exchange) -> None:
    for query in ["limit=0", "limit=100000", "offset=-1", "limit=ten"]:
        response = await exchange.http.call("GET", f"{LISTINGS}?{query}")
        assert response.status_code == 400, (query, response.text)
        assert_problem(response, 400, "request.invalid")


async def test_wrong_method_is_problem_json(exchange: Exchange) -> None:
    response = await exchange.http.call("DELETE", LISTINGS)
    assert_problem(response, 405, "request.method_not_allowed")


async def test_wrong_content_type_on_json_endpoint(exchange: Exchange, village: Http) -> None:
    before = await counts(exchange)
    response = await village.call(
        "POST",
        LISTINGS,
        content=b"title=x",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code in (400, 415), response.text
    assert response.headers["content-type"].split(";")[0] == PROBLEM
    assert response.json()["code"] in ("request.invalid", "request.unsupported_media_type")
    assert await counts(exchange) == before
