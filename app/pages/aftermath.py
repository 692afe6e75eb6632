"""After the hammer on the pages (docs/domain.md §6): a bidder's objection during the result
publicity and the runner-up's answer to an offer, on the listing page; a reviewer's decision
on an objection and a winner's default, on the reviewer's page of the listing; a contract's
signature report in sentences (/contracts/{id}/verification). Each form calls
the same service as the API (`contracts.objections`, `contracts.voiding`); what cannot be
undone (declining an offer, a default) is asked once more before the service is called."""

from __future__ import annotations

from typing import Any, cast

from litestar import Response, get, post
from litestar.datastructures import UploadFile
from litestar.params import FromPath
from litestar.response import Redirect

from app.pages import queries
from app.pages.common import FORM, Pages, Req, posted_form, redirect, render
from app.pages.forms import FieldError, Form
from app.pages.public import listing_page
from app.pages.review import review_page
from app.pages.signatures import read_verification
from contracts import access as contract_access
from contracts import objections, voiding
from contracts.api import PARTIES_AND_STAFF
from contracts.deal_rules import DEFAULT_REASONS_ZH, DefaultReason
from contracts.deps import Deps
from contracts.verification import verification
from core.errors import DomainError, NotFound, PermissionDenied
from core.web import actor, allow, services
from listings.api import checked_upload, store
from listings.documents import UPLOAD_BODY
from listings.models import Listing

#: The longest text the API takes for reasons (contracts.aftermath_api) and for a note.
MAX_REASONS = 4000
MAX_NOTE = 2000


def _text(values: dict[str, Any], name: str) -> str:
    return str(values.get(name) or "").strip()


def _too_long(form: Form, name: str, label: str, limit: int) -> None:
    if len(form.values[name]) > limit:
        form.error(name, f"{label}不超过{limit}字", "form.too_long")


def _chosen(upload: Any) -> bool:
    """A file input left empty still posts a part with no name and no content."""
    return isinstance(upload, UploadFile) and bool(upload.filename)


def _not_a_page_error(exc: DomainError) -> bool:
    """Refusals that are a page of their own (not found, not yours), not a form's error."""
    return isinstance(exc, NotFound | PermissionDenied)


class BidderDealPages(Pages):
    """A bidder's forms on the listing page after the hammer."""

    path = "/listings"
    guards = (allow("bidder"),)

    @post("/{listing_id:int}/objections", opt=FORM, request_max_body_size=UPLOAD_BODY)
    async def object(self, request: Req, listing_id: FromPath[int]) -> Response[Any]:
        """An objection with its reasons and, optionally, one file of evidence (checked before
        anything is written; more can be added through the API until it is decided)."""
        values = await posted_form(request)
        form = Form(values={"reasons": _text(values, "reasons")})
        _too_long(form, "reasons", "异议事实和理由", MAX_REASONS)
        if not form.ok:
            return await listing_page(request, listing_id, forms={"objection": form}, status=400)
        svc, who = services(request), actor(request)
        upload = values.get("evidence")
        try:
            checked = await checked_upload(svc, upload) if _chosen(upload) else None
            filed = await objections.file(
                svc.db, who, listing_id, reasons=form.values["reasons"], now=svc.now()
            )
            if checked is not None:
                await objections.attach_evidence(
                    svc.db, who, filed.id, file=checked, store=store(svc), now=svc.now()
                )
        except DomainError as exc:
            if _not_a_page_error(exc):
                raise
            form.fail(
                exc,
                {
                    "objection.reasons_required": "reasons",
                    "document": "evidence",
                    "request.too_large": "evidence",
                },
            )
            return await listing_page(
                request, listing_id, forms={"objection": form}, status=exc.status
            )
        return Redirect(f"/listings/{listing_id}?done=objection_filed#objections", status_code=303)

    @post("/{listing_id:int}/offer", opt=FORM)
    async def answer_offer(self, request: Req, listing_id: FromPath[int]) -> Response[Any]:
        """The runner-up accepts the offer, or declines it after saying so twice."""
        values = await posted_form(request)
        decision = values.get("decision")
        form = Form(values={"decision": decision or ""})
        if decision not in ("accept", "decline"):
            form.general = FieldError("请选择接受或放弃递补成交", "request.invalid")
            return await listing_page(request, listing_id, forms={"offer": form}, status=400)
        if decision == "decline" and values.get("confirm") != "1":
            return await listing_page(
                request, listing_id, forms={"offer": form}, confirm_decline=True
            )
        svc = services(request)
        accept = decision == "accept"
        try:
            await voiding.answer_offer(
                svc.db, actor(request), listing_id, accept=accept, now=svc.now()
            )
        except DomainError as exc:
            if _not_a_page_error(exc):
                raise
            form.fail(exc)
            return await listing_page(request, listing_id, forms={"offer": form}, status=exc.status)
        done = "offer_accepted" if accept else "offer_declined"
        return Redirect(f"/listings/{listing_id}?done={done}#deal", status_code=303)


