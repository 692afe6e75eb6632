"""HTTP side of the auction: snapshot, bids (the same book as the websocket), pause/resume."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, MediaType, Request, Response, get, post
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, JSONBody
from msgspec import Meta

from auction import engine
from auction.book import BidBook
from auction.frames import Snapshot
from auction.models import Auction
from auction.schemas import BidAnswer, rejection
from auction.snapshots import Snapshots
from auction.wire import stored_snapshot
from core.errors import NotFound, TooManyRequests
from core.limits import RateLimiter
from core.problems import problem
from core.web import PUBLIC, actor, actor_or_none, allow, client_ip, services


class BidBody(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    amount_fen: Annotated[int, Meta(ge=1, le=10**13)]
    ref: Annotated[str, Meta(min_length=1, max_length=64)]
    based_on_seq: Annotated[int, Meta(ge=0, le=2**31 - 1)] | None = None


class MatchBody(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    ref: Annotated[str, Meta(min_length=1, max_length=64)]
    based_on_seq: Annotated[int, Meta(ge=0, le=2**31 - 1)] | None = None


class ReasonBody(msgspec.Struct, forbid_unknown_fields=True):
    reason: Annotated[str, Meta(min_length=1, max_length=1000)]


async def _reads_no_body(_: Request[Any, Any, Any]) -> None:
    """In place of the app's body checks (core.bodies.checked_body) on the snapshot, the
    busiest route: it reads no body, so they would have nothing to guard."""


def no_auction() -> NotFound:
    """A snapshot asked of a listing with no auction (here and in app.fast_snapshot)."""
    return NotFound("auction.not_found", "该项目没有竞价")


class AuctionController(Controller):
    path = "/api/v1/auctions"

    @get(
        "/{listing_id:int}",
        opt=PUBLIC,
        media_type=MediaType.JSON,
        # The body is a `Snapshot` encoded once per event (auction.snapshots.Encoded).
        responses={200: ResponseSpec(Snapshot, description="Request fulfilled, document follows")},
        before_request=_reads_no_body,
    )
    async def snapshot(self, request: Request[Any, Any, Any], listing_id: FromPath[int]) -> bytes:
        snapshots: Snapshots = request.app.state.snapshots
        body = await snapshots.encoded(listing_id, actor_or_none(request))
        if body is None:
            raise no_auction()
        return body

    @post("/{listing_id:int}/bids", guards=[allow("bidder")], status_code=200)
    async def bid(
        self, request: Request[Any, Any, Any], listing_id: FromPath[int], data: JSONBody[BidBody]
    ) -> Response[BidAnswer]:
        return await _place(
            request, listing_id, data.ref, data.amount_fen, data.based_on_seq, False
        )

    @post("/{listing_id:int}/match", guards=[allow("bidder")], status_code=200)
    async def match(
        self, request: Request[Any, Any, Any], listing_id: FromPath[int], data: JSONBody[MatchBody]
    ) -> Response[BidAnswer]:
        return await _place(request, listing_id, data.ref, None, data.based_on_seq, True)

    @post("/{listing_id:int}/pause", guards=[allow("reviewer")], status_code=200)
    async def pause(
        self, request: Request[Any, Any, Any], listing_id: FromPath[int], data: JSONBody[ReasonBody]
    ) -> Snapshot:
        return await _control(request, listing_id, engine.Pause(data.reason))

    @post("/{listing_id:int}/resume", guards=[allow("reviewer")], status_code=200)
    async def resume(
        self, request: Request[Any, Any, Any], listing_id: FromPath[int], data: JSONBody[ReasonBody]
    ) -> Snapshot:
        return await _control(request, listing_id, engine.Resume(data.reason))


async def _place(
    request: Request[Any, Any, Any],
    listing_id: int,
    ref: str,
    amount_fen: int | None,
    based_on_seq: int | None,
    match: bool,
) -> Response[BidAnswer]:
    """The command through the bid book (the websocket's lane); a rejection is answered as
    its problem rather than raised: under contention most bids are rejected, and Litestar's
    exception path (unwinding the middleware, finding the handler) is what it would add."""
    who = actor(request)
    bids: BidBook = request.app.state.bids
    limiter: RateLimiter = request.app.state.bid_limiter
    try:
        limiter.hit(f"bid:{listing_id}:{who.id}")
    except TooManyRequests:
        raise rejection("rate_limited", ref=ref) from None
    outcome = await bids.bid(
        listing_id,
        who,
        amount_fen=amount_fen,
        ref=ref,
        based_on_seq=based_on_seq,
        match=match,
        channel="http",
        ip=client_ip(request),
        device=request.headers.get("user-agent"),
    )
    if not outcome.accepted:
        assert outcome.code is not None
        refused = rejection(outcome.code, ref=ref, **await _price(request, listing_id))
        return problem(
            refused.status, refused.code, refused.message, refused.title, **refused.extra
        )
    return Response(BidAnswer.of(ref, outcome))


async def _price(request: Request[Any, Any, Any], listing_id: int) -> dict[str, int]:
    """The auction's price and `seq` as this worker knows them, for a rejected bidder to bid
    on without another request: from the in-memory snapshot, which the rejecting batch's own
    events reached before its callers resume (from another worker's, one channels hop late)."""
    snapshots: Snapshots = request.app.state.snapshots
    known = await snapshots.price(listing_id)
    return {} if known is None else {"current_fen": known[0], "seq": known[1]}


async def _control(
    request: Request[Any, Any, Any], listing_id: int, command: engine.Pause | engine.Resume
) -> Snapshot:
    bids: BidBook = request.app.state.bids
    outcome = await bids.control(listing_id, actor(request), command)
    if not outcome.accepted:
        assert outcome.code is not None
        raise rejection(outcome.code)
    async with services(request).db.read() as session:
        row = await session.get(Auction, listing_id)
        assert row is not None
        return stored_snapshot(row, services(request).now(), cls=Snapshot)
