"""Regulators' pages (read-only): dashboard with statistics, a listing's full timeline from the
transaction log, its bid ladder, and links to the oversight API's exports where they exist."""

from __future__ import annotations

from typing import Any

from litestar import Response, get
from litestar.params import FromPath

from app.pages import queries
from app.pages.common import Pages, Req, render
from app.pages.dashboard import Filters, category_choices, figures, region_choices
from app.pages.timeline import listing_timeline
from auction.models import Auction
from core.clock import local_date
from core.web import actor, allow, services
from listings import policy, reading
from listings.api import listing_view
from listings.policy import Facet
from oversight import warnings


class OversightPages(Pages):
    path = "/oversight"
    guards = (allow("regulator", "admin"),)

    @get("/")
    async def dashboard(self, request: Req) -> Response[Any]:
        """The figures of the oversight service (the same as GET /api/v1/stats and
        /api/v1/stats/{collection,premium-distribution,deals-by-month}) under the filters."""
        who = actor(request)
        svc = services(request)
        jurisdiction = who.region.path if who.region is not None else None
        filters = Filters.parse(dict(request.query_params))
        async with svc.db.read() as session:
            shown = await figures(session, filters, jurisdiction, local_date(svc.now()))
            regions = await region_choices(session, jurisdiction)
            open_warnings, warning_count = await warnings.search(
                session, who, kind=None, state="open", listing_id=None, limit=20, offset=0
            )
            deals = await queries.recent_results(session, who, limit=30)
            shown_warnings = await warnings.views(session, who, open_warnings)
        return render(
            request,
            "oversight.html",
            title="监管看板",
            **shown,
            filters=filters,
            export_query=filters.query_string(),
            regions=regions,
            categories=category_choices(),
            warnings=shown_warnings,
            warning_count=warning_count,
            deals=[r for r in deals if r.deal is not None and policy.is_inside(who, r.village)],
        )

    @get("/listings/{listing_id:int}")
    async def listing(self, request: Req, listing_id: FromPath[int]) -> Response[Any]:
        who = actor(request)
        async with services(request).db.read() as session:
            visible = await reading.load(session, who, listing_id)
            state, village = visible.listing.state, visible.village
            policy.require(who, Facet.TIMELINE, state, village)  # staff of this region only
            documents = await reading.documents_of(session, listing_id)
            timeline = await listing_timeline(session, who, visible, full=True)
            bids = await queries.bids_of(session, listing_id)
            auction = await session.get(Auction, listing_id)
            deal, contract = await queries.deal_and_contract(
                session, who, listing_id, local_date(services(request).now())
            )
        return render(
            request,
            "oversight_listing.html",
            title=visible.listing.title,
            listing=listing_view(visible, who, documents),
            timeline=timeline,
            bids=bids,
            # Addresses and devices point to people: sealed like names until the end.
            show_identities=policy.may_see(who, Facet.DOSSIERS, state, village),
            auction=auction,
            deal=deal,
            contract=contract,
        )
