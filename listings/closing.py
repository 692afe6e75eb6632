"""Registration close (by the number of qualified bidders) and deposits after the sale."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core import ledger
from core.clock import CHINA_TZ, local_date
from core.settings import ExchangeSettings
from listings.announced import as_announced
from listings.models import Listing, Registration
from listings.qualification import qualify_undecided
from listings.reading import record
from listings.registration import (
    DepositState,
    RegState,
    record_registration,
    refund,
    registrations_of,
)
from listings.rules import ListingState, Outcome, action_for, registration_outcome, transition


async def due_closings(session: AsyncSession, now: datetime) -> list[int]:
    rows = await session.scalars(
        select(Listing.id).where(
            Listing.state == ListingState.ANNOUNCED, Listing.registration_closes_at <= now
        )
    )
    return list(rows)


@dataclass(frozen=True, slots=True)
class Closing:
    listing: Listing
    outcome: Outcome
    qualified: list[Registration]


async def close_registration(
    session: AsyncSession, listing_id: int, settings: ExchangeSettings, now: datetime
) -> Closing | None:
    """Close registration once its time has come; None if another process already did."""
    listing = await session.scalar(
        select(Listing).where(Listing.id == listing_id).with_for_update()
    )
    if listing is None or listing.state != ListingState.ANNOUNCED:
        return None
    assert listing.registration_closes_at is not None
    if listing.registration_closes_at > now:
        return None
    settings = as_announced(listing, settings)  # the rules as announced, not as they are now
    registrations = await registrations_of(session, listing_id)
    # Paid and undecided counts as qualified: nobody keeps a bidder out by doing nothing.
    # They are qualified now unless registration is extended, which keeps them open to a
    # reviewer (and a priority claim to its proof) until the final close.
    undecided = [r for r in registrations if r.state == RegState.DEPOSIT_PAID]
    outcome = registration_outcome(
        sum(r.state == RegState.QUALIFIED for r in registrations) + len(undecided),
        min_bidders=settings.min_qualified_bidders,
        single_policy=settings.single_bidder_policy,
        already_extended=listing.registration_extended,
    )
    if outcome is not Outcome.EXTEND:
        await qualify_undecided(session, registrations, now)
    qualified = [r for r in registrations if r.state == RegState.QUALIFIED]
    listing.state = transition(ListingState(listing.state), action_for(outcome)).value
    listing.updated_at = now
    payload: dict[str, Any] = {"qualified": len(qualified), "outcome": outcome.value}
    if outcome is Outcome.EXTEND:
        _extend(listing, settings)
        payload["registration_closes_at"] = ledger.timestamp(listing.registration_closes_at)
    elif outcome is Outcome.FAILED:
        listing.outcome = "no_bidders" if not qualified else "too_few_bidders"
    elif outcome is Outcome.AGREEMENT:
        listing.outcome = "agreement"
    await record(
        session, listing.id, "registration.closed", "system", now, state=listing.state, **payload
    )
    if outcome is not Outcome.EXTEND:
        # Whoever cannot bid any more gets their deposit back.
        for r in registrations:
            still_bidding = r.state == RegState.QUALIFIED and outcome is not Outcome.FAILED
            if r.deposit_state in (DepositState.PAID, DepositState.HELD) and not still_bidding:
                await refund(session, r, now, "system")
    return Closing(listing, outcome, qualified)


def _extend(listing: Listing, settings: ExchangeSettings) -> None:
    assert listing.registration_closes_at and listing.auction_starts_at
    closes = listing.registration_closes_at.astimezone(CHINA_TZ)
    new_day = settings.calendar().add_working_days(
        local_date(closes), settings.single_bidder_extension_working_days
    )
    shift = timedelta(days=(new_day - closes.date()).days)
    listing.registration_closes_at = listing.registration_closes_at + shift
    listing.auction_starts_at = listing.auction_starts_at + shift
    listing.registration_extended = True


async def settle_after_sale(
    session: AsyncSession,
    listing_id: int,
    winner_registration_id: int | None,
    now: datetime,
    *,
    runner_up_id: int | None = None,
) -> None:
    """At the end of the trade: the winner's deposit stays held, to be credited to the first
    rent payment; the runner-up's (候补), when the listing offers a voided deal to them, stays
    held until the deal is signed; everyone else's becomes refundable."""
    for r in await registrations_of(session, listing_id):
        if r.id == winner_registration_id:
            await record_registration(
                session, r, "deposit.to_be_credited", "system", now, amount_fen=r.deposit_fen
            )
        elif r.id == runner_up_id and r.deposit_state == DepositState.HELD:
            await record_registration(
                session, r, "deposit.held_for_runner_up", "system", now, amount_fen=r.deposit_fen
            )
        elif r.deposit_state in (DepositState.PAID, DepositState.HELD):
            await refund(session, r, now, "system")
