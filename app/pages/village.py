"""Village officials' pages: our listings, the entrustment form with documents, status timeline,
live view, deal summary. Every write goes through `listings.service`."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.params import FromPath

from app.pages import queries
from app.pages.common import FORM, PAGE_ERRORS, check_form_csrf, form_values, redirect, render
from app.pages.forms import Form, int_field, money_field, validation_field
from app.pages.labels import yuan
from auction.models import Auction
from contracts import economics
from contracts.deals import load_deal
from core import settings as exchange_settings
from core.accounts import Actor
from core.errors import DomainError, NotFound
from core.money import apply_percent, format_percent
from core.settings import ExchangeSettings
from core.web import actor, allow, services
from listings import policy, service
from listings.api import checked_upload, listing_view, store
from listings.documents import MAX_UPLOAD, CheckedFile, document_kind
from listings.policy import Facet
from listings.rules import EDITABLE, ListingState, ensure_editable
from listings.schemas import DocumentKind, ListingCreate, ListingUpdate

Req = Request[Any, Any, Any]
#: A document of the form: its kind and the checked file.
Upload = tuple[DocumentKind, CheckedFile]
#: Three files of a form and its fields (deploy/nginx.conf.template allows as much).
UPLOAD_BODY_LIMIT = 3 * MAX_UPLOAD + 256 * 1024

#: Form field of each wire field, so a validation error lands next to the right input.
WIRE_TO_FORM = {
    "listing_price_fen": "listing_price",
    "increment_fen": "increment",
    "deposit_fen": "deposit",
    "reserve_fen": "reserve",
    "every_years": "escalation_every_years",
    "percent": "escalation_percent",
}
FIELD_HINTS = {
    "title": "请填写项目名称（1–200 字）",
    "category": "请选择资产类别",
    "location": "请填写资产坐落位置（1–200 字）",
    "area": "面积应为数字，最多4位小数",
    "area_unit": "请选择面积单位",
    "description": "资产现状描述不超过5000字",
    "listing_price": "挂牌价应大于0",
    "increment": "加价幅度应大于0",
    "term_years": "流转期限应为1至70年",
    "max_steps": "每次最多加价档数应为1至100",
    "deposit": "保证金金额有误",
    "reserve": "保留价金额有误",
    "escalation_every_years": "递增周期应为1至30年",
    "escalation_percent": "递增比例应为0至100",
    "rent_free_months": "免租期应为0至120个月",
    "permitted_use": "用途要求不超过500字",
    "price_unit": "请选择计价单位",
    "payment": "请选择支付方式",
}
SERVICE_FIELDS = {
    "terms.term_too_long": "term_years",
    "terms.reserve_below_start": "reserve",
    "document": "documents",
}
DOCUMENT_INPUTS = ("village_resolution", "ownership_proof", "appraisal")


def default_deposit_fen(settings: ExchangeSettings, terms: dict[str, Any]) -> int:
    """The deposit the exchange's rule gives when the entrustment names none.

    The rule is a setting (fixed sum, or a share of the listing total over the term);
    applying it belongs in `listings` — until a service does, the page does it here.
    """
    rule = settings.deposit_rule
    if rule.kind == "fixed":
        return rule.fixed_fen
    escalation = terms.get("escalation")
    total = economics.contract_value_fen(
        economics.rent_schedule(
            terms["listing_price_fen"],
            terms["price_unit"],
            Fraction(terms["area"]) if terms.get("area") else None,
            terms["term_years"],
            terms["payment"],
            economics.Escalation(escalation["every_years"], Fraction(escalation["percent"]))
            if escalation
            else None,
            terms.get("rent_free_months", 0),
        )
    )
    return apply_percent(total, Fraction(rule.basis_points, 100))


def deposit_rule_text(settings: ExchangeSettings) -> str:
    rule = settings.deposit_rule
    if rule.kind == "fixed":
        return f"固定金额 {yuan(rule.fixed_fen)}"
    return f"挂牌总价（挂牌价 × 期限）的 {format_percent(Fraction(rule.basis_points, 10000))}%"


def _read_entrustment(form: Form, settings: ExchangeSettings) -> dict[str, Any] | None:
    """The form as a ListingCreate body (wire shape), or None with errors placed."""
    v = form.values
    price = money_field(form, "listing_price", "挂牌价")
    increment = money_field(form, "increment", "加价幅度")
    deposit = money_field(form, "deposit", "保证金", required=False)
    reserve = money_field(form, "reserve", "保留价", required=False)
    term_years = int_field(form, "term_years", "流转期限", minimum=1, maximum=70)
    max_steps = int_field(
        form, "max_steps", "每次最多加价档数", required=False, minimum=1, maximum=100
    )
    rent_free = int_field(
        form, "rent_free_months", "免租期", required=False, minimum=0, maximum=120
    )
    every = int_field(
        form, "escalation_every_years", "递增周期", required=False, minimum=1, maximum=30
    )
    percent = str(v.get("escalation_percent") or "").strip()
    area = str(v.get("area") or "").strip() or None
    if v.get("price_unit") == "per_mu_year" and v.get("area_unit") != "mu":
        form.error("area_unit", "按“元/亩/年”计价时，面积单位须为亩", "terms.area_unit")
    if bool(every) != bool(percent):
        form.error(
            "escalation_percent" if every else "escalation_every_years",
            "租金递增须同时填写递增周期和递增比例",
            "terms.escalation",
        )
    if not form.ok:
        return None
    terms: dict[str, Any] = {
        "listing_price_fen": price,
        "price_unit": v.get("price_unit") or "per_year",
        "term_years": term_years,
        "payment": v.get("payment") or "annual",
        "increment_fen": increment,
        "rent_free_months": rent_free or 0,
    }
    if max_steps is not None:
        terms["max_steps"] = max_steps
    if reserve is not None:
        terms["reserve_fen"] = reserve
    if every and percent:
        terms["escalation"] = {"every_years": every, "percent": percent}
    if terms["price_unit"] == "per_mu_year":
        terms["area"] = area
    if str(v.get("permitted_use") or "").strip():
        terms["permitted_use"] = str(v["permitted_use"]).strip()
    body: dict[str, Any] = {
        "title": str(v.get("title") or "").strip(),
        "category": v.get("category") or "",
        "location": str(v.get("location") or "").strip(),
        "area": area,
        "area_unit": v.get("area_unit") or None,
        "description": str(v.get("description") or "").strip(),
        "terms": terms,
    }
    if deposit is None:
        try:
            terms["deposit_fen"] = default_deposit_fen(settings, terms)
        except (ValueError, TypeError, KeyError, ZeroDivisionError):
            terms["deposit_fen"] = 0  # the validation below names the real problem
        form.values["deposit"] = yuan(terms["deposit_fen"], symbol=False)
    else:
        terms["deposit_fen"] = deposit
    try:
        msgspec.convert(body, ListingCreate)
    except msgspec.ValidationError as exc:
        text = str(exc)
        if "per_mu_year" in text:
            form.error("area", "按“元/亩/年”计价时须填写面积（亩）", "terms.area")
        elif "rent_free_months" in text:
            form.error("rent_free_months", "免租期须短于流转期限", "terms.rent_free")
        else:
            name = validation_field(exc) or "title"
            name = WIRE_TO_FORM.get(name, name)
            form.error(name, FIELD_HINTS.get(name, "输入有误"), "request.invalid")
        return None
    return body


def _form_from_listing(listing: Any) -> Form:
    t = listing.terms
    esc = t.get("escalation") or {}
    return Form(
        values={
            "title": listing.title,
            "category": listing.category,
            "location": listing.location,
            "area": listing.area or "",
            "area_unit": listing.area_unit or "",
            "description": listing.description,
            "listing_price": yuan(t["listing_price_fen"], False),
            "price_unit": t.get("price_unit", "per_year"),
            "term_years": t["term_years"],
            "payment": t.get("payment", "annual"),
            "increment": yuan(t["increment_fen"], False),
            "max_steps": t.get("max_steps") or "",
            "deposit": yuan(t["deposit_fen"], False),
            "reserve": yuan(t["reserve_fen"], False) if t.get("reserve_fen") is not None else "",
            "escalation_every_years": esc.get("every_years", ""),
            "escalation_percent": esc.get("percent", ""),
            "rent_free_months": t.get("rent_free_months") or "",
            "permitted_use": t.get("permitted_use") or "",
        }
    )


async def _uploads(request: Req, values: dict[str, Any], form: Form) -> list[Upload]:
    """Files of the form, checked by content before anything is written; a refused file is
    named on its own field."""
    svc = services(request)
    out = []
    for field in (*DOCUMENT_INPUTS, "file"):
        upload = values.get(field)
        if not isinstance(upload, UploadFile) or not upload.filename:
            continue
        try:
            kind = document_kind(field if field != "file" else values.get("kind") or "other")
            out.append((kind, await checked_upload(svc, upload)))
        except DomainError as exc:
            form.error(field, exc.message, exc.code)
    return out


async def _store_documents(
    request: Req, session: Any, who: Actor, listing_id: int, files: list[Upload]
) -> None:
    svc = services(request)
    for kind, file in files:
        await service.add_document(
            session, who, listing_id, kind=kind, file=file, store=store(svc), now=svc.now()
        )


class VillagePages(Controller):
    path = "/village"
    guards = (allow("village"),)
    exception_handlers = PAGE_ERRORS
    include_in_schema = False

    @get("/")
    async def index(self, request: Req) -> Response[Any]:
        who = actor(request)
        async with services(request).db.read() as session:
            rows = await queries.village_listings(session, who)
        return render(
            request,
            "village_listings.html",
            title="本村委托",
            rows=rows,
            village=who.region.path if who.region else "",
        )

    @get("/listings/new")
    async def new(self, request: Req) -> Response[Any]:
        async with services(request).db.read() as session:
            settings = await exchange_settings.load(session)
        form = Form(
            values={
                "category": "collective_operating_assets",
                "price_unit": "per_year",
                "payment": "annual",
                "area_unit": "square_meter",
                "max_steps": settings.max_steps,
            }
        )
        return self._form(request, form, settings, None)

    def _form(
        self, request: Req, form: Form, settings: ExchangeSettings, listing: Any, status: int = 200
    ) -> Response[Any]:
        return render(
            request,
            "village_form.html",
            status=status,
            title="修改委托" if listing else "新建委托",
            form=form,
            listing=listing,
            deposit_rule=deposit_rule_text(settings),
            max_term=settings.max_term_years,
            document_inputs=DOCUMENT_INPUTS,
        )

    @post("/listings/new", opt=FORM, request_max_body_size=UPLOAD_BODY_LIMIT)
    async def create(self, request: Req) -> Response[Any]:
        values = await form_values(request)
        check_form_csrf(request, values)
        svc, who = services(request), actor(request)
        form = Form(values={k: v for k, v in values.items() if isinstance(v, str)})
        async with svc.db.read() as session:
            settings = await exchange_settings.load(session)
        files = await _uploads(request, values, form)
        body = _read_entrustment(form, settings)
        if body is None or not form.ok:
            return self._form(request, form, settings, None, status=400)
        try:
            async with svc.db.write() as session:
                settings = await exchange_settings.load(session)
                listing = await service.create(
                    session, who, msgspec.convert(body, ListingCreate), settings, svc.now()
                )
                await _store_documents(request, session, who, listing.id, files)
                listing_id = listing.id
        except DomainError as exc:
            form.fail(exc, SERVICE_FIELDS)
            return self._form(request, form, settings, None, status=exc.status)
        return redirect(f"/village/listings/{listing_id}", "created")

    @get("/listings/{listing_id:int}")
    async def show(self, request: Req, listing_id: FromPath[int]) -> Response[Any]:
        return await _manage(request, listing_id, Form(values={"kind": "village_resolution"}))

    @get("/listings/{listing_id:int}/edit")
    async def edit(self, request: Req, listing_id: FromPath[int]) -> Response[Any]:
        who = actor(request)
        async with services(request).db.read() as session:
            visible = await _own(session, who, listing_id)
            settings = await exchange_settings.load(session)
        # A form that could only fail is not offered: the terms are frozen once submitted.
        ensure_editable(ListingState(visible.listing.state))
        return self._form(request, _form_from_listing(visible.listing), settings, visible.listing)

    @post("/listings/{listing_id:int}/edit", opt=FORM)
    async def update(self, request: Req, listing_id: FromPath[int]) -> Response[Any]:
        values = await form_values(request)
        check_form_csrf(request, values)
        svc, who = services(request), actor(request)
        form = Form(values={k: v for k, v in values.items() if isinstance(v, str)})
        async with svc.db.read() as session:
            visible = await _own(session, who, listing_id)
            settings = await exchange_settings.load(session)
        body = _read_entrustment(form, settings)
        if body is None:
            return self._form(request, form, settings, visible.listing, status=400)
        try:
            async with svc.db.write() as session:
                settings = await exchange_settings.load(session)
                await service.update(
                    session,
                    who,
                    listing_id,
                    msgspec.convert(body, ListingUpdate),
                    settings,
                    svc.now(),
                )
        except DomainError as exc:
            form.fail(exc, SERVICE_FIELDS)
            return self._form(request, form, settings, visible.listing, status=exc.status)
        return redirect(f"/village/listings/{listing_id}", "updated")

    @post("/listings/{listing_id:int}/documents", opt=FORM, request_max_body_size=UPLOAD_BODY_LIMIT)
    async def upload(self, request: Req, listing_id: FromPath[int]) -> Response[Any]:
        values = await form_values(request)
        check_form_csrf(request, values)
        svc, who = services(request), actor(request)
        form = Form(values={"kind": values.get("kind") or "other"})
        files = await _uploads(request, values, form)
        if form.ok and not files:
            form.error("file", "请选择要上传的文件", "document.file_required")
        if form.ok:
            try:
                async with svc.db.write() as session:
                    await _store_documents(request, session, who, listing_id, files)
            except DomainError as exc:
                form.fail(exc, {"document": "file", "listing": "file"})
        if not form.ok:
            return await _manage(request, listing_id, form, status=400)
        return redirect(f"/village/listings/{listing_id}", "uploaded")

    @post("/listings/{listing_id:int}/submit", opt=FORM)
    async def submit(self, request: Req, listing_id: FromPath[int]) -> Response[Any]:
        return await self._act(request, listing_id, service.submit, "submitted")

    @post("/listings/{listing_id:int}/withdraw", opt=FORM)
    async def withdraw(self, request: Req, listing_id: FromPath[int]) -> Response[Any]:
        return await self._act(request, listing_id, service.withdraw, "withdrawn")

    @post("/listings/{listing_id:int}/relist", opt=FORM)
    async def relist(self, request: Req, listing_id: FromPath[int]) -> Response[Any]:
        return await self._act(request, listing_id, service.relist, "relisted")

    async def _act(self, request: Req, listing_id: int, use_case: Any, done: str) -> Response[Any]:
        values = await form_values(request)
        check_form_csrf(request, values)
        svc, who = services(request), actor(request)
        async with svc.db.write() as session:
            listing = await use_case(session, who, listing_id, svc.now())
            target = listing.id
        return redirect(f"/village/listings/{target}", done)


async def _manage(
    request: Req, listing_id: int, upload_form: Form, status: int = 200
) -> Response[Any]:
    """The listing's page for its village: state, terms, documents, timeline, deal."""
    who = actor(request)
    async with services(request).db.read() as session:
        visible = await _own(session, who, listing_id)
        documents = await service.documents_of(session, listing_id)
        auction = await session.get(Auction, listing_id)
        timeline = await queries.timeline(
            session,
            listing_id,
            full=False,
            registrations_shown=policy.may_see(
                who, Facet.REGISTRATION_COUNT, visible.listing.state, visible.village
            ),
        )
        try:
            deal = await load_deal(session, who, listing_id)
        except NotFound:
            deal = None
        contract = await queries.contract_summary(
            session, who, deal["contract_id"] if deal else None
        )
    state = ListingState(visible.listing.state)
    return render(
        request,
        "village_listing.html",
        status=status,
        title=visible.listing.title,
        listing=listing_view(visible, who, documents),
        auction=auction,
        timeline=timeline,
        deal=deal,
        editable=state in EDITABLE,
        can_relist=state is ListingState.FAILED,
        contracts=queries.contract_routes(request.app),
        sign_as="村集体",
        contract=contract,
        upload_form=upload_form,
    )


async def _own(session: Any, who: Actor, listing_id: int) -> service.Visible:
    """The listing if it is this village's (404 otherwise, like the API)."""
    visible = await service.load(session, who, listing_id)
    if not policy.acts_for(who, visible.village):
        raise NotFound("listing.not_found", "挂牌项目不存在")
    return visible