class ReviewDealPages(Pages):
    """A reviewer's forms on their page of the listing after the hammer."""

    path = "/review"
    guards = (allow("reviewer"),)

    @post("/objections/{objection_id:int}/decision", opt=FORM)
    async def decide(self, request: Req, objection_id: FromPath[int]) -> Response[Any]:
        values = await posted_form(request)
        svc, who = services(request), actor(request)
        async with svc.db.read() as session:
            listing_id = await queries.objection_listing(session, who, objection_id)
        key = f"obj-{objection_id}"
        form = Form(
            values={"decision": values.get("decision") or "", "reason": _text(values, "reason")}
        )
        if form.values["decision"] not in ("uphold", "dismiss"):
            form.error("decision", "请选择维持异议或驳回异议", "request.invalid")
        _too_long(form, "reason", "处理意见和理由", MAX_REASONS)
        if not form.ok:
            return await review_page(request, listing_id, {key: form}, 400)
        uphold = form.values["decision"] == "uphold"
        try:
            await objections.decide(
                svc.db,
                who,
                objection_id,
                uphold=uphold,
                reason=form.values["reason"],
                now=svc.now(),
            )
        except DomainError as exc:
            if _not_a_page_error(exc):
                raise
            form.fail(exc, {"objection.decision_reason_required": "reason"})
            return await review_page(request, listing_id, {key: form}, exc.status)
        return redirect(
            f"/review/listings/{listing_id}",
            "objection_upheld" if uphold else "objection_dismissed",
        )

    @post("/listings/{listing_id:int}/default", opt=FORM)
    async def default(self, request: Req, listing_id: FromPath[int]) -> Response[Any]:
        """认定竞得人违约: the deposit is forfeited and the deal voided, so the page first shows
        what will follow and acts on the second, confirmed submission."""
        values = await posted_form(request)
        form = Form(values={"reason": values.get("reason") or "", "note": _text(values, "note")})
        if form.values["reason"] not in DEFAULT_REASONS_ZH:
            form.error("reason", "请选择违约情形", "request.invalid")
        _too_long(form, "note", "情况说明", MAX_NOTE)
        if not form.ok:
            return await review_page(request, listing_id, {"default": form}, 400)
        if values.get("confirm") != "1":
            return await review_page(request, listing_id, {"default": form}, confirm_default=True)
        svc = services(request)
        try:
            await voiding.record_default(
                svc.db,
                actor(request),
                listing_id,
                reason=cast(DefaultReason, form.values["reason"]),
                note=form.values["note"],
                now=svc.now(),
            )
        except DomainError as exc:
            if _not_a_page_error(exc):
                raise
            form.fail(exc, {"default.before_deadline": "reason"})
            return await review_page(request, listing_id, {"default": form}, exc.status)
        return redirect(f"/review/listings/{listing_id}", "defaulted")


#: Where each role follows a deal (the verification page's way back).
DEAL_PAGES = {
    "bidder": "/me/deals",
    "village": "/village/listings/{listing_id}",
    "reviewer": "/review/listings/{listing_id}",
    "regulator": "/oversight/listings/{listing_id}",
    "admin": "/oversight/listings/{listing_id}",
}


class ContractPages(Pages):
    """A contract's signature report in sentences, for its parties and staff inside the region
    (contracts.access decides: 404 for anyone else); the report as data stays a download."""

    path = "/contracts"
    guards = (allow(*PARTIES_AND_STAFF),)

    @get("/{contract_id:int}/verification")
    async def verification(self, request: Req, contract_id: FromPath[int]) -> Response[Any]:
        svc, who = services(request), actor(request)
        report = await verification(Deps.of(svc.db, svc.clock, svc.config), who, contract_id)
        async with svc.db.read() as session:
            contract = (await contract_access.load(session, who, contract_id)).contract
            listing = await session.get(Listing, contract.listing_id)
        assert listing is not None
        back = DEAL_PAGES.get(who.role, "/").format(listing_id=listing.id)
        return render(
            request,
            "contract_verification.html",
            title=f"签章验证报告：{contract.number}",
            contract=contract,
            listing=listing,
            readings=read_verification(report),
            validated_at=report.validated_at or None,
            back=back,
        )
