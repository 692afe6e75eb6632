"""The pages' read model: list rows that join three packages (a listing with its auction and
deal and premium rate), the reviewer's queues, a bidder's registrations and deals, and a
bidder's part in a deal after the hammer.

They read and never write; every listing they return to a person has passed
`listings.reading.can_view` for that person. What one package answers alone is read through
that package (`listings.reading`, `contracts.deals`, `contracts.access`, `contracts.objections`,
`oversight.views`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import ScalarResult, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from auction.models import Auction, AuctionEvent, Bid, Deal
from contracts import access as contract_access
from contracts import objections
from contracts.deal_rules import DealState, check_objection
from contracts.deals import deal_of
from contracts.models import Objection, ObjectionState
from contracts.rent_reading import lease_rent
from contracts.schemas import DealView, ObjectionView
from core import settings as exchange_settings
from core.accounts import Actor, Region, User, users_by_id
from core.clock import CHINA_TZ
from core.db import Database
from core.errors import NotFound, RuleViolation
from core.money import format_percent
from listings import economics, reading
from listings.models import Listing, Payment, Registration


@dataclass
class Row:
    """A listing with what a list shows next to it."""

    listing: Listing
    village: Region
    auction: Auction | None = None
    deal: Deal | None = None
    premium_rate: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


async def _rows(session: AsyncSession, viewer: Actor | None, query: Any) -> list[Row]:
    out = []
    result: Any = await session.execute(query)
    for listing, village in result.all():
        if reading.can_view(viewer, listing, village):
            out.append(Row(listing, village))
    return out


def _with_region(query: Any) -> Any:
    return query.join(Region, Region.id == Listing.village_id)


async def _attach(session: AsyncSession, rows: list[Row]) -> list[Row]:
    ids = [r.listing.id for r in rows]
    if not ids:
        return rows
    auctions = {
        a.listing_id: a
        for a in await session.scalars(select(Auction).where(Auction.listing_id.in_(ids)))
    }
    deals = {
        d.listing_id: d for d in await session.scalars(select(Deal).where(Deal.listing_id.in_(ids)))
    }
    for r in rows:
        r.auction = auctions.get(r.listing.id)
        r.deal = deals.get(r.listing.id)
        if r.deal is not None:
            r.premium_rate = format_percent(
                economics.premium_rate(r.deal.listing_fen, r.deal.final_fen)
            )
    return rows


async def listings_in(
    session: AsyncSession, viewer: Actor | None, states: tuple[str, ...], limit: int = 20
) -> list[Row]:
    query = (
        _with_region(select(Listing, Region))
        .where(Listing.state.in_(states))
        .order_by(Listing.auction_starts_at)
        .limit(limit)
    )
    return await _attach(session, await _rows(session, viewer, query))


async def recent_results(session: AsyncSession, viewer: Actor | None, limit: int = 8) -> list[Row]:
    query = (
        _with_region(select(Listing, Region))
        .where(Listing.state.in_(("sold", "failed")))
        .order_by(Listing.updated_at.desc())
        .limit(limit)
    )
    return await _attach(session, await _rows(session, viewer, query))


async def village_regions(session: AsyncSession) -> list[str]:
    """Region paths that hold listings (for the filter), villages and their towns."""
    paths = set(
        await session.scalars(
            select(Region.path).join(Listing, Listing.village_id == Region.id).distinct()
        )
    )
    towns = {p.rsplit("/", 1)[0] for p in paths}
    return sorted(paths | towns)


async def bid_ladder(session: AsyncSession, listing_id: int) -> list[dict[str, Any]]:
    """Accepted bids as the room saw them (bidder numbers only), newest first."""
    rows: ScalarResult[dict[str, Any]] = await session.scalars(
        select(AuctionEvent.payload)
        .where(AuctionEvent.listing_id == listing_id, AuctionEvent.type == "bid")
        .order_by(AuctionEvent.seq.desc())
    )
    return [
        {k: frame.get(k) for k in ("seq", "round", "amount_fen", "bidder_number", "at")}
        for frame in rows
    ]


async def village_listings(session: AsyncSession, who: Actor) -> list[Row]:
    assert who.region is not None
    query = (
        _with_region(select(Listing, Region))
        .where(Listing.village_id == who.region.id)
        .order_by(Listing.id.desc())
    )
    return await _attach(session, await _rows(session, who, query))


# ----- the reviewer's queues -----------------------------------------------------------


@dataclass
class Queues:
    submitted: list[Row]
    accepted: list[Row]
    to_qualify: list[tuple[Registration, Row, User]]
    to_pay: list[tuple[Registration, Row, User]]
    auctions: list[Row]
    #: After the hammer: objections to decide (`extra["objections"]`) and contracts past
    #: their signing deadline (`extra["overdue"]`, a default to consider).
    aftermath: list[Row] = field(default_factory=list)


async def reviewer_queues(session: AsyncSession, who: Actor, now: datetime) -> Queues:
    def listings_in(*states: str) -> Any:
        return (
            _with_region(select(Listing, Region))
            .where(Listing.state.in_(states))
            .order_by(Listing.updated_at)
        )

    submitted = await _rows(session, who, listings_in("submitted"))
    accepted = await _rows(session, who, listings_in("accepted"))
    open_rows = {r.listing.id: r for r in await _rows(session, who, listings_in("announced"))}
    regs = (
        list(
            await session.scalars(
                select(Registration)
                .where(
                    Registration.listing_id.in_(list(open_rows)),
                    Registration.state.in_(("deposit_paid", "pending_deposit")),
                )
                .order_by(Registration.id)
            )
        )
        if open_rows
        else []
    )
    users = await users_by_id(session, (r.bidder_id for r in regs))
    to_qualify = [
        (r, open_rows[r.listing_id], users[r.bidder_id]) for r in regs if r.state == "deposit_paid"
    ]
    to_pay = [
        (r, open_rows[r.listing_id], users[r.bidder_id])
        for r in regs
        if r.state == "pending_deposit"
    ]
    today = now.astimezone(CHINA_TZ).date()
    auctions = []
    for r in await _attach(
        session, await _rows(session, who, listings_in("auction", "sold", "failed"))
    ):
        starts = r.listing.auction_starts_at
        running = r.auction is not None and r.auction.status != "ended"
        if running or (
            starts is not None
            and starts.astimezone(CHINA_TZ).date() == today
            and r.auction is not None
        ):
            auctions.append(r)
    return Queues(
        submitted, accepted, to_qualify, to_pay, auctions, await _aftermath(session, who, now)
    )


async def _aftermath(session: AsyncSession, who: Actor, now: datetime) -> list[Row]:
    pending = dict(
        (
            await session.execute(
                select(Objection.listing_id, func.count())
                .where(Objection.state == ObjectionState.FILED)
                .group_by(Objection.listing_id)
            )
        ).all()
    )
    overdue = {c.listing_id for c in await contract_access.overdue(session, now)}
    ids = set(pending) | overdue
    if not ids:
        return []
    query = _with_region(select(Listing, Region)).where(Listing.id.in_(ids)).order_by(Listing.id)
    rows = await _rows(session, who, query)
    for r in rows:
        r.extra = {"objections": pending.get(r.listing.id, 0), "overdue": r.listing.id in overdue}
    return rows


async def registrations_with_bidders(
    session: AsyncSession, listing_id: int
) -> list[tuple[Registration, User]]:
    regs = list(
        await session.scalars(
            select(Registration)
            .where(Registration.listing_id == listing_id)
            .order_by(Registration.id)
        )
    )
    users = await users_by_id(session, (r.bidder_id for r in regs))
    return [(r, users[r.bidder_id]) for r in regs]


async def registration_counts(session: AsyncSession, listing_id: int) -> tuple[int, int]:
    """报名人数: how many applied, and how many of them are qualified (one query). Shown only
    where the policy lets the count be seen (Facet.REGISTRATION_COUNT)."""
    row = (
        await session.execute(
            select(
                func.count(),
                func.count().filter(Registration.state == "qualified"),
            ).where(Registration.listing_id == listing_id)
        )
    ).one()
    return int(row[0]), int(row[1])


async def payments_of(session: AsyncSession, registration_ids: list[int]) -> list[Payment]:
    if not registration_ids:
        return []
    return list(
        await session.scalars(
            select(Payment)
            .where(Payment.registration_id.in_(registration_ids))
            .order_by(Payment.id)
        )
    )


# ----- bidders --------------------------------------------------------------------------


async def my_registrations(session: AsyncSession, who: Actor) -> list[tuple[Registration, Row]]:
    regs = list(
        await session.scalars(
            select(Registration)
            .where(Registration.bidder_id == who.id)
            .order_by(Registration.id.desc())
        )
    )
    out = []
    for r in regs:
        listing = await session.get(Listing, r.listing_id)
        assert listing is not None
        village = await session.get(Region, listing.village_id)
        assert village is not None
        out.append((r, Row(listing, village)))
    await _attach(session, [row for _, row in out])
    return out


async def my_deal_ids(session: AsyncSession, who: Actor) -> list[int]:
    rows = await session.scalars(
        select(Deal.listing_id)
        .join(Registration, Registration.id == Deal.registration_id)
        .where(Registration.bidder_id == who.id)
        .order_by(Deal.decided_at.desc())
    )
    return list(rows)


@dataclass
class BidderAftermath:
    """A bidder's part in a listing's deal after the hammer (docs/domain.md §6)."""

    #: An objection would be heard now (the form is offered).
    objection_open: bool = False
    #: The bidder's own objections, with their decisions.
    objections: list[ObjectionView] = field(default_factory=list)
    #: The deal is offered to this bidder as the runner-up.
    offered_to_me: bool = False


async def bidder_aftermath(
    db: Database,
    who: Actor | None,
    mine: Registration | None,
    deal: DealView | None,
    now: datetime,
) -> BidderAftermath:
    if who is None or mine is None or deal is None:
        return BidderAftermath()
    ends = deal.publicity_ends_at
    try:
        check_objection(
            DealState(deal.deal_state), now, datetime.fromisoformat(ends) if ends else None
        )
        open_ = True
    except RuleViolation:
        open_ = False
    number = mine.bidder_number
    return BidderAftermath(
        objection_open=open_,
        objections=(await objections.list_for(db, who, deal.listing_id)).items,
        offered_to_me=deal.deal_state == DealState.OFFERED
        and number is not None
        and deal.offer_number == number,
    )


async def objection_listing(session: AsyncSession, who: Actor, objection_id: int) -> int:
    """The listing an objection is about, if this person may see it (404 otherwise)."""
    listing_id = await session.scalar(
        select(Objection.listing_id).where(Objection.id == objection_id)
    )
    if listing_id is None:
        raise NotFound("objection.not_found", "异议不存在")
    await reading.load(session, who, listing_id)
    return int(listing_id)


# ----- regulators -------------------------------------------------------------------------


async def bids_of(session: AsyncSession, listing_id: int) -> list[Bid]:
    """Every bid with its outcome (accepted or rejected), for regulators."""
    return list(
        await session.scalars(select(Bid).where(Bid.listing_id == listing_id).order_by(Bid.id))
    )


async def user_counts(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(select(User.role, func.count()).group_by(User.role))
    return {role: count for role, count in rows.all()}


# ----- contracts (the contracts package's service, read-only here) --------------------------

CONTRACT_STATES_ZH = {
    "drafted": "待村集体签署",
    "signed_by_village": "村集体已签署，待竞得人签署",
    "signed": "双方已签署，待交易中心出具鉴证书",
    "certified": "已鉴证",
}
SIGNER_ZH = {"village": "村集体", "winner": "竞得人", "staff": "交易中心"}


async def deal_and_contract(
    session: AsyncSession, who: Actor | None, listing_id: int, today: date | None = None
) -> tuple[DealView | None, dict[str, Any] | None]:
    """The listing's deal and its contract's summary, as far as this person may see them;
    with `today`, the lease's rent items as of that day too."""
    try:
        deal = await deal_of(session, who, listing_id)
    except NotFound:
        return None, None
    return deal, await contract_summary(session, who, deal.contract_id, today)


