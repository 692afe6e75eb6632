"""Regulators' pages (read-only): dashboard with statistics, a listing's full timeline from the
transaction log, its bid ladder, and links to the oversight API's exports where they exist."""

from __future__ import annotations

from typing import Any

from litestar import Response, get
from litestar.params import FromPath

from app.pages import charts, queries
from app.pages.common import Pages, Req, render
from app.pages.labels import yuan
from app.pages.timeline import listing_timeline
from auction.models import Auction
from core.web import actor, allow, services
from listings import policy, reading
from listings.api import listing_view
from listings.policy import Facet
from oversight import stats, warnings

LABEL = {"category": "category_name", "town": "town", "month": "month", "county": "county"}


def _groups(result: stats.StatsResult, dim: str) -> list[dict[str, Any]]:
    return [{**row, "name": row.get(LABEL[dim]) or "（未知）"} for row in result.rows]


def _bars(groups: list[dict[str, Any]]) -> dict[str, Any]:
    """An inline SVG chart of the groups' deal totals (app/pages/charts.py)."""
    return charts.hbars(
        [
            (g["name"], (g["deal_total_fen"],), (f"{yuan(g['deal_total_fen'])}（{g['deals']}宗）",))
            for g in groups
        ]
    )


class OversightPages(Pages):
    path = "/oversight"
    guards = (allow("regulator", "admin"),)

    @get("/")
    async def dashboard(self, request: Req) -> Response[Any]:
        """Statistics by the oversight service (the same figures as GET /api/v1/stats)."""
        who = actor(request)
        jurisdiction = who.region.path if who.region is not None else None
        groups: dict[str, list[dict[str, Any]]] = {}
        async with services(request).db.read() as session:
            for dim in ("category", "town", "month"):
                result = await stats.statistics(session, stats.StatsQuery((dim,)), jurisdiction)
                groups[dim] = _groups(result, dim)
            totals = result.totals
            open_warnings, warning_count = await warnings.search(
                session, who, kind=None, state="open", listing_id=None, limit=20, offset=0
            )
            deals = await queries.recent_results(session, who, limit=30)
            shown_warnings = await warnings.views(session, who, open_warnings)
        return render(
            request,
            "oversight.html",
            title="监管看板",
            totals=totals,
            groups=groups,
            charts={dim: _bars(rows) for dim, rows in groups.items()},
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
            deal, contract = await queries.deal_and_contract(session, who, listing_id)
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
