"""Notices on both databases: written in the event's transaction or not at all, the inbox
(order, pages, read marks, the header count), preferences, and the delivery worker's retries
and bound."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from core.accounts import User
from core.notices import Kind, Notice, Outgoing, Policy, deliver_due, notify
from core.notices.delivery import MAX_ATTEMPTS
from tests.integration.conftest import Exchange


async def user_id(exchange: Exchange, username: str) -> int:
    async with exchange.services.db.read() as session:
        found = await session.scalar(select(User.id).where(User.username == username))
    assert found is not None
    return found


async def write(exchange: Exchange, user: int, n: int, kind: Kind = Kind.QUALIFIED) -> None:
    async with exchange.services.db.write() as session:
        for i in range(n):
            await notify(
                session,
                user,
                kind,
                f"通知{i}",
                f"正文{i}",
                subject=f"t:{i}",
                now=exchange.clock.now(),
            )
            exchange.clock.advance(timedelta(seconds=1))


async def count(exchange: Exchange, **where: Any) -> int:
    query = select(func.count()).select_from(Notice)
    for column, value in where.items():
        query = query.where(getattr(Notice, column) == value)
    async with exchange.services.db.read() as session:
        return int(await session.scalar(query) or 0)


async def test_a_failed_transaction_writes_no_notice(exchange: Exchange) -> None:
    me = await user_id(exchange, "xingtian")
    with pytest.raises(RuntimeError):
        async with exchange.services.db.write() as session:
            await notify(session, me, Kind.WON, "您已竞得", "正文", now=exchange.clock.now())
            raise RuntimeError("the event failed after its notice")
    assert await count(exchange) == 0
    # The same through an event: a review refused for want of a reason writes nothing.
    reviewer = await exchange.http.login("reviewer")
    answer = await reviewer.call(
        "POST", "/api/v1/registrations/1/review", {"decision": "reject", "reason": ""}
    )
    assert answer.status_code in (400, 404)
    assert await count(exchange) == 0
    # A notice about the same subject is written once however often the event is replayed.
    await write(exchange, me, 1)
    await write(exchange, me, 1)
    assert await count(exchange, user_id=me) == 1


async def test_the_inbox_newest_first_in_pages_with_read_marks(exchange: Exchange) -> None:
    me, other = await user_id(exchange, "xingtian"), await user_id(exchange, "other-village")
    await write(exchange, me, 5)
    await write(exchange, other, 1)
    village = await exchange.http.login("xingtian")
    first = await village.ok("GET", "/api/v1/me/notices?limit=2")
    assert [n["title"] for n in first["items"]] == ["通知4", "通知3"]
    assert first["unread"] == 5 and first["next_before"] == first["items"][-1]["id"]
    assert set(first["items"][0]) == {"id", "kind", "title", "body", "link", "created_at", "read"}
    rest = await village.ok("GET", f"/api/v1/me/notices?limit=10&before={first['next_before']}")
    assert [n["title"] for n in rest["items"]] == ["通知2", "通知1", "通知0"]
    assert rest["next_before"] is None
    bad = await village.call("GET", "/api/v1/me/notices?limit=1000")
    assert bad.status_code == 400

    oldest = rest["items"][-1]["id"]
    marked = await village.ok("POST", f"/api/v1/me/notices/{oldest}/read", {})
    assert marked == {"marked": 1, "unread": 4}
    again = await village.ok("POST", f"/api/v1/me/notices/{oldest}/read", {})
    assert again["unread"] == 4
    # Another person's notice is as good as absent.
    [theirs] = (await (await exchange.http.login("other-village")).ok("GET", "/api/v1/me/notices"))[
        "items"
    ]
    stranger = await village.call("POST", f"/api/v1/me/notices/{theirs['id']}/read", {})
    assert stranger.status_code == 404 and stranger.json()["code"] == "notice.not_found"
    assert (await exchange.http.call("GET", "/api/v1/me/notices")).status_code == 401

    # Every page of a signed-in person counts the unread in its header.
    page = await village.call("GET", "/village/")
    assert 'data-testid="unread-count" aria-label="4 条未读"' in page.text
    inbox = await village.call("GET", "/me/notices")
    assert inbox.status_code == 200 and "通知4" in inbox.text and "正文0" in inbox.text
    assert await village.ok("POST", "/api/v1/me/notices/read-all", {}) == {"marked": 4, "unread": 0}
    assert "unread-count" not in (await village.call("GET", "/village/")).text
    assert await count(exchange, user_id=other) == 1


async def test_optional_kinds_can_be_turned_off_required_ones_not(exchange: Exchange) -> None:
    village = await exchange.http.login("xingtian")
    me = await user_id(exchange, "xingtian")
    shown = await village.ok("GET", "/api/v1/me/notice-preferences")
    assert all(k["enabled"] for k in shown["kinds"])
    assert {k["kind"] for k in shown["kinds"] if k["required"]} >= {"won", "rent_overdue"}
    refused = await village.call("PUT", "/api/v1/me/notice-preferences", {"disabled": ["won"]})
    assert refused.status_code == 400 and refused.json()["code"] == "notice.required_kind"
    unknown = await village.call("PUT", "/api/v1/me/notice-preferences", {"disabled": ["spam"]})
    assert unknown.json()["code"] == "notice.unknown_kind"
    saved = await village.ok(
        "PUT", "/api/v1/me/notice-preferences", {"disabled": ["qualified", "rent_due"]}
    )
    off = {k["kind"] for k in saved["kinds"] if not k["enabled"]}
    assert off == {"qualified", "rent_due"}
    await write(exchange, me, 2, Kind.QUALIFIED)
    await write(exchange, me, 1, Kind.WON)
    assert await count(exchange, user_id=me) == 1  # the won notice only
    await village.ok("PUT", "/api/v1/me/notice-preferences", {"disabled": []})
    await write(exchange, me, 2, Kind.QUALIFIED)
    assert await count(exchange, user_id=me) == 3


class Flaky:
    """Fails the first `failures` attempts of each notice, then delivers; records each call."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls: list[tuple[int, int]] = []

    async def deliver(self, notice: Outgoing) -> None:
        self.calls.append((notice.id, notice.attempt))
        if notice.attempt <= self.failures:
            raise ConnectionError("gateway unreachable")