async def contract_summary(
    session: AsyncSession, who: Actor | None, contract_id: int | None, today: date | None = None
) -> dict[str, Any] | None:
    """The contract's state and signatures as this person may see them (None: not theirs)."""
    if who is None or contract_id is None:
        return None
    try:
        access = await contract_access.load(session, who, contract_id)
    except NotFound:
        return None
    contract = access.contract
    nxt = contract_access.next_signer(contract.state)
    return {
        "id": contract.id,
        "number": contract.number,
        "state": contract.state,
        "state_zh": CONTRACT_STATES_ZH.get(contract.state, contract.state),
        "role": access.role,
        "my_turn": nxt is not None and nxt == access.role,
        "next_zh": SIGNER_ZH.get(nxt or "", ""),
        "deadline": contract.sign_deadline,
        "certified": contract.state == "certified",
        "signatures": [
            {"role": SIGNER_ZH.get(s.role, s.role), "at": s.signed_at}
            for s in await contract_access.signatures_of(session, contract.id)
        ],
        "rent": None
        if today is None
        else await lease_rent(
            session, who, contract.id, today, await exchange_settings.load(session)
        ),
        # Who records rent received and waivers (contracts.rent.staff_item decides).
        "rent_recorder": access.role == contract_access.VILLAGE
        or (access.role == contract_access.STAFF and who.role == "reviewer"),
    }
