"""Rent on the deal's pages (docs/domain.md §7): the lessor village's officials and the
region's reviewers record rent received (with the receipt number and, optionally, its scan)
and waivers, by the same services as the API (`contracts.rent`). The schedule itself is shown
with the deal (`app/templates/_rent.html`)."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from litestar import Response, post
from litestar.datastructures import UploadFile
from litestar.params import FromPath

from app.pages.common import FORM, Pages, Req, posted_form, redirect
from app.pages.forms import Form, date_field, money_field
from app.pages.review import review_page
from app.pages.village import village_page
from contracts import rent
from contracts.models import RentItem
from core.accounts import Actor
from core.clock import CHINA_TZ
from core.errors import DomainError, NotFound, PermissionDenied
from core.web import actor, allow, services
from listings.api import checked_upload, store
from listings.documents import UPLOAD_BODY

MAX_RECEIPT_NUMBER = 64
MAX_REASON = 2000


def _text(values: dict[str, Any], name: str) -> str:
    return str(values.get(name) or "").strip()


async def _listing_of(request: Req, item_id: int) -> int:
    async with services(request).db.read() as session:
        item = await session.get(RentItem, item_id)
    if item is None:
        raise NotFound("rent.not_found", "租金期次不存在")
    return item.listing_id


async def _back(
    request: Req, who: Actor, listing_id: int, item_id: int, form: Form, status: int
) -> Response[Any]:
    """The page the form came from, with the form's errors next to its item."""
    forms = {item_id: form}
    if who.role == "village":
        return await village_page(request, listing_id, status, rent_forms=forms)
    return await review_page(request, listing_id, {}, status, rent_forms=forms)


def _done(who: Actor, listing_id: int, done: str) -> Response[Any]:
    page = "village" if who.role == "village" else "review"
    return redirect(f"/{page}/listings/{listing_id}", done)


class RentPages(Pages):
    path = "/rent-items"
    guards = (allow("village", "reviewer"),)

    @post("/{item_id:int}/payments", opt=FORM, request_max_body_size=UPLOAD_BODY)
    async def record(self, request: Req, item_id: FromPath[int]) -> Response[Any]:
        values = await posted_form(request)
        svc, who = services(request), actor(request)
        listing_id = await _listing_of(request, item_id)
        form = Form(
            values={
                "action": "pay",
                "amount": _text(values, "amount"),
                "paid_on": _text(values, "paid_on"),
                "receipt_number": _text(values, "receipt_number"),
            }
        )
        amount = money_field(form, "amount", "收款金额")
        paid_on = date_field(form, "paid_on", "收款日期")
        number = form.values["receipt_number"]
        if not number:
            form.error("receipt_number", "请填写收据编号", "rent.receipt_required")
        elif len(number) > MAX_RECEIPT_NUMBER:
            form.error("receipt_number", "收据编号不超过64字", "form.too_long")
        if not form.ok or amount is None or paid_on is None:
            return await _back(request, who, listing_id, item_id, form, 400)
        upload = values.get("receipt")
        try:
            chosen = isinstance(upload, UploadFile) and bool(upload.filename)
            receipt = await checked_upload(svc, upload) if chosen else None
            await rent.record_staff_payment(
                svc.db,
                who,
                item_id,
                amount_fen=amount,
                paid_at=datetime.combine(paid_on, time(12), tzinfo=CHINA_TZ),
                receipt_number=number,
                receipt=receipt,
                store=store(svc),
                now=svc.now(),
            )
        except DomainError as exc:
            if isinstance(exc, NotFound | PermissionDenied):
                raise
            form.fail(
                exc,
                {
                    "rent.overpaid": "amount",
                    "rent.amount_invalid": "amount",
                    "rent.paid_at_future": "paid_on",
                    "rent.duplicate_receipt": "receipt_number",
                    "document": "receipt",
                    "request.too_large": "receipt",
                },
            )
            return await _back(request, who, listing_id, item_id, form, exc.status)
        return _done(who, listing_id, "rent_recorded")

    @post("/{item_id:int}/waive", opt=FORM)
    async def waive(self, request: Req, item_id: FromPath[int]) -> Response[Any]:
        values = await posted_form(request)
        svc, who = services(request), actor(request)
        listing_id = await _listing_of(request, item_id)
        form = Form(values={"action": "waive", "reason": _text(values, "reason")})
        if not form.values["reason"]:
            form.error("reason", "请填写减免理由（村集体的决定）", "rent.waive_reason_required")
        elif len(form.values["reason"]) > MAX_REASON:
            form.error("reason", f"减免理由不超过{MAX_REASON}字", "form.too_long")
        if not form.ok:
            return await _back(request, who, listing_id, item_id, form, 400)
        try:
            await rent.waive(svc.db, who, item_id, reason=form.values["reason"], now=svc.now())
        except DomainError as exc:
            if isinstance(exc, NotFound | PermissionDenied):
                raise
            form.fail(exc)
            return await _back(request, who, listing_id, item_id, form, exc.status)
        return _done(who, listing_id, "rent_waived")
