"""Exchange staff's pages: queues, review and announcement forms, qualification, deposits
confirmed by hand, auction pause/resume. Every decision goes through the services."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import msgspec
from litestar import Response, get, post
from litestar.params import FromPath

from app.pages import held_back, queries
from app.pages.common import FORM, Pages, Req, posted_form, redirect, render
from app.pages.forms import Form, local_datetime_field, money_field
from app.pages.review_warnings import card_warnings, listing_warning
from app.pages.timeline import listing_timeline
from auction import engine
from auction.book import BidBook
from auction.codes import MESSAGES_ZH, Code
from auction.models import Auction
from contracts.objections import list_for as list_objections
from core import settings as exchange_settings
from core.clock import CHINA_TZ, local_date
from core.errors import DomainError
from core.ids import mask_id_number, mask_phone
from core.web import actor, allow, services
from listings import payments, policy, qualification, reading, service
from listings import registration as reg
from listings.api import listing_view
from listings.payments import PAYMENT_PROBLEMS_ZH
from listings.policy import Facet
from listings.rules import first_timetable
from listings.schemas import AnnounceBody, ManualDeposit, RegistrationReviewBody, ReviewBody
from oversight import warnings


class ReviewPages(Pages):
    path = "/review"
    guards = (allow("reviewer"),)

    @get("/")
    async def queues(self, request: Req) -> Response[Any]:
        svc, who = services(request), actor(request)
        async with svc.db.read() as session:
            q = await queries.reviewer_queues(session, who, svc.now())
            # Open warnings on the registrations waiting for qualification, counted per row.
            flagged: dict[int, int] = {}
            for listing_id in sorted({r.listing_id for r, _, _ in q.to_qualify}):
                found, _ = await warnings.search(
                    session,
                    who,
                    kind=None,
                    state="open",
                    listing_id=listing_id,
                    limit=200,
                    offset=0,
                )
                for registration_id, concerns in warnings.by_registration(found).items():
                    flagged[registration_id] = len(concerns)
        return render(
            request,
            "review_index.html",
            title="审核工作台",
            q=q,
            flagged=flagged,
            mask_id=mask_id_number,
            mask_phone=mask_phone,
        )

    @get("/listings/{listing_id:int}")
    async def listing(self, request: Req, listing_id: FromPath[int]) -> Response[Any]:
        return await review_page(request, listing_id, {})

    @post("/listings/{listing_id:int}/review", opt=FORM)
    async def review(self, request: Req, listing_id: FromPath[int]) -> Response[Any]:
        values = await posted_form(request)
        form = Form(
            values={
                "decision": values.get("decision") or "",
                "reason": str(values.get("reason") or "").strip(),
            }
        )
        svc = services(request)
        try:
            body = msgspec.convert(form.values, ReviewBody)
        except msgspec.ValidationError:
            form.error("decision", "请选择受理或退回", "request.invalid")
            return await review_page(request, listing_id, {"review": form}, 400)
        try:
            async with svc.db.write() as session:
                listing = await service.review(session, actor(request), listing_id, body, svc.now())
                done = listing.state
        except DomainError as exc:
            form.fail(exc, {"review.reason_required": "reason"})
            return await review_page(request, listing_id, {"review": form}, exc.status)
        return redirect(f"/review/listings/{listing_id}", done)

    @post("/listings/{listing_id:int}/announce", opt=FORM)
    async def announce(self, request: Req, listing_id: FromPath[int]) -> Response[Any]:
        values = await posted_form(request)
        form = Form(
            values={
                k: str(values.get(k) or "") for k in ("registration_closes_at", "auction_starts_at")
            }
        )
        closes = local_datetime_field(form, "registration_closes_at", "报名截止时间")
        starts = local_datetime_field(form, "auction_starts_at", "竞价开始时间")
        if closes is None or starts is None:
            return await review_page(request, listing_id, {"announce": form}, 400)
        svc = services(request)
        try:
            async with svc.db.write() as session:
                settings = await exchange_settings.load(session)
                await service.announce(
                    session,
                    actor(request),
                    listing_id,
                    AnnounceBody(registration_closes_at=closes, auction_starts_at=starts),
                    settings,
                    svc.now(),
                )
        except DomainError as exc:
            form.fail(
                exc,
                {
                    "announce.closes_in_past": "registration_closes_at",
                    "announce.notice_too_short": "registration_closes_at",
                    "announce.auction_before_close": "auction_starts_at",
                    "time": "registration_closes_at",
                },
            )
            return await review_page(request, listing_id, {"announce": form}, exc.status)
        return redirect(f"/review/listings/{listing_id}", "announced")

    @post("/registrations/{registration_id:int}/review", opt=FORM)
    async def qualify(self, request: Req, registration_id: FromPath[int]) -> Response[Any]:
        values = await posted_form(request)
        svc, who = services(request), actor(request)
        form = Form(
            values={
                "decision": values.get("decision") or "",
                "reason": str(values.get("reason") or "").strip(),
                "priority": values.get("priority") or None,
            }
        )
        async with svc.db.read() as session:
            listing_id = (await reg.load_registration(session, who, registration_id)).listing_id
        try:
            body = msgspec.convert(form.values, RegistrationReviewBody)
            async with svc.db.write() as session:
                r = await qualification.review(session, who, registration_id, body, svc.now())
                done = r.state
        except msgspec.ValidationError:
            form.error("decision", "请选择通过或不予通过", "request.invalid")
            return await review_page(request, listing_id, {f"reg-{registration_id}": form}, 400)
        except DomainError as exc:
            form.fail(
                exc,
                {
                    "review.reason_required": "reason",
                    "review.priority_required": "priority",
                    "review.priority_proof_missing": "priority",
                    "review.not_priority_holder": "priority",
                },
            )
            return await review_page(
                request, listing_id, {f"reg-{registration_id}": form}, exc.status
            )
        return redirect(f"/review/listings/{listing_id}", done)

    @post("/registrations/{registration_id:int}/deposit", opt=FORM)
    async def deposit(self, request: Req, registration_id: FromPath[int]) -> Response[Any]:
        """A deposit seen on the bank statement when no callback came (staff confirm)."""
        values = await posted_form(request)
        svc, who = services(request), actor(request)
        form = Form(
            values={
                k: str(values.get(k) or "").strip()
                for k in ("amount", "bank_txn_id", "paid_at", "note")
            }
        )
        async with svc.db.read() as session:
            listing_id = (await reg.load_registration(session, who, registration_id)).listing_id
        key = f"dep-{registration_id}"
        amount = money_field(form, "amount", "到账金额")
        paid_at = local_datetime_field(form, "paid_at", "到账时间")
        if not form.values["bank_txn_id"]:
            form.error("bank_txn_id", "请填写银行流水号", "form.required")
        if not form.ok or amount is None or paid_at is None:
            return await review_page(request, listing_id, {key: form}, 400)
        try:
            body = ManualDeposit(
                amount_fen=amount,
                bank_txn_id=form.values["bank_txn_id"][:64],
                paid_at=paid_at,
                note=form.values["note"][:500],
            )
            answer = await payments.confirm_deposit(
                svc.db, who, registration_id, body, now=svc.now(), secret=svc.config.secret_key
            )
        except DomainError as exc:
            form.fail(exc)
            return await review_page(request, listing_id, {key: form}, exc.status)
        if answer.status >= 400:
            form.error("amount", str(answer.body.get("detail")), str(answer.body.get("code")))
            return await review_page(request, listing_id, {key: form}, answer.status)
        return redirect(f"/review/listings/{listing_id}", "deposit")

    @post("/auctions/{listing_id:int}/control", opt=FORM)
    async def control(self, request: Req, listing_id: FromPath[int]) -> Response[Any]:
        """Pause (technical fault) or resume, with the reason in the ledger."""
        values = await posted_form(request)
        form = Form(
            values={
                "reason": str(values.get("reason") or "").strip(),
                "action": values.get("action") or "",
            }
        )
        if not form.values["reason"]:
            form.error("reason", "请填写暂停或恢复的原因", "form.required")
        if form.values["action"] not in ("pause", "resume"):
            form.error("reason", "请选择暂停或恢复", "request.invalid")
        if not form.ok:
            return await review_page(request, listing_id, {"control": form}, 400)
        svc, who = services(request), actor(request)
        async with svc.db.read() as session:
            await reading.load(session, who, listing_id)  # jurisdiction: 404 outside it
        bids: BidBook = request.app.state.bids
        reason = form.values["reason"][:1000]
        pause = form.values["action"] == "pause"
        command = engine.Pause(reason) if pause else engine.Resume(reason)
        outcome = await bids.control(listing_id, who, command)
        if not outcome.accepted:
            assert outcome.code is not None
            form.error("reason", MESSAGES_ZH[Code(outcome.code)], outcome.code)
            return await review_page(request, listing_id, {"control": form}, 409)
        return redirect(
            f"/review/listings/{listing_id}",
            "paused" if form.values["action"] == "pause" else "resumed",
        )


def _default_times(settings: exchange_settings.ExchangeSettings, now: datetime) -> dict[str, str]:
    """The form's first suggestion: the earliest timetable the rules allow, at office hours."""
    closes, starts = first_timetable(
        now,
        settings.notice_period_working_days,
        settings.calendar(),
        day_ends=settings.business_day_ends,
        qualification_window=timedelta(minutes=settings.qualification_window_minutes),
    )
    local = "%Y-%m-%dT%H:%M"
    return {
        "registration_closes_at": closes.astimezone(CHINA_TZ).strftime(local),
        "auction_starts_at": starts.astimezone(CHINA_TZ).strftime(local),
    }


