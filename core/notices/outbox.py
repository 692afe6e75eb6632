"""Writing a notice: in the caller's transaction, so it commits with the event or not at all.

The row is the inbox entry and the outbox entry in one: the delivery worker
(`core.notices.delivery`) later hands it to the external adapter, at least once.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime

from sqlalchemy import Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import CHINA_TZ
from core.db import table_of
from core.notices.kinds import OPTIONAL, Kind
from core.notices.models import PENDING, Notice, NoticeMark, NoticeOptOut

#: Bounds of what a notice carries (an SMS gateway splits long texts; a page shows them all).
TITLE_MAX = 64
BODY_MAX = 1000


async def wants(session: AsyncSession, user_id: int, kind: Kind) -> bool:
    """Whether the person receives `kind`: required kinds always, optional unless turned off."""
    if kind not in OPTIONAL:
        return True
    off = await session.scalar(
        select(NoticeOptOut.user_id).where(
            NoticeOptOut.user_id == user_id, NoticeOptOut.kind == kind.value
        )
    )
    return off is None


async def notify(
    session: AsyncSession,
    user_id: int,
    kind: Kind,
    title: str,
    body: str,
    *,
    link: str | None = None,
    subject: str | None = None,
    now: datetime,
) -> bool:
    """Add a notice to `user_id`'s inbox in the session's transaction; False when they turned
    the kind off or (with a `subject`) already have this kind of notice about it."""
    # A notice points at its page: a long reason typed by a person is cut here, never an
    # error in the transaction of the event it tells of.
    title, body = _cut(title, TITLE_MAX), _cut(body, BODY_MAX)
    if link is not None and not link.startswith("/"):
        raise ValueError("a notice links to a page of the exchange")
    if not await wants(session, user_id, kind):
        return False
    values = {
        "user_id": user_id,
        "kind": kind.value,
        "subject": subject,
        "title": title,
        "body": body,
        "link": link,
        "created_at": now,
        "delivery_state": PENDING,
        "attempts": 0,
        "next_attempt_at": now,
    }
    return await _insert_new(session, table_of(Notice), values)


def when(moment: datetime) -> str:
    """A moment as people read it in a notice: Beijing time, to the minute."""
    local = moment.astimezone(CHINA_TZ)
    return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"


def on_day(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


async def mark_once(session: AsyncSession, kind: Kind, subject: str, now: datetime) -> bool:
    """Claim the sweep's mark for (kind, subject) in the caller's transaction: True for the
    first caller, False if the reminders about it were already written."""
    values = {"kind": kind.value, "subject": subject, "at": now}
    return await _insert_new(session, table_of(NoticeMark), values)


async def _insert_new(session: AsyncSession, table: Table, values: Mapping[str, object]) -> bool:
    """INSERT … ON CONFLICT DO NOTHING: whether the row is new."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    result = await session.execute(dialect.insert(table).values(values).on_conflict_do_nothing())
    return bool(getattr(result, "rowcount", 0))


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
