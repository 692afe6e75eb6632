"""What regulators do with warnings: list them within their jurisdiction, read them (evidence
sealed while identities are), and acknowledge one with a note (ledgered)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any, Final

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.accounts import Actor, Region
from core.errors import Conflict, NotFound
from core.ledger.bulk import append_many
from listings import Listing, policy
from listings.policy import LINKING_KEYS, Facet
from oversight.models import WarningRow
from oversight.warnings.findings import KIND_NAMES_ZH, SUBJECT


async def acknowledge(
    session: AsyncSession, actor: Actor, warning_id: int, note: str, now: datetime
) -> WarningRow:
    row = await session.scalar(
        select(WarningRow).where(WarningRow.id == warning_id).with_for_update()
    )
    if row is None or not await _visible(session, actor, row):
        raise NotFound("warning.not_found", "预警不存在")
    if row.state != "open":
        raise Conflict("warning.already_acknowledged", "该预警已处理")
    row.state, row.acknowledged_by, row.acknowledged_at = "acknowledged", actor.id, now
    row.note, row.updated_at = note, now
    await append_many(
        session,
        subject=SUBJECT,
        items=[
            (
                "warning.acknowledged",
                {
                    "warning_id": row.id,
                    "kind": row.kind,
                    "key": row.key,
                    "listing_id": row.listing_id,
                    "note": note,
                },
            )
        ],
        actor=actor.name,
        at=now,
    )
    return row


async def _visible(session: AsyncSession, actor: Actor, row: WarningRow) -> bool:
    village = (
        await session.scalar(
            select(Region)
            .join(Listing, Listing.village_id == Region.id)
            .where(Listing.id == row.listing_id)
        )
        if row.listing_id is not None
        else None
    )
    return policy.is_inside(actor, village)


async def search(
    session: AsyncSession,
    actor: Actor,
    *,
    kind: str | None,
    state: str | None,
    listing_id: int | None,
    limit: int,
    offset: int,
    kinds: Collection[str] | None = None,
    region: str | None = None,
    detected_from: datetime | None = None,
    detected_before: datetime | None = None,
) -> tuple[list[WarningRow], int]:
    """Warnings inside the actor's jurisdiction, newest first, and how many there are: of a
    kind (or of any of `kinds`), in a state, of a listing, of listings under a region path,
    detected in [detected_from, detected_before)."""
    query = select(WarningRow)
    if kind:
        query = query.where(WarningRow.kind == kind)
    if kinds is not None:
        query = query.where(WarningRow.kind.in_(sorted(kinds)))
    if state:
        query = query.where(WarningRow.state == state)
    if listing_id is not None:
        query = query.where(WarningRow.listing_id == listing_id)
    if detected_from is not None:
        query = query.where(WarningRow.detected_at >= detected_from)
    if detected_before is not None:
        query = query.where(WarningRow.detected_at < detected_before)
    paths = [p for p in (actor.region.path if actor.region else None, region) if p]
    if paths:  # policy.is_inside, as a query; and the region asked for
        query = query.join(Listing, Listing.id == WarningRow.listing_id).join(
            Region, Region.id == Listing.village_id
        )
        for path in paths:
            path = path.strip("/")
            query = query.where(
                or_(Region.path == path, Region.path.startswith(path + "/", autoescape=True))
            )
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    rows = await session.scalars(query.order_by(WarningRow.id.desc()).limit(limit).offset(offset))
    return list(rows), int(total or 0)


async def load(session: AsyncSession, actor: Actor, warning_id: int) -> WarningRow:
    """One warning inside the actor's jurisdiction (else 404, as acknowledging answers)."""
    row = await session.get(WarningRow, warning_id)
    if row is None or not await _visible(session, actor, row):
        raise NotFound("warning.not_found", "预警不存在")
    return row


#: Evidence keys that lead from a bidder number to a person: the ids that link, and the shared
#: values themselves (a full phone number against the masked ones listed).
_PERSONAL_KEYS: Final = LINKING_KEYS | {"phone", "ip", "device", "bank_account"}


def _sealed(evidence: Any) -> Any:
    """Evidence without the keys that tie a bidder number to a person."""
    if isinstance(evidence, dict):
        return {k: _sealed(v) for k, v in evidence.items() if k not in _PERSONAL_KEYS}
    if isinstance(evidence, list):
        return [_sealed(v) for v in evidence]
    return evidence


async def views(
    session: AsyncSession, actor: Actor, rows: Sequence[WarningRow]
) -> list[dict[str, Any]]:
    """Warnings as `actor` may see them: until a listing's auction ends its evidence shows
    bidder numbers, never whose they are (the policy's identities facet)."""
    ids = {r.listing_id for r in rows if r.listing_id is not None}
    facts = (
        {
            listing.id: (listing.state, region)
            for listing, region in await session.execute(
                select(Listing, Region)
                .join(Region, Region.id == Listing.village_id)
                .where(Listing.id.in_(ids))
            )
        }
        if ids
        else {}
    )
    out = []
    for row in rows:
        shown = view(row)
        fact = facts.get(row.listing_id) if row.listing_id is not None else None
        if fact is not None and not policy.may_see(actor, Facet.IDENTITIES, *fact):
            shown["evidence"] = _sealed(shown["evidence"])
        out.append(shown)
    return out


def view(row: WarningRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "kind": row.kind,
        "kind_name": KIND_NAMES_ZH.get(row.kind, row.kind),
        "listing_id": row.listing_id,
        "state": row.state,
        "evidence": row.evidence,
        "detected_at": row.detected_at.isoformat(),
        "updated_at": row.updated_at.isoformat(),
        "acknowledged_by": row.acknowledged_by,
        "acknowledged_at": row.acknowledged_at.isoformat() if row.acknowledged_at else None,
        "note": row.note,
    }
