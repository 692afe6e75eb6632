"""Regulators' pages (read-only): dashboard with statistics, a listing's full timeline from the
transaction log, its bid ladder, and links to the oversight API's exports where they exist."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get
from litestar.params import FromPath

from app.pages import queries
from app.pages.common import PAGE_ERRORS, render
from auction.models import Auction
from contracts.deals import load_deal
from core.errors import NotFound
from core.web import actor, allow, services
from listings import service
from listings.api import listing_view

Req = Request[Any, Any, Any]


def _bars(groups: list[queries.Group], width: int = 320) -> list[dict[str, Any]]:
    """Bar geometry for an inline SVG chart of deal totals (no script, no library)."""
    top = max((g.deal_total_fen for g in groups), default=0) or 1
    return [{"group": g, "y": i * 28, "w": max(2, round(g.deal_total_fen * width / top))
             if g.deal_total_fen else 0} for i, g in enumerate(groups)]


class OversightPages(Controller):
    path = "/oversight"
    guards = (allow("regulator", "admin"),)
    exception_handlers = PAGE_ERRORS
    include_in_schema = False

    @get("/")
    async def dashboard(self, request: Req) -> Response[Any]:
        who = actor(request)
        async with services(request).db.read() as session:
            stats = await queries.regulator_stats(session, who)
        endpoints = queries.oversight_routes(request.app)
        return render(request, "oversight.html", title="监管看板", stats=stats,
                      charts={"category": _bars(stats.by_category), "town": _bars(stats.by_town),
                              "month": _bars(stats.by_month)},
                      endpoints=[e for e in endpoints if "{}" not in e],
                      listing_endpoints=[e for e in endpoints if "{}" in e])

    @get("/listings/{listing_id:int}")
    async def listing(self, request: Req, listing_id: FromPath[int]) -> Response[Any]:
        who = actor(request)
        async with services(request).db.read() as session:
            visible = await service.load(session, who, listing_id)
            documents = await service.documents_of(session, listing_id)
            timeline = await queries.timeline(session, listing_id, full=True)
            bids = await queries.bids_of(session, listing_id)
            auction = await session.get(Auction, listing_id)
            try:
                deal = await load_deal(session, who, listing_id)
            except NotFound:
                deal = None
        endpoints = [e.replace("{}", str(listing_id)) for e in
                     queries.oversight_routes(request.app) if e.count("{}") == 1]
        return render(request, "oversight_listing.html", title=visible.listing.title,
                      listing=listing_view(visible, who, documents), timeline=timeline,
                      bids=bids, auction=auction, deal=deal, endpoints=endpoints,
                      contracts=queries.contract_routes(request.app))
