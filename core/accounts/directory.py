"""The users list an administrator searches: by name, username or mobile, filtered by role,
region and state, a page at a time."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.accounts.models import Region, User


@dataclass(frozen=True, slots=True)
class UserQuery:
    #: Part of the name, the username or the mobile number.
    text: str = ""
    role: str | None = None
    #: Accounts of this region or any region below it.
    region: Region | None = None
    active: bool | None = None


def _where(query: UserQuery) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if text := query.text.strip():
        conditions.append(
            or_(
                User.display_name.icontains(text, autoescape=True),
                User.username.icontains(text, autoescape=True),
                User.phone.contains(text, autoescape=True),
            )
        )
    if query.role:
        conditions.append(User.role == query.role)
    if query.region is not None:
        path = query.region.path
        conditions.append(
            or_(Region.path == path, Region.path.startswith(path + "/", autoescape=True))
        )
    if query.active is not None:
        conditions.append(User.active.is_(query.active))
    return conditions


async def find_users(
    session: AsyncSession, query: UserQuery, *, offset: int, limit: int
) -> tuple[list[tuple[User, str | None]], int]:
    """One page of the accounts found, newest first, each with its region's path; and how
    many were found in all."""
    conditions = _where(query)
    total = await session.scalar(
        select(func.count())
        .select_from(User)
        .outerjoin(Region, Region.id == User.region_id)
        .where(*conditions)
    )
    rows = await session.execute(
        select(User, Region.path)
        .outerjoin(Region, Region.id == User.region_id)
        .where(*conditions)
        .order_by(User.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return [(user, path) for user, path in rows.all()], int(total or 0)
