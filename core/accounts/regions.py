"""The region tree as an administrator keeps it: read it, add a region under another, rename
one. A region's path ("/"-joined names) is the jurisdiction key (`within`), so a rename
rewrites the paths of the region and of everything below it in the same transaction."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from core import ledger
from core.accounts import policy
from core.accounts.actor import Actor
from core.accounts.models import Region, User
from core.errors import Conflict, NotFound


def region_subject(region_id: int) -> str:
    return f"region:{region_id}"


async def all_regions(session: AsyncSession) -> list[Region]:
    """Every region in path order: a parent comes right before its children."""
    return list(await session.scalars(select(Region).order_by(Region.path)))


async def get_region(session: AsyncSession, region_id: int) -> Region:
    region = await session.get(Region, region_id)
    if region is None:
        raise NotFound("region.not_found", "地区不存在")
    return region


async def region_counts(session: AsyncSession, region: Region) -> tuple[int, int]:
    """How many regions lie below `region`, and how many accounts belong to it or below."""
    below = Region.path.startswith(region.path + "/", autoescape=True)
    regions = await session.scalar(select(func.count()).select_from(Region).where(below))
    users = await session.scalar(
        select(func.count())
        .select_from(User)
        .join(Region, Region.id == User.region_id)
        .where(or_(Region.id == region.id, below))
    )
    return int(regions or 0), int(users or 0)


async def add_region(
    session: AsyncSession, actor: Actor | None, parent_id: int | None, name: str, *, now: datetime
) -> Region:
    """A region one level below `parent_id` (a province without one)."""
    by = policy.administrator(actor)
    parent = await get_region(session, parent_id) if parent_id is not None else None
    level = policy.child_level(parent)
    name = policy.region_name(name)
    path = f"{parent.path}/{name}" if parent else name
    if await session.scalar(select(Region.id).where(Region.path == path)):
        raise Conflict("region.exists", f"“{path.replace('/', ' / ')}”已经存在")
    region = Region(name=name, level=level, path=path, parent_id=parent.id if parent else None)
    session.add(region)
    await session.flush()
    await ledger.append(
        session,
        subject=region_subject(region.id),
        type="region.created",
        actor=by,
        payload={"path": path, "level": level},
        at=now,
    )
    return region


async def rename_region(
    session: AsyncSession, actor: Actor | None, region_id: int, name: str, *, now: datetime
) -> tuple[str, str]:
    """Give a region a new name; its path and every path below it follow. Returns the old
    and the new path (for tables that copy paths, such as the statistics' facts)."""
    by = policy.administrator(actor)
    region = await session.get(Region, region_id, with_for_update=True)
    if region is None:
        raise NotFound("region.not_found", "地区不存在")
    name = policy.region_name(name)
    old = region.path
    new = f"{old.rsplit('/', 1)[0]}/{name}" if "/" in old else name
    if new == old:
        return old, new
    if await session.scalar(select(Region.id).where(Region.path == new)):
        raise Conflict("region.exists", f"“{new.replace('/', ' / ')}”已经存在")
    below = await session.scalars(
        select(Region).where(Region.path.startswith(old + "/", autoescape=True)).with_for_update()
    )
    for child in below:
        child.path = new + child.path[len(old) :]
    region.name, region.path = name, new
    await session.flush()
    await ledger.append(
        session,
        subject=region_subject(region.id),
        type="region.renamed",
        actor=by,
        payload={"from": old, "to": new},
        at=now,
    )
    return old, new
