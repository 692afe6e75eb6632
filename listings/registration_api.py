"""Controllers of applications, deposits and qualification: a bidder applies and proves a
priority claim; staff list applicants, confirm deposits and decide; the bank reports payments."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, JSONBody, MultipartBody
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.accounts import Actor
from core.clock import iso
from core.errors import InvalidInput, NotAuthenticated, NotFound
from core.ids import mask_id_number, mask_phone
from core.problems import PROBLEM
from core.web import PUBLIC, actor, allow, client_ip, services
from listings import payments, policy, qualification, reading
from listings import registration as reg
from listings.api import _attachment, checked_upload, document_view, store
from listings.documents import UPLOAD_BODY
from listings.models import Listing, Registration, RegistrationDocument
from listings.policy import Facet
from listings.schemas import (
    BidderIdentity,
    DocumentOut,
    ManualDeposit,
    PaymentAccepted,
    PaymentCallback,
    RegistrationBody,
    RegistrationOut,
    RegistrationPage,
    RegistrationReviewBody,
)

log = logging.getLogger("ruralx.listings")


def registration_view(
    r: Registration,
    *,
    bidder: BidderIdentity | None = None,
    show_number: bool = True,
    documents: list[RegistrationDocument] | None = None,
    publicity_ends_at: datetime | None = None,
) -> RegistrationOut:
    """A registration; `show_number` False leaves out the bidder number (the staff's view
    while identities are sealed: docs/security.md)."""
    return RegistrationOut(
        id=r.id,
        listing_id=r.listing_id,
        state=r.state,
        deposit_fen=r.deposit_fen,
        deposit_state=r.deposit_state,
        payment_reference=r.payment_reference,
        bidder_number=r.bidder_number if show_number else None,
        priority_holder=r.priority_holder,
        priority_claim=r.priority_claim,
        reason=r.reason,
        bidder=bidder,
        documents=[document_view(d) for d in documents or []],
        refund_due_at=iso(r.refund_due_at),
        publicity_ends_at=iso(publicity_ends_at),
    )


async def apply_from(
    request: Request[Any, Any, Any], session: AsyncSession, listing_id: int, claim_priority: bool
) -> Registration:
    """The signed-in bidder applies, from the address and device of this request (kept for
    the regulators' same-address and same-device warnings)."""
    return await reg.apply(
        session,
        actor(request),
        listing_id,
        services(request).now(),
        ip=client_ip(request),
        user_agent=request.headers.get("user-agent"),
        claim_priority=claim_priority,
    )


class ListingRegistrationController(Controller):
    """Applications to one listing: a bidder applies; staff list who applied."""

    path = "/api/v1/listings"

    @post("/{listing_id:int}/registrations", guards=[allow("bidder")], status_code=201)
    async def register(
        self,
        request: Request[Any, Any, Any],
        listing_id: FromPath[int],
        data: JSONBody[RegistrationBody],
    ) -> RegistrationOut:
        async with services(request).db.write() as session:
            registration = await apply_from(request, session, listing_id, data.claim_priority)
            return registration_view(registration)

    @get("/{listing_id:int}/registrations", guards=[allow("reviewer", "regulator", "admin")])
    async def registrations(
        self, request: Request[Any, Any, Any], listing_id: FromPath[int]
    ) -> RegistrationPage:
        who = actor(request)
        async with services(request).db.read() as session:
            visible = await reading.load(session, who, listing_id)
            state, village = visible.listing.state, visible.village
            policy.require(who, Facet.REGISTRATIONS, state, village)
            rows = await reg.registrations_of(session, listing_id)
            bidders = await reg.bidders_of(session, rows)
            # Names to qualify applicants, numbers to run the auction: both only after the end.
            names = policy.may_see(who, Facet.APPLICANTS, state, village)
            numbers = policy.may_see(who, Facet.IDENTITIES, state, village)
            proofs = await qualification.documents_of(
                session, [r.id for r in rows] if names else []
            )
        return RegistrationPage(
            items=[
                registration_view(
                    r,
                    bidder=_bidder_identity(bidders[r.bidder_id]) if names else None,
                    show_number=numbers,
                    documents=proofs.get(r.id),
                )
                for r in rows
            ]
        )


async def _proofs_visible(session: Any, who: Actor, r: Registration) -> list[RegistrationDocument]:
    """A registration's documents: its bidder's, and staff's who may see who applied."""
    if not (who.role == "bidder" and r.bidder_id == who.id):
        visible = await reading.load(session, who, r.listing_id)
        if not policy.may_see(who, Facet.APPLICANTS, visible.listing.state, visible.village):
            return []
    return (await qualification.documents_of(session, [r.id]))[r.id]


async def _number_visible(session: Any, who: Actor, r: Registration) -> bool:
    """A bidder number is its bidder's; staff see it only once identities are unsealed."""
    if who.role == "bidder" and r.bidder_id == who.id:
        return True
    visible = await reading.load(session, who, r.listing_id)
    return policy.may_see(who, Facet.IDENTITIES, visible.listing.state, visible.village)


def _bidder_identity(user: Any) -> BidderIdentity:
    return BidderIdentity(
        name=user.display_name,
        id_type=user.id_type,
        id_number=mask_id_number(user.id_number) if user.id_number else None,
        phone=mask_phone(user.phone) if user.phone else None,
    )


class RegistrationController(Controller):
    path = "/api/v1/registrations"

    @get("/", guards=[allow("bidder")])
    async def mine(self, request: Request[Any, Any, Any]) -> RegistrationPage:
        who = actor(request)
        async with services(request).db.read() as session:
            rows = await session.execute(
                select(Registration, Listing.publicity_ends_at)
                .join(Listing, Listing.id == Registration.listing_id)
                .where(Registration.bidder_id == who.id)
                .order_by(Registration.id.desc())
            )
            return RegistrationPage(
                items=[registration_view(r, publicity_ends_at=ends) for r, ends in rows.all()]
            )

    @get("/{registration_id:int}", guards=[allow()])
    async def show(
        self, request: Request[Any, Any, Any], registration_id: FromPath[int]
    ) -> RegistrationOut:
        who = actor(request)
        async with services(request).db.read() as session:
            r = await reg.load_registration(session, who, registration_id)
            documents = await _proofs_visible(session, who, r)
            listing = await session.get(Listing, r.listing_id)
            assert listing is not None
            return registration_view(
                r,
                show_number=await _number_visible(session, who, r),
                documents=documents,
                publicity_ends_at=listing.publicity_ends_at,
            )

    @post(
        "/{registration_id:int}/documents",
        guards=[allow("bidder")],
        status_code=201,
        request_max_body_size=UPLOAD_BODY,
    )
    async def upload_proof(
        self,
        request: Request[Any, Any, Any],
        registration_id: FromPath[int],
        data: MultipartBody[dict[str, Any]],
    ) -> DocumentOut:
        """The proof of a claimed priority right (kind `priority_proof`)."""
        svc, who = services(request), actor(request)
        if data.get("kind", "priority_proof") != "priority_proof":
            raise InvalidInput("document.kind", "材料类型无效")
        checked = await checked_upload(svc, data.get("file"))
        async with svc.db.write() as session:
            document = await qualification.attach_proof(
                session, who, registration_id, file=checked, store=store(svc), now=svc.now()
            )
            return document_view(document)

    @get(
        "/{registration_id:int}/documents/{document_id:int}",
        guards=[allow()],
        media_type="application/octet-stream",
    )
    async def download_proof(
        self,
        request: Request[Any, Any, Any],
        registration_id: FromPath[int],
        document_id: FromPath[int],
    ) -> Response[bytes]:
        svc, who = services(request), actor(request)
        async with svc.db.read() as session:
            r = await reg.load_registration(session, who, registration_id)
            documents = await _proofs_visible(session, who, r)
        document = next((d for d in documents if d.id == document_id), None)
        if document is None:
            raise NotFound("document.not_found", "材料不存在")
        return _attachment(svc, document)

    @post("/{registration_id:int}/review", guards=[allow("reviewer")], status_code=200)
    async def review(
        self,
        request: Request[Any, Any, Any],
        registration_id: FromPath[int],
        data: JSONBody[RegistrationReviewBody],
    ) -> RegistrationOut:
        svc, who = services(request), actor(request)
        async with svc.db.write() as session:
            r = await qualification.review(session, who, registration_id, data, svc.now())
            # "Qualified", not the number: staff cannot tie numbers to people (docs/security.md).
            return registration_view(r, show_number=await _number_visible(session, who, r))

    @post("/{registration_id:int}/deposit", guards=[allow("reviewer")], status_code=200)
    async def confirm_deposit(
        self,
        request: Request[Any, Any, Any],
        registration_id: FromPath[int],
        data: JSONBody[ManualDeposit],
    ) -> Response[PaymentAccepted]:
        svc = services(request)
        answer = await payments.confirm_deposit(
            svc.db,
            actor(request),
            registration_id,
            data,
            now=svc.now(),
            secret=svc.config.secret_key,
        )
        return _payment_response(answer)


class PaymentController(Controller):
    path = "/api/v1/payments"

    @post("/callback", opt=PUBLIC, status_code=200)
    async def callback(self, request: Request[Any, Any, Any]) -> Response[PaymentAccepted]:
        """The bank reports a deposit; authenticated by HMAC over the exact raw body."""
        svc = services(request)
        raw = await request.body()
        if not payments.signature_ok(
            svc.config.payment_secret, raw, request.headers.get("x-signature")
        ):
            log.warning("payment callback with a bad signature from %s", client_ip(request))
            raise NotAuthenticated("payment.bad_signature", "回调签名无效")
        try:
            body = msgspec.json.decode(raw, type=PaymentCallback)
        except msgspec.DecodeError as exc:
            raise InvalidInput("request.invalid", f"回调数据格式有误：{exc}") from exc
        answer = await payments.receive_callback(
            svc.db, body, now=svc.now(), secret=svc.config.secret_key
        )
        return _payment_response(answer)


def _payment_response(answer: payments.PaymentAnswer) -> Response[Any]:
    """The payment's answer as first given: `PaymentAccepted`, or a `Problem` (422)."""
    media = PROBLEM if answer.status >= 400 else "application/json"
    return Response(answer.body, status_code=answer.status, media_type=media)
