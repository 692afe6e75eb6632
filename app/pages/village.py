"""Village officials' pages: our listings, the entrustment form with documents, status timeline,
live view, deal summary. Every write goes through `listings.service`."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Response, get, post
from litestar.datastructures import UploadFile
from litestar.params import FromPath

from app.pages import draft_files, entrustment, queries
from app.pages.common import FORM, Pages, Req, posted_form, redirect, render
from app.pages.draft_files import KeptFile
from app.pages.forms import Form
from app.pages.next_step import village_next_step
from app.pages.timeline import listing_timeline
from auction.models import Auction
from core import settings as exchange_settings
from core.accounts import Actor
from core.clock import local_date
from core.errors import DomainError, InvalidInput, NotFound, RuleViolation
from core.settings import ExchangeSettings
from core.web import actor, allow, services
from listings import policy, reading, service
from listings.api import checked_upload, listing_view, store
from listings.documents import MAX_PHOTO, MAX_UPLOAD, CheckedFile, check_kind, document_kind
from listings.rules import EDITABLE, ListingState, ensure_editable
from listings.schemas import (
    CATEGORY_NAMES_ZH,
    MEETING_KINDS_ZH,
    DocumentKind,
    ListingCreate,
    ListingUpdate,
)

#: A document of the form: its kind and the checked file.
Upload = tuple[DocumentKind, CheckedFile]
#: Three documents and a photo of a form, and its fields (deploy/nginx.conf.template allows as
#: much).
UPLOAD_BODY_LIMIT = 3 * MAX_UPLOAD + MAX_PHOTO + 256 * 1024


async def _uploads(request: Req, values: dict[str, Any], form: Form) -> list[Upload]:
    """The listing page's file, checked by content before anything is written; a refused
    file is named on its field."""
    upload = values.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return []
    try:
        kind = document_kind(values.get("kind") or "other")
        checked = await checked_upload(services(request), upload)
        check_kind(kind, checked)  # a photo: JPEG or PNG, 5 MB at most
        return [(kind, checked)]
    except DomainError as exc:
        form.error("file", exc.message, exc.code)
        return []


async def _form_files(request: Req, values: dict[str, Any], form: Form) -> dict[str, KeptFile]:
    """The entrustment form's files: each newly chosen file checked and kept; a file kept by
    an earlier submission of the form stays unless replaced or dropped. A refused file is
    named on its input, saying whether it must be chosen again."""
    svc, who = services(request), actor(request)
    secret, box = svc.config.secret_key, store(svc)
    out: dict[str, KeptFile] = {}
    for field in entrustment.DOCUMENT_INPUTS:
        before = None
        if not values.get(f"drop_{field}"):
            before = draft_files.kept(secret, box, who.id, field, values.get(f"kept_{field}"))
        upload = values.get(field)
        if isinstance(upload, UploadFile) and upload.filename:
            try:
                checked = await checked_upload(svc, upload)
                check_kind(document_kind(entrustment.DOCUMENT_INPUTS[field]), checked)
                out[field] = draft_files.keep(secret, box, who.id, field, checked)
                continue
            except DomainError as exc:
                then = (
                    f"仍保留先前上传的“{before.filename}”，也可以重新选择"
                    if before
                    else "请重新选择文件"
                )
                form.error(field, f"“{upload.filename}”未能上传：{exc.message}。{then}", exc.code)
        if before is not None:
            out[field] = before
    return out


async def _store_documents(
    request: Req, session: Any, who: Actor, listing_id: int, files: list[Upload]
) -> None:
    svc = services(request)
    for kind, file in files:
        await service.add_document(
            session, who, listing_id, kind=kind, file=file, store=store(svc), now=svc.now()
        )


class VillagePages(Pages):
    path = "/village"
    guards = (allow("village"),)

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
                "on_default": "relist",
            }
        )
        return self._form(request, form, settings, None)

    def _form(
        self,
        request: Req,
        form: Form,
        settings: ExchangeSettings,
        listing: Any,
        status: int = 200,
        kept: dict[str, KeptFile] | None = None,
    ) -> Response[Any]:
        return render(
            request,
            "village_form.html",
            status=status,
            title="修改委托" if listing else "新建委托",
            form=form,
            listing=listing,
            settings=settings,
            deposit_rule=entrustment.deposit_rule_text(settings),
            max_term=settings.max_term_years,
            relist_floor=settings.relist_price_floor_percent,
            document_inputs=entrustment.DOCUMENT_INPUTS,
            kept=kept or {},
            field_labels=entrustment.FIELD_LABELS,
            AUCTION_MODES=entrustment.AUCTION_MODES,
            ESCALATION_KINDS=entrustment.ESCALATION_KINDS,
            meeting_kinds=MEETING_KINDS_ZH,
            attendance_bases=entrustment.ATTENDANCE_BASES,
            optional_categories="、".join(
                CATEGORY_NAMES_ZH[c] for c in settings.resolution_optional_categories
            ),
        )

    @post("/listings/new", opt=FORM, request_max_body_size=UPLOAD_BODY_LIMIT)
    async def create(self, request: Req) -> Response[Any]:
        """The entrustment saved as a draft with its files, or the form again with every
        error at once and the files it accepted kept."""
        values = await posted_form(request)
        svc, who = services(request), actor(request)
        form = Form(values={k: v for k, v in values.items() if isinstance(v, str)})
        async with svc.db.read() as session:
            settings = await exchange_settings.load(session)
        kept = await _form_files(request, values, form)
        reading = entrustment.read_entrustment(form, settings, local_date(svc.now()))
        if reading.body is None or not form.ok:
            return self._form(request, form, settings, None, reading.status, kept)
        files = [
            (document_kind(entrustment.DOCUMENT_INPUTS[field]), file.checked(store(svc)))
            for field, file in kept.items()
        ]
        try:
            async with svc.db.write() as session:
                settings = await exchange_settings.load(session)
                listing = await service.create(
                    session, who, msgspec.convert(reading.body, ListingCreate), settings, svc.now()
                )
                await _store_documents(request, session, who, listing.id, files)
                listing_id = listing.id
        except DomainError as exc:
            form.fail(exc, entrustment.SERVICE_FIELDS)
            return self._form(request, form, settings, None, exc.status, kept)
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
        return self._form(
            request, entrustment.form_from_listing(visible.listing), settings, visible.listing
        )

    @post("/listings/{listing_id:int}/edit", opt=FORM)
    async def update(self, request: Req, listing_id: FromPath[int]) -> Response[Any]:
        values = await posted_form(request)
        svc, who = services(request), actor(request)
        form = Form(values={k: v for k, v in values.items() if isinstance(v, str)})
        async with svc.db.read() as session:
            visible = await _own(session, who, listing_id)
            settings = await exchange_settings.load(session)
        reading = entrustment.read_entrustment(form, settings, local_date(svc.now()))
        if reading.body is None:
            return self._form(request, form, settings, visible.listing, reading.status)
        entrustment.keep_formless_terms(reading.body, visible.listing.terms)
        try:
            async with svc.db.write() as session:
                settings = await exchange_settings.load(session)
                await service.update(
                    session,
                    who,
                    listing_id,
                    msgspec.convert(reading.body, ListingUpdate),
                    settings,
                    svc.now(),
                )
        except DomainError as exc:
            form.fail(exc, entrustment.SERVICE_FIELDS)
            return self._form(request, form, settings, visible.listing, status=exc.status)
        return redirect(f"/village/listings/{listing_id}", "updated")

    @post("/listings/{listing_id:int}/documents", opt=FORM, request_max_body_size=UPLOAD_BODY_LIMIT)
    async def upload(self, request: Req, listing_id: FromPath[int]) -> Response[Any]:
        values = await posted_form(request)
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
        """Submitted, or the listing's page again saying what is missing (the resolution,
        its document, a price reason)."""
        try:
            return await self._act(request, listing_id, service.submit, "submitted")
        except (RuleViolation, InvalidInput) as exc:
            form = Form(values={"kind": "village_resolution"})
            return await _manage(request, listing_id, form, exc.status, submit_error=exc)

    @post("/listings/{listing_id:int}/withdraw", opt=FORM)
    async def withdraw(self, request: Req, listing_id: FromPath[int]) -> Response[Any]:
        return await self._act(request, listing_id, service.withdraw, "withdrawn")

    @post("/listings/{listing_id:int}/relist", opt=FORM)
    async def relist(self, request: Req, listing_id: FromPath[int]) -> Response[Any]:
        return await self._act(request, listing_id, service.relist, "relisted")

    async def _act(self, request: Req, listing_id: int, use_case: Any, done: str) -> Response[Any]:
        await posted_form(request)  # the CSRF check
        svc, who = services(request), actor(request)
        async with svc.db.write() as session:
            listing = await use_case(session, who, listing_id, svc.now())
            target = listing.id
        return redirect(f"/village/listings/{target}", done)


async def _manage(
    request: Req,
    listing_id: int,
    upload_form: Form,
    status: int = 200,
    submit_error: DomainError | None = None,
    **extra: Any,
) -> Response[Any]:
    """The listing's page for its village: state, terms, documents, timeline, deal."""
    who = actor(request)
    async with services(request).db.read() as session:
        visible = await _own(session, who, listing_id)
        documents = await reading.documents_of(session, listing_id)
        auction = await session.get(Auction, listing_id)
        timeline = await listing_timeline(session, who, visible, full=False)
        deal, contract = await queries.deal_and_contract(
            session, who, listing_id, local_date(services(request).now())
        )
    state = ListingState(visible.listing.state)
    shown = listing_view(visible, who, documents)
    return render(
        request,
        "village_listing.html",
        status=status,
        title=visible.listing.title,
        listing=shown,
        next_step=village_next_step(shown, auction, deal, contract, services(request).now()),
        auction=auction,
        timeline=timeline,
        deal=deal,
        editable=state in EDITABLE,
        can_relist=state is ListingState.FAILED,
        sign_as="村集体",
        contract=contract,
        upload_form=upload_form,
        submit_error=submit_error,
        **extra,
    )


async def village_page(request: Req, listing_id: int, status: int, **extra: Any) -> Response[Any]:
    """The village's page of a listing re-shown, e.g. with a rent form's errors."""
    return await _manage(request, listing_id, Form(), status, **extra)


async def _own(session: Any, who: Actor, listing_id: int) -> reading.Visible:
    """The listing if it is this village's (404 otherwise, like the API)."""
    visible = await reading.load(session, who, listing_id)
    if not policy.acts_for(who, visible.village):
        raise NotFound("listing.not_found", "挂牌项目不存在")
    return visible
