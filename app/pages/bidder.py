"""Bidders' pages: my registrations with deposit instructions, my deals (and contracts)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get

from app.pages import queries
from app.pages.common import PAGE_ERRORS, render
from contracts.deals import load_deal
from core.web import actor, allow, services
from listings.models import Listing

#: Where deposits go. Display only; the exchange's account belongs in the exchange settings
#: (core/settings.py) — until it is there, the page names the account holder.
EXCHANGE_ACCOUNT = {
    "holder": "农村产权流转交易中心保证金专户",
    "bank": "以交易中心公告的开户银行为准",
    "note": "转账附言必须填写下方“缴款识别码”，系统据此自动确认到账。",
}


class BidderPages(Controller):
    path = "/me"
    guards = (allow("bidder"),)
    exception_handlers = PAGE_ERRORS
    include_in_schema = False

    @get("/registrations")
    async def registrations(self, request: Request[Any, Any, Any]) -> Response[Any]:
        who = actor(request)
        async with services(request).db.read() as session:
            rows = await queries.my_registrations(session, who)
        return render(
            request, "me_registrations.html", title="我的报名", rows=rows, account=EXCHANGE_ACCOUNT
        )

    @get("/deals")
    async def deals(self, request: Request[Any, Any, Any]) -> Response[Any]:
        who = actor(request)
        async with services(request).db.read() as session:
            items = []
            for listing_id in await queries.my_deal_ids(session, who):
                listing = await session.get(Listing, listing_id)
                deal = await load_deal(session, who, listing_id)
                items.append(
                    (
                        listing,
                        deal,
                        await queries.contract_summary(session, who, deal["contract_id"]),
                    )
                )
        return render(
            request,
            "me_deals.html",
            title="我的成交",
            items=items,
            contracts=queries.contract_routes(request.app),
            sign_as="竞得人",
        )
