"""Bidders' pages: my registrations with deposit instructions, my deals (and contracts)."""

from __future__ import annotations

from typing import Any

from litestar import Response, get, post
from litestar.params import FromPath

from app.pages import queries
from app.pages.common import FORM, Pages, Req, posted_form, redirect, render
from core.clock import local_date
from core.errors import DomainError, NotFound
from core.web import actor, allow, services
from listings import qualification
from listings.api import checked_upload, store
from listings.documents import UPLOAD_BODY
from listings.models import Listing

#: Where deposits go. Display only; the exchange's account belongs in the exchange settings
#: (core/settings.py) — until it is there, the page names the account holder.
EXCHANGE_ACCOUNT = {
    "holder": "农村产权流转交易中心保证金专户",
    "bank": "以交易中心公告的开户银行为准",
    "note": "转账附言必须填写下方“缴款识别码”，系统据此自动确认到账。",
}


class BidderPages(Pages):
    path = "/me"
    guards = (allow("bidder"),)

    @get("/registrations")
    async def registrations(self, request: Req) -> Response[Any]:
        return await _registrations(request)

    @post(
        "/registrations/{registration_id:int}/proof",
        opt=FORM,
        request_max_body_size=UPLOAD_BODY,
    )
    async def proof(self, request: Req, registration_id: FromPath[int]) -> Response[Any]:
        """The proof of a claimed priority right, uploaded after registering."""
        values = await posted_form(request)
        svc, who = services(request), actor(request)
        try:
            checked = await checked_upload(svc, values.get("proof"))
            async with svc.db.write() as session:
                await qualification.attach_proof(
                    session, who, registration_id, file=checked, store=store(svc), now=svc.now()
                )
        except DomainError as exc:
            if isinstance(exc, NotFound):
                raise
            return await _registrations(request, (registration_id, exc.message), exc.status)
        return redirect(f"/me/registrations#reg-{registration_id}", "uploaded")

    @get("/deals")
    async def deals(self, request: Req) -> Response[Any]:
        who = actor(request)
        async with services(request).db.read() as session:
            items = []
            for listing_id in await queries.my_deal_ids(session, who):
                listing = await session.get(Listing, listing_id)
                deal, contract = await queries.deal_and_contract(
                    session, who, listing_id, local_date(services(request).now())
                )
                items.append((listing, deal, contract))
        return render(
            request,
            "me_deals.html",
            title="我的成交",
            items=items,
            sign_as="竞得人",
        )


async def _registrations(
    request: Req,
    proof_error: tuple[int, str] | None = None,
    status: int = 200,
) -> Response[Any]:
    who = actor(request)
    async with services(request).db.read() as session:
        rows = await queries.my_registrations(session, who)
        proofs = await qualification.documents_of(session, [r.id for r, _ in rows])
    return render(
        request,
        "me_registrations.html",
        status=status,
        title="我的报名",
        rows=rows,
        proofs=proofs,
        proof_error=proof_error,
        account=EXCHANGE_ACCOUNT,
    )