async def review_page(
    request: Req, listing_id: int, forms: dict[str, Form], status: int = 200, **extra: Any
) -> Response[Any]:
    """The reviewer's page of one listing, with any form re-shown with its errors."""
    svc, who = services(request), actor(request)
    async with svc.db.read() as session:
        visible = await reading.load(session, who, listing_id)
        state, village = visible.listing.state, visible.village
        policy.require(who, Facet.TIMELINE, state, village)  # staff of this region only
        documents = await reading.documents_of(session, listing_id)
        regs = await queries.registrations_with_bidders(session, listing_id)
        payments = await queries.payments_of(session, [r.id for r, _ in regs])
        show_names = policy.may_see(who, Facet.APPLICANTS, state, village)
        proofs = await qualification.documents_of(
            session, [r.id for r, _ in regs] if show_names else []
        )
        auction = await session.get(Auction, listing_id)
        timeline = await listing_timeline(session, who, visible, full=True)
        settings = await exchange_settings.load(session)
        deal, contract = await queries.deal_and_contract(
            session, who, listing_id, local_date(svc.now())
        )
        # The one-click qualification's block (_qualify_all.html), while registration is open.
        open_ = state == "announced"
        paid = await held_back.paid_applications(session, listing_id) if open_ else None
        # Warnings already found on these registrations, for the qualification cards.
        found, _ = await warnings.search(
            session, who, kind=None, state=None, listing_id=listing_id, limit=200, offset=0
        )
    names = {r.id: user.display_name for r, user in regs} if show_names else None
    cards = {
        registration_id: card_warnings(concerns, names)
        for registration_id, concerns in warnings.by_registration(found).items()
    }
    objections = (await list_objections(svc.db, who, listing_id)).items if deal else []
    forms.setdefault("announce", Form(values=_default_times(settings, svc.now())))
    # Staff see who applied, but which number is whose stays sealed until the auction ends.
    show_numbers = policy.may_see(who, Facet.IDENTITIES, state, village)
    return render(
        request,
        "review_listing.html",
        status=status,
        title=visible.listing.title,
        listing=listing_view(visible, who, documents),
        regs=regs,
        payments=payments,
        proofs=proofs,
        # The announcement's holders in full, to compare with a claimant (a hidden term).
        holders=visible.listing.terms.priority_holders,
        auction=auction,
        timeline=timeline,
        deal=deal,
        forms=forms,
        blank=Form(),
        show_numbers=show_numbers,
        show_names=show_names,
        mask_id=mask_id_number,
        mask_phone=mask_phone,
        now=svc.now(),
        contract=contract,
        notice_days=settings.notice_period_working_days,
        objections=objections,
        paid=paid,
        card_warnings=cards,
        payment_problems=PAYMENT_PROBLEMS_ZH,
        listing_warnings=[listing_warning(row) for row in found],
        **extra,
    )
