"""The delivery worker's pure parts (backoff, attempt outcomes) and the webhook adapter."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

import httpx
import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.notices import OPTIONAL, REQUIRED, Kind, Outgoing, WebhookAdapter
from core.notices.adapters import MAX_ERROR_BYTES, SIGNATURE_HEADER, DeliveryFailed
from core.notices.delivery import LONGEST_RETRY, MAX_ATTEMPTS, Policy, outcome, retry_delay
from core.notices.models import DELIVERED, FAILED

NOW = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)


def test_retries_back_off_from_30_seconds_doubling_up_to_two_hours() -> None:
    assert [retry_delay(n).total_seconds() for n in range(1, 9)] == [
        30,
        60,
        120,
        240,
        480,
        960,
        1920,
        3840,
    ]
    assert retry_delay(9) == LONGEST_RETRY == timedelta(hours=2)
    with pytest.raises(ValueError):
        retry_delay(0)


@given(st.integers(min_value=1, max_value=10_000))
def test_backoff_never_shrinks_and_is_bounded(attempts: int) -> None:
    assert retry_delay(attempts) <= retry_delay(attempts + 1) <= LONGEST_RETRY


def test_an_attempt_is_delivered_retried_or_given_up_at_the_bound() -> None:
    policy = Policy()
    assert outcome(1, None, NOW, policy) == {
        "delivery_state": DELIVERED,
        "delivered_at": NOW,
        "next_attempt_at": None,
        "last_error": None,
    }
    assert outcome(3, "HTTP 503", NOW, policy) == {
        "next_attempt_at": NOW + timedelta(minutes=2),
        "last_error": "HTTP 503",
    }
    assert outcome(MAX_ATTEMPTS, "HTTP 503", NOW, policy) == {
        "delivery_state": FAILED,
        "next_attempt_at": None,
        "last_error": "HTTP 503",
    }


def test_the_required_kinds_are_the_decisions_and_steps_of_the_person() -> None:
    assert set(Kind) == REQUIRED | OPTIONAL and not REQUIRED & OPTIONAL
    assert {Kind.WON, Kind.NOT_WON, Kind.CONTRACT_READY, Kind.REFUND_PAID} <= REQUIRED
    assert {Kind.OBJECTION_DECIDED, Kind.RENT_OVERDUE, Kind.REJECTED} <= REQUIRED
    assert {Kind.AUCTION_SOON, Kind.RENT_DUE, Kind.DEPOSIT_RECEIVED} <= OPTIONAL


NOTICE = Outgoing(
    id=7,
    user_id=3,
    phone="13800000000",
    kind="won",
    title="您已竞得",
    body="您已竞得“杏田村鱼塘”。",
    link="/me/deals",
    created_at=NOW.isoformat(),
    attempt=1,
)


async def test_the_webhook_posts_the_notice_signed_with_the_secret() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    client = httpx.AsyncClient(transport=httpx.MockTransport(answer))
    adapter = WebhookAdapter("https://sms.example/notify", "s3cret", timeout_ms=1000, client=client)
    await adapter.deliver(NOTICE)
    [request] = seen
    body = request.content
    expected = hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert request.headers[SIGNATURE_HEADER] == f"sha256={expected}"
    assert request.headers["X-Ruralx-Notice"] == "7"
    assert json.loads(body)["title"] == "您已竞得" and json.loads(body)["id"] == 7
    await adapter.close()


async def test_a_refusing_gateway_is_a_failure_with_a_bounded_error() -> None:
    client = httpx.AsyncClient(
        transport=httpx.MockTransport(lambda _: httpx.Response(503, content=b"x" * 100_000))
    )
    adapter = WebhookAdapter("https://sms.example/notify", "s3cret", timeout_ms=1000, client=client)
    with pytest.raises(DeliveryFailed) as failed:
        await adapter.deliver(NOTICE)
    assert str(failed.value).startswith("HTTP 503")
    assert len(str(failed.value)) <= MAX_ERROR_BYTES + 20
    oversized = msgspec.structs.replace(NOTICE, body="长" * 10_000)
    with pytest.raises(DeliveryFailed):
        await adapter.deliver(oversized)


def test_a_webhook_needs_an_http_url_and_a_secret() -> None:
    with pytest.raises(ValueError):
        WebhookAdapter("ftp://x", "s", timeout_ms=1000)
    with pytest.raises(ValueError):
        WebhookAdapter("https://x", "", timeout_ms=1000)
