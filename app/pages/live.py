"""The live auction's URL (`/auctions/{id}`): the waiting room before the auction exists, the
live page while it is scheduled, running or ended, and, for a listing that concluded without
an auction (流拍, 协议成交), a page saying what happened and what becomes of the deposit.

One URL for bidders and watchers. The viewer's bidder number, and the registration the page
tells the outcome from, are read for that bidder alone and never shown to anyone else.
"""

from __future__ import annotations

from typing import Any

from litestar import Response

from app.pages import queries
from app.pages.common import Req, render
from app.pages.labels import auction_phase_zh, iso_utc
from auction.models import Auction
from auction.wire import snapshot_frame
from core.errors import NotFound
from core.web import actor_or_none, services
from listings import policy, reading
from listings.models import Registration
from listings.policy import Action
from listings.registration import RegState, own_registration
from listings.rules import ListingState

#: Listing states that ended without an auction being opened (no `Auction` row).
CONCLUDED = frozenset({ListingState.FAILED, ListingState.SOLD})


async def live_page(request: Req, listing_id: int) -> Response[Any]:
    viewer = actor_or_none(request)
    svc = services(request)
    async with svc.db.read() as session:
        visible = await reading.load(session, viewer, listing_id)
        listing = visible.listing
        row = await session.get(Auction, listing_id)
        mine = await own_registration(session, viewer, listing_id)
        ladder = await queries.bid_ladder(session, listing_id) if row is not None else []
    now = svc.now()
    you = mine.bidder_number if mine is not None and mine.state == RegState.QUALIFIED else None
    if row is None:
        state = ListingState(listing.state)
        if state is ListingState.ANNOUNCED:
            return render(
                request,
                "auction_waiting.html",
                title="竞价尚未开始",
                listing=listing,
                now=now,
                you=you,
                mine=mine,
                config={
                    "listing_id": listing_id,
                    "server_time": iso_utc(now),
                    "closes_at": iso_utc(listing.registration_closes_at),
                    "starts_at": iso_utc(listing.auction_starts_at),
                },
            )
        if state in CONCLUDED:
            return render(
                request,
                "auction_waiting.html",
                title="本项目未进行网络竞价",
                listing=listing,
                now=now,
                you=None,
                mine=mine,
                concluded=True,
            )
        raise NotFound("auction.not_found", "该项目没有网络竞价")
    snapshot = snapshot_frame(row, now, you=you)
    return render(
        request,
        "auction.html",
        title=f"竞价：{listing.title}",
        listing=listing,
        village=visible.village.path,
        snapshot=snapshot,
        phase=auction_phase_zh(row),
        ladder=ladder,
        viewer_role=viewer.role if viewer else None,
        you=you,
        control=policy.may_do(viewer, Action.DECIDE, visible.village),
        config={
            "listing_id": listing_id,
            "snapshot": snapshot,
            # The frozen rules the page's buttons follow (the server decides either way).
            "self_outbid_allowed": row.rules.self_outbid_allowed,
            "mine": _mine(mine) if you else None,
        },
    )


def _mine(r: Registration | None) -> dict[str, Any] | None:
    """What the page tells the bidder's own outcome from; refreshed from
    `GET /api/v1/registrations/{id}` when the auction ends while the page is open."""
    if r is None:
        return None
    return {
        "registration_id": r.id,
        "deposit_fen": r.deposit_fen,
        "deposit_state": r.deposit_state,
        "refund_due_at": iso_utc(r.refund_due_at) or None,
    }
