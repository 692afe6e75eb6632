"""A person's inbox: their notices newest first, read marks, the unread count, and the
optional kinds they turned off. Every query is by the caller's own user id."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
from msgspec import Meta
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import InvalidInput, NotFound
from core.notices.kinds import KIND_NAMES_ZH, OPTIONAL, REQUIRED, Kind
from core.notices.models import Notice, NoticeOptOut


class NoticeOut(msgspec.Struct, kw_only=True):
    id: int
    kind: str
    title: str
    body: str
    #: A page of the exchange it is about (a path), if any.
    link: str | None
    created_at: str
    read: bool


class NoticePage(msgspec.Struct, kw_only=True):
    items: list[NoticeOut]
    unread: int
    #: Pass as `before` for the next (older) page; none when this is the last.
    next_before: int | None


class KindChoice(msgspec.Struct, kw_only=True):
    kind: str
    name: str
    required: bool
    enabled: bool


class Preferences(msgspec.Struct, kw_only=True):
    kinds: list[KindChoice]


class PreferencesIn(msgspec.Struct, forbid_unknown_fields=True):
    """The optional kinds the person does not want; every other kind they receive."""

    disabled: Annotated[list[str], Meta(max_length=len(Kind))]


def view(notice: Notice) -> NoticeOut:
    return NoticeOut(
        id=notice.id,
        kind=notice.kind,
        title=notice.title,
        body=notice.body,
        link=notice.link,
        created_at=notice.created_at.isoformat(),
        read=notice.read_at is not None,
    )


async def unread_count(session: AsyncSession, user_id: int) -> int:
    """One count over the (user_id, read_at) index: cheap enough for every page."""
    count = await session.scalar(
        select(func.count())
        .select_from(Notice)
        .where(Notice.user_id == user_id, Notice.read_at.is_(None))
    )
    return int(count or 0)


async def page(
    session: AsyncSession, user_id: int, *, limit: int, before: int | None = None
) -> NoticePage:
    query = select(Notice).where(Notice.user_id == user_id)
    if before is not None:
        query = query.where(Notice.id < before)
    rows = list(await session.scalars(query.order_by(Notice.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return NoticePage(
        items=[view(n) for n in rows],
        unread=await unread_count(session, user_id),
        next_before=rows[-1].id if more else None,
    )


async def mark_read(session: AsyncSession, user_id: int, notice_id: int, now: datetime) -> Notice:
    """One's own notice read (again: no change); another's is as good as absent."""
    notice = await session.get(Notice, notice_id)
    if notice is None or notice.user_id != user_id:
        raise NotFound("notice.not_found", "没有这条通知")
    if notice.read_at is None:
        notice.read_at = now
    return notice


async def mark_all_read(session: AsyncSession, user_id: int, now: datetime) -> int:
    result = await session.execute(
        update(Notice)
        .where(Notice.user_id == user_id, Notice.read_at.is_(None))
        .values(read_at=now)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def preferences(session: AsyncSession, user_id: int) -> Preferences:
    off = set(
        await session.scalars(select(NoticeOptOut.kind).where(NoticeOptOut.user_id == user_id))
    )
    return Preferences(
        kinds=[
            KindChoice(
                kind=k.value,
                name=KIND_NAMES_ZH[k],
                required=k in REQUIRED,
                enabled=k in REQUIRED or k.value not in off,
            )
            for k in Kind
        ]
    )


async def set_preferences(session: AsyncSession, user_id: int, disabled: list[str]) -> None:
    """Replace the person's opt-outs; a required or unknown kind cannot be turned off."""
    wanted_off = set(disabled)
    unknown = sorted(wanted_off - {k.value for k in Kind})
    if unknown:
        raise InvalidInput("notice.unknown_kind", "没有这种通知", kinds=unknown)
    required = sorted(wanted_off & {k.value for k in REQUIRED})
    if required:
        raise InvalidInput("notice.required_kind", "该类通知必须接收，不能关闭", kinds=required)
    await session.execute(delete(NoticeOptOut).where(NoticeOptOut.user_id == user_id))
    session.add_all(
        NoticeOptOut(user_id=user_id, kind=k.value) for k in sorted(OPTIONAL) if k in wanted_off
    )