async def test_delivery_retries_with_backoff_and_gives_up_at_the_bound(
    exchange: Exchange,
) -> None:
    me = await user_id(exchange, "xingtian")
    await write(exchange, me, 3)
    db, clock = exchange.services.db, exchange.clock
    flaky = Flaky(failures=2)
    report = await deliver_due(db, flaky, clock.now)
    assert (report.delivered, report.retrying) == (0, 3)
    # Not due again until the backoff (30 s after the first failure) is over.
    assert (await deliver_due(db, flaky, clock.now)).retrying == 0
    clock.advance(timedelta(seconds=31))
    await deliver_due(db, flaky, clock.now)
    clock.advance(timedelta(seconds=61))
    assert (await deliver_due(db, flaky, clock.now)).delivered == 3
    assert await count(exchange, delivery_state="delivered") == 3
    assert sorted(flaky.calls) == sorted((n, a) for n, _ in flaky.calls[:3] for a in (1, 2, 3))

    await write(exchange, me, 1, Kind.WON)
    never = Flaky(failures=10**6)
    for _ in range(20):
        await deliver_due(db, never, clock.now, Policy(batch=5))
        clock.advance(timedelta(hours=3))
    assert len(never.calls) == MAX_ATTEMPTS
    async with db.read() as session:
        failed = await session.scalar(select(Notice).where(Notice.kind == "won"))
    assert failed is not None and failed.delivery_state == "failed"
    assert failed.attempts == MAX_ATTEMPTS and "gateway unreachable" in (failed.last_error or "")
    # Failing delivery never takes the notice out of the inbox.
    village = await exchange.http.login("xingtian")
    assert (await village.ok("GET", "/api/v1/me/notices"))["items"][0]["title"] == "通知0"
