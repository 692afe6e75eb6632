"""The deal with its economics (premium rate, income over the term), as each party may see it."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from auction.deal import runner_up_bid
from auction.models import Deal
from contracts import publicity
from contracts.deal_rules import DealState
from contracts.schemas import DealIncome, DealView
from core.accounts import Actor, User
from core.clock import iso
from core.db import Database
from core.errors import NotFound
from core.ids import mask_name
from core.money import format_percent
from listings import Listing, ListingState, Registration, economics, policy, reading
from listings.policy import Facet


def income_of(listing: Listing, deal: Deal) -> economics.Income:
    return economics.income_of(listing.terms, deal.listing_fen, deal.final_fen)


async def deal_view(db: Database, viewer: Actor | None, listing_id: int) -> DealView:
    """The deal, for the parties, staff and regulators — and the public once announced (sold)."""
    async with db.read() as session:
        return await deal_of(session, viewer, listing_id)


async def deal_of(session: AsyncSession, viewer: Actor | None, listing_id: int) -> DealView:
    """The deal as this person may see it, in the caller's session (the pages)."""
    visible = await reading.load(session, viewer, listing_id)
    deal = await session.get(Deal, listing_id)
    if deal is None:
        raise NotFound("deal.not_found", "该项目尚未成交")
    winner = await session.get(Registration, deal.registration_id)
    assert winner is not None
    state = visible.listing.state
    party = policy.may_see(viewer, Facet.DEAL, state, visible.village, owner=winner.bidder_id)
    # A sale is public once announced (sold), and stays on record when later voided.
    public = state == ListingState.SOLD or deal.voided_at is not None
    if not party and not public:
        raise NotFound("deal.not_found", "该项目尚未成交")
    income = income_of(visible.listing, deal)
    rate = economics.premium_rate(deal.listing_fen, deal.final_fen)
    buyer = await session.get(User, winner.bidder_id)
    assert buyer is not None
    terms = visible.listing.terms
    offer_fen, offer_number = await _offer(session, deal)
    return DealView(
        listing_id=listing_id,
        state=visible.listing.state,
        kind=deal.kind,
        listing_fen=deal.listing_fen,
        final_fen=deal.final_fen,
        price_unit=terms.price_unit,
        term_years=terms.term_years,
        winner_number=deal.winner_number,
        winner_name=buyer.display_name if party else mask_name(buyer.display_name),
        rounds=deal.rounds,
        premium_rate=format_percent(rate),
        premium_rate_exact=f"{rate.numerator}/{rate.denominator}",
        income=DealIncome(
            premium_per_year_fen=income.premium_per_year_fen,
            premium_over_term_fen=income.premium_over_term_fen,
            contract_value_fen=income.contract_value_fen,
        ),
        decided_at=deal.decided_at.isoformat(),
        contract_id=deal.contract_id,
        deal_state=deal.state,
        publicity_ends_at=iso(visible.listing.publicity_ends_at),
        objections_close_at=iso(visible.listing.publicity_ends_at),
        confirmed_at=iso(deal.confirmed_at),
        voided_at=iso(deal.voided_at),
        void_reason=deal.void_reason,
        offer_expires_at=iso(deal.offer_expires_at),
        offer_fen=offer_fen,
        offer_number=offer_number,
        objections_pending=await publicity.open_objections(session, listing_id),
        performance_deposit_fen=terms.performance_deposit_fen,
    )


async def _offer(session: AsyncSession, deal: Deal) -> tuple[int | None, str | None]:
    """While the deal is offered to the runner-up: their last accepted bid and their number
    (bidder numbers and bids are public once the auction is over, as its ladder shows)."""
    if deal.state != DealState.OFFERED or deal.runner_up_id is None:
        return None, None
    backup = await session.get(Registration, deal.runner_up_id)
    found = await runner_up_bid(session, deal.listing_id, deal.winner_number)
    if backup is None or found is None:
        return None, None
    return found[1], backup.bidder_number
