"""Input an attacker sends on purpose (docs/security.md §7): integers past 64 bits, NUL and
bidi control characters, odd content types. Each gets a clear problem answer, never a 500."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.integration.conftest import Exchange, make_exchange
from tests.support import PASSWORD, phone, resident_id

PROBLEM = "application/problem+json"
HUGE = "99999999999999999999"
PAST_BIGINT = str(2**63)


def refused(response: httpx.Response, *statuses: int) -> dict[str, Any]:
    assert response.status_code in statuses, (response.status_code, response.text[:500])
    assert response.headers["content-type"].split(";")[0] == PROBLEM, response.headers
    body: dict[str, Any] = response.json()
    assert body["code"] and body["detail"], body
    return body


@pytest.mark.parametrize(
    "path",
    [
        f"/api/v1/listings/{HUGE}",
        f"/api/v1/auctions/{PAST_BIGINT}",
        f"/api/v1/registrations/{PAST_BIGINT}",
        f"/api/v1/listings/{PAST_BIGINT}/documents/1",
        f"/api/v1/contracts/{HUGE}",
        f"/api/v1/listings/{PAST_BIGINT}/deal",
        f"/listings/{HUGE}",
        f"/auctions/{PAST_BIGINT}",
    ],
)
async def test_ids_past_64_bits_are_not_found(exchange: Exchange, path: str) -> None:
    reviewer = await exchange.http.login("reviewer")
    response = await reviewer.call("GET", path)
    assert response.status_code == 404, (response.status_code, response.text[:300])


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/listings?offset=1e20",
        f"/api/v1/listings?offset={HUGE}",
        f"/api/v1/listings?limit={HUGE}",
        "/api/v1/ledger/checkpoints?before_size=1e23",
        f"/api/v1/ledger/checkpoints?before_size={HUGE}",
        f"/api/v1/ledger/consistency?first=1&second={HUGE}",
        f"/api/v1/ledger/bundle?listing_id={HUGE}",
        f"/api/v1/warnings?listing_id={HUGE}",
        f"/api/v1/warnings?offset={HUGE}",
    ],
)
async def test_integers_in_the_query_are_bounded(exchange: Exchange, path: str) -> None:
    regulator = await exchange.http.login("regulator")
    refused(await regulator.call("GET", path), 400, 404)


async def test_a_nul_in_a_path_is_not_found(exchange: Exchange) -> None:
    response = await exchange.http.call("GET", "/static/app.js%00.css")
    assert response.status_code in (400, 404), response.status_code


@pytest.mark.parametrize("bad", ["\x00", "\u202e", "\u2066", "\ufeff"])
async def test_control_characters_are_refused_in_text(exchange: Exchange, bad: str) -> None:
    body = {
        "name": f"张{bad}三",
        "id_type": "resident_id",
        "id_number": resident_id(),
        "phone": phone(),
        "password": PASSWORD,
    }
    answer = refused(await exchange.http.call("POST", "/api/v1/bidders", body), 400)
    assert answer["code"] == "text.control_character", answer
    login = {"username": f"13800000000{bad}", "password": PASSWORD}
    refused(await exchange.http.call("POST", "/api/v1/auth/login", login), 400, 401)
    region = quote(f"福建{bad}")
    refused(await exchange.http.call("GET", f"/api/v1/listings?region={region}"), 400)


async def test_login_refuses_a_cross_site_form(exchange: Exchange) -> None:
    """A cross-site form can only send text/plain or form encodings: not JSON."""
    raw = json.dumps({"username": "xingtian", "password": PASSWORD})
    for content_type in ("text/plain", "application/x-www-form-urlencoded"):
        response = await exchange.http.call(
            "POST",
            "/api/v1/auth/login",
            content=raw.encode(),
            headers={"Content-Type": content_type},
        )
        refused(response, 415)
    response = await exchange.http.call(
        "POST",
        "/api/v1/auth/login",
        {"username": "xingtian", "password": PASSWORD},
        headers={"Origin": "https://evil.example"},
    )
    refused(response, 403)


async def test_answers_are_not_stored(exchange: Exchange) -> None:
    answer = await exchange.http.call("GET", "/api/v1/listings")
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert "strict-transport-security" not in answer.headers  # plain HTTP in development
    page = await exchange.http.call("GET", "/")
    assert page.headers["cache-control"] == "no-store"
    static = await exchange.http.call("GET", "/static/app.css")
    assert static.headers.get("cache-control") != "no-store"


async def test_a_429_says_when_to_retry(database_url: str, tmp_path: Path) -> None:
    async with make_exchange(database_url, tmp_path, signups_per_address=3) as exchange:
        await _reach_the_sign_up_limit(exchange)


async def _reach_the_sign_up_limit(exchange: Exchange) -> None:
    """Sign-ups from one address, until the limit answers 429 with Retry-After in seconds."""
    for _ in range(10):
        response = await exchange.http.call(
            "POST",
            "/api/v1/bidders",
            {
                "name": "张三",
                "id_type": "resident_id",
                "id_number": resident_id(),
                "phone": phone(),
                "password": PASSWORD,
            },
        )
        if response.status_code == 429:
            break
    refused(response, 429)
    assert 1 <= int(response.headers["retry-after"]) <= 60


async def test_tls_deployments_send_hsts(database_url: str, tmp_path: Path) -> None:
    async with make_exchange(database_url, tmp_path, secure_cookies=True) as exchange:
        answer = await exchange.http.call("GET", "/api/v1/listings")
        assert answer.headers["strict-transport-security"].startswith("max-age=31536000")
        login = await exchange.http.call(
            "POST", "/api/v1/auth/login", {"username": "xingtian", "password": PASSWORD}
        )
        cookies = login.headers.get_list("set-cookie")
        assert cookies and all("Secure" in c for c in cookies), cookies


async def test_the_log_keeps_the_payer_account_keyed(exchange: Exchange) -> None:
    """A bare SHA-256 of a bank account number can be brute-forced; the log keeps an HMAC."""
    from sqlalchemy import select

    from core.ledger import LedgerEntry
    from listings.payments import payer_account_digest
    from tests.support import entrust_review_announce

    start = exchange.clock.now()
    listing_id, _, _ = await entrust_review_announce(
        exchange.http, start, closes_in=timedelta(days=10), starts_in=timedelta(days=11)
    )
    mobile = phone()
    await exchange.http.ok(
        "POST",
        "/api/v1/bidders",
        {
            "name": "张三",
            "id_type": "resident_id",
            "id_number": resident_id(),
            "phone": mobile,
            "password": PASSWORD,
        },
        status=201,
    )
    bidder = await exchange.http.login(mobile)
    registration = await bidder.ok(
        "POST", f"/api/v1/listings/{listing_id}/registrations", {}, status=201
    )
    account = "6222020200112233445"
    paid = await exchange.http.pay(
        registration["payment_reference"], registration["deposit_fen"], payer_account=account
    )
    assert paid.status_code == 200
    async with exchange.services.db.read() as session:
        [entry] = await session.scalars(
            select(LedgerEntry).where(LedgerEntry.type == "deposit.paid")
        )
    text = json.dumps(entry.payload)
    assert account not in text and hashlib.sha256(account.encode()).hexdigest() not in text
    secret = exchange.services.config.secret_key
    assert entry.payload["payer_account_hmac"] == payer_account_digest(secret, account)


async def test_every_json_endpoint_takes_json_only(exchange: Exchange) -> None:
    """Not only the typed bodies: the settings (a free-form object) too."""
    admin = await exchange.http.login("admin")
    response = await admin.call(
        "PUT",
        "/api/v1/settings",
        content=b'{"countdown_seconds": 301}',
        headers={"Content-Type": "text/plain"},
    )
    refused(response, 415)
    assert (await admin.ok("GET", "/api/v1/settings"))["countdown_seconds"] != 301


async def test_errors_from_the_door_carry_the_headers_too(exchange: Exchange) -> None:
    """An answer refused before any handler (the door, here) is not cached either."""
    response = await exchange.http.call("GET", f"/api/v1/listings/{HUGE}")
    assert response.status_code == 404
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_odd_bodies_and_tokens_are_refused_not_crashed(exchange: Exchange) -> None:
    """Deeply nested JSON on a public route; a non-ASCII CSRF token."""
    deep = ("[" * 5_000 + "]" * 5_000).encode()
    response = await exchange.http.call(
        "POST",
        "/api/v1/payments/callback",
        content=deep,
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code in (400, 401), response.status_code
    login = await exchange.http.call(
        "POST", "/api/v1/auth/login", {"username": "xingtian", "password": PASSWORD}
    )
    cookie_client = exchange.http.client
    cookie_client.cookies.set("ruralx_session", login.json()["token"])
    try:
        response = await cookie_client.post(
            "/api/v1/listings/1/submit",
            content=b"{}",
            headers={"Content-Type": "application/json", "X-CSRF-Token": "令牌".encode()},
        )
        refused(response, 403)
    finally:
        cookie_client.cookies.clear()
