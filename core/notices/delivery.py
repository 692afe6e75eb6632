"""The delivery worker: claims due notices, hands them to the adapter, records the outcome.

A claim is a short transaction that counts the attempt and moves the notice's
`next_attempt_at` to the end of a lease, so another worker (or this one restarted after a
crash) takes it again only once the lease is over: every notice reaches the adapter at least
once, and a notice that keeps failing, or keeps crashing its worker, is given up after
`MAX_ATTEMPTS` claims with its last error (one whose worker died is retried alone, so it
cannot use up the attempts of others). PostgreSQL claims with FOR UPDATE SKIP LOCKED so
concurrent workers take different notices; SQLite's single writer serialises the claims.
The adapter is called outside any transaction: a slow gateway holds no lock.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.accounts import User
from core.config import Config
from core.db import Database
from core.notices.adapters import Adapter, LogAdapter, Outgoing, WebhookAdapter
from core.notices.models import DELIVERED, FAILED, PENDING, Notice

log = logging.getLogger("ruralx.notices")

MAX_ATTEMPTS = 8
FIRST_RETRY = timedelta(seconds=30)
LONGEST_RETRY = timedelta(hours=2)
BATCH = 20
#: The last error of a notice while claimed: left there if its worker dies before the outcome.
UNSETTLED = "已认领，未得到投递结果（处理进程中断）"


def retry_delay(attempts: int) -> timedelta:
    """Wait after the `attempts`-th failed attempt: 30 s, doubling, at most 2 h."""
    if attempts < 1:
        raise ValueError("a retry follows at least one attempt")
    return min(FIRST_RETRY * 2 ** min(attempts - 1, 20), LONGEST_RETRY)


@dataclass(frozen=True, slots=True)
class Policy:
    batch: int = BATCH
    #: How long a claimed notice is left to its worker before another may take it: longer
    #: than a batch of adapter calls at their timeout.
    lease: timedelta = timedelta(minutes=5)
    max_attempts: int = MAX_ATTEMPTS


@dataclass
class Report:
    delivered: int = 0
    retrying: int = 0
    failed: int = 0


async def claim(session: AsyncSession, now: datetime, policy: Policy) -> tuple[list[Outgoing], int]:
    """Take up to a batch of due notices: the ones to deliver, and how many were given up
    because their attempts ran out (claimed that often without an outcome)."""
    query = (
        select(Notice, User.phone)
        .join(User, User.id == Notice.user_id)
        .where(Notice.delivery_state == PENDING, Notice.next_attempt_at <= now)
        .order_by(Notice.next_attempt_at, Notice.id)
        .limit(policy.batch)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=Notice)
    taken: list[Outgoing] = []
    given_up = 0
    for notice, phone in await session.execute(query):
        if notice.attempts >= policy.max_attempts:
            notice.delivery_state, notice.next_attempt_at = FAILED, None
            given_up += 1
            continue
        # Claimed before with no outcome: its worker died, maybe because of it. It goes alone,
        # so a notice that kills its worker uses up its own attempts, not its batch-mates'.
        suspect = notice.last_error == UNSETTLED
        if suspect and taken:
            continue
        notice.attempts += 1
        notice.next_attempt_at = now + policy.lease
        notice.last_error = UNSETTLED
        taken.append(
            Outgoing(
                id=notice.id,
                user_id=notice.user_id,
                phone=phone,
                kind=notice.kind,
                title=notice.title,
                body=notice.body,
                link=notice.link,
                created_at=notice.created_at.isoformat(),
                attempt=notice.attempts,
            )
        )
        if suspect:
            break
    return taken, given_up


def outcome(attempt: int, error: str | None, now: datetime, policy: Policy) -> dict[str, object]:
    """The columns after an attempt: delivered, retried after a backoff, or given up."""
    if error is None:
        return {
            "delivery_state": DELIVERED,
            "delivered_at": now,
            "next_attempt_at": None,
            "last_error": None,
        }
    if attempt >= policy.max_attempts:
        return {"delivery_state": FAILED, "next_attempt_at": None, "last_error": error}
    return {"next_attempt_at": now + retry_delay(attempt), "last_error": error}


async def settle(
    session: AsyncSession, notice: Outgoing, error: str | None, now: datetime, policy: Policy
) -> bool:
    """Record one attempt's outcome, unless the notice was claimed again since (its lease
    ran out): then that later claim decides."""
    result = await session.execute(
        update(Notice)
        .where(
            Notice.id == notice.id,
            Notice.delivery_state == PENDING,
            Notice.attempts == notice.attempt,
        )
        .values(**outcome(notice.attempt, error, now, policy))
    )
    return bool(getattr(result, "rowcount", 0))


async def deliver_due(
    db: Database, adapter: Adapter, now: Callable[[], datetime], policy: Policy | None = None
) -> Report:
    """One batch: claim, deliver each, record each outcome in its own short transaction."""
    policy = policy or Policy()
    report = Report()
    async with db.write() as session:
        taken, report.failed = await claim(session, now(), policy)
    for notice in taken:
        error: str | None = None
        try:
            await adapter.deliver(notice)
        except Exception as exc:  # any failure of the adapter is a retry, never a crash
            error = f"{type(exc).__name__}: {exc}"[:500]
            log.warning("notice %d attempt %d failed: %s", notice.id, notice.attempt, error)
        async with db.write() as session:
            recorded = await settle(session, notice, error, now(), policy)
        if recorded and error is None:
            report.delivered += 1
        elif recorded and notice.attempt >= policy.max_attempts:
            report.failed += 1
        elif recorded:
            report.retrying += 1
    return report


def adapter_from(config: Config) -> Adapter:
    """The webhook when a URL is configured, else the log."""
    if config.notice_webhook_url:
        return WebhookAdapter(
            config.notice_webhook_url,
            config.notice_webhook_secret,
            timeout_ms=config.notice_webhook_timeout_ms,
        )
    return LogAdapter()


def policy_from(config: Config) -> Policy:
    batch_seconds = BATCH * config.notice_webhook_timeout_ms / 1000
    return Policy(lease=max(timedelta(minutes=2), timedelta(seconds=2 * batch_seconds)))
