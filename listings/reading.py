"""Reading listings as one actor may see them: one listing (or 404), a search, its documents.

Whether an actor may see a listing at all is the policy's (listings.policy, facet LISTING);
the queries here narrow by the same rules so a page of results is not mostly filtered out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core import ledger
from core.accounts import Actor, Region
from core.errors import NotFound
from listings import policy
from listings.models import Document, Listing
from listings.policy import Facet
from listings.rules import PUBLIC, ListingState


def subject(listing_id: int) -> str:
    return f"listing:{listing_id}"


@dataclass(frozen=True, slots=True)
class Visible:
    """A listing with its village, as one actor may see it."""

    listing: Listing
    village: Region


async def _village(session: AsyncSession, listing: Listing) -> Region:
    region = await session.get(Region, listing.village_id)
    assert region is not None
    return region


def can_view(actor: Actor | None, listing: Listing, village: Region) -> bool:
    """Whether the actor may see the listing at all (listings.policy, facet LISTING)."""
    return policy.may_see(actor, Facet.LISTING, listing.state, village)


async def record(
    session: AsyncSession, listing_id: int, type_: str, actor: str, now: datetime, **payload: Any
) -> None:
    """One entry of the listing's chain in the ledger (`listing:<id>`): every use case that
    changes a listing, its registrations or deposits records what it did here."""
    await ledger.append(
        session, subject=subject(listing_id), type=type_, actor=actor, payload=payload, at=now
    )


async def load(
    session: AsyncSession, actor: Actor | None, listing_id: int, *, lock: bool = False
) -> Visible:
    """A listing the actor may see (else 404: existence is not disclosed), optionally locked."""
    # Locked, it is re-read under the lock even if this session saw the row before.
    listing = await session.get(Listing, listing_id, with_for_update=lock, populate_existing=lock)
    if listing is None:
        raise NotFound("listing.not_found", "挂牌项目不存在")
    village = await _village(session, listing)
    if not can_view(actor, listing, village):
        raise NotFound("listing.not_found", "挂牌项目不存在")
    return Visible(listing, village)


@dataclass(frozen=True, slots=True)
class ListingFilter:
    state: str | None = None
    category: str | None = None
    region: str | None = None  # a region path prefix
    limit: int = 50
    offset: int = 0


async def search(
    session: AsyncSession, actor: Actor | None, filters: ListingFilter
) -> list[Visible]:
    query = (
        select(Listing, Region)
        .join(Region, Region.id == Listing.village_id)
        .order_by(Listing.id.desc())
    )
    if filters.state:
        query = query.where(Listing.state == filters.state)
    if filters.category:
        query = query.where(Listing.category == filters.category)
    if filters.region:
        path = filters.region.strip("/")
        query = query.where((Region.path == path) | Region.path.startswith(path + "/"))
    visible_states = _states_visible_to(actor)
    if visible_states is not None:
        query = query.where(Listing.state.in_(visible_states))
    if actor is not None and actor.region is not None:
        # Outside one's jurisdiction only public listings are visible.
        inside = (Region.path == actor.region.path) | Region.path.startswith(
            actor.region.path + "/"
        )
        query = query.where(inside | Listing.state.in_([s.value for s in PUBLIC]))
    rows = await session.execute(query.limit(filters.limit).offset(filters.offset))
    # The query narrows by the policy's rules; the policy itself has the last word.
    return [
        Visible(listing, village) for listing, village in rows if can_view(actor, listing, village)
    ]


def _states_visible_to(actor: Actor | None) -> list[str] | None:
    if actor is None or actor.role == "bidder":
        return [s.value for s in PUBLIC]
    if actor.role == "reviewer":
        return [s.value for s in ListingState if s is not ListingState.DRAFT]
    return None


async def documents_of(session: AsyncSession, listing_id: int) -> list[Document]:
    rows = await session.scalars(
        select(Document).where(Document.listing_id == listing_id).order_by(Document.id)
    )
    return list(rows)


async def resolution_documents(session: AsyncSession, listing_id: int) -> int:
    """How many resolution documents (kind `village_resolution`) the listing carries."""
    count = await session.scalar(
        select(func.count())
        .select_from(Document)
        .where(Document.listing_id == listing_id, Document.kind == "village_resolution")
    )
    return int(count or 0)
