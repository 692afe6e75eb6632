"""Controllers of entrustment, review, announcement, registration and deposits."""

from __future__ import annotations

import logging
from typing import Annotated, Any
from urllib.parse import quote

import msgspec
from litestar import Controller, Request, Response, get, patch, post
from litestar.datastructures import UploadFile
from litestar.params import FromPath, FromQuery, JSONBody, MultipartBody, QueryParameter
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core import settings as exchange_settings
from core.accounts import Actor
from core.errors import Conflict, DomainError, InvalidInput, NotAuthenticated, NotFound
from core.ids import mask_id_number, mask_name, mask_phone
from core.problems import PROBLEM
from core.web import PUBLIC, actor, actor_or_none, allow, client_ip, services
from listings import payments, policy, qualification, service
from listings import registration as reg
from listings.documents import DocumentStore, check, safe_filename
from listings.models import Document, Payment, Registration, RegistrationDocument
from listings.policy import Facet
from listings.schemas import (
    CATEGORY_NAMES_ZH,
    AnnounceBody,
    DocumentKind,
    DocumentOut,
    Empty,
    ListingCreate,
    ListingOut,
    ListingUpdate,
    ManualDeposit,
    PaymentCallback,
    RegistrationBody,
    RegistrationOut,
    RegistrationReviewBody,
    ReviewBody,
)

log = logging.getLogger("ruralx.listings")
MAX_UPLOAD = 10 * 1024 * 1024


class UploadTooLarge(DomainError):
    """A file over the upload limit: 413 like a body over the limit (docs/api.md §1)."""

    status = 413
    title = "上传内容过大"


def listing_view(
    visible: service.Visible, viewer: Actor | None, documents: list[Document] | None = None
) -> ListingOut:
    listing = visible.listing
    terms = dict(listing.terms)
    if not policy.may_see(viewer, Facet.HIDDEN_TERMS, listing.state, visible.village):
        terms.pop("reserve_fen", None)  # hidden reserve: never shown to bidders or the public
        terms["priority_holders"] = [
            {
                "name": mask_name(h["name"]),
                "id_type": h["id_type"],
                "id_number": mask_id_number(h["id_number"]),
            }
            for h in terms.get("priority_holders", [])
        ]
    return ListingOut(
        id=listing.id,
        state=listing.state,
        title=listing.title,
        category=listing.category,
        category_name=CATEGORY_NAMES_ZH.get(listing.category, listing.category),
        location=listing.location,
        area=listing.area,
        area_unit=listing.area_unit,
        description=listing.description,
        terms=terms,
        village=visible.village.path,
        created_at=listing.created_at,
        announced_at=listing.announced_at,
        registration_closes_at=listing.registration_closes_at,
        auction_starts_at=listing.auction_starts_at,
        return_reason=listing.return_reason,
        outcome=listing.outcome,
        relist_of=listing.relist_of,
        rules=listing.rules,
        # Which documents exist is public (四议两公开); their content is a facet of the policy.
        documents=[_document_view(d) for d in documents or []],
    )


def _document_view(d: Document | RegistrationDocument) -> DocumentOut:
    return DocumentOut(
        id=d.id,
        kind=d.kind,
        filename=d.filename,
        content_type=d.content_type,
        size=d.size,
        sha256=d.sha256,
        uploaded_at=d.uploaded_at,
    )


def registration_view(
    r: Registration,
    *,
    bidder: Any = None,
    show_number: bool = True,
    documents: list[RegistrationDocument] | None = None,
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
        documents=[_document_view(d) for d in documents or []],
    )


class ListingController(Controller):
    path = "/api/v1/listings"

    @post("/", guards=[allow("village")], status_code=201)
    async def create(
        self, request: Request[Any, Any, Any], data: JSONBody[ListingCreate]
    ) -> ListingOut:
        svc, who = services(request), actor(request)
        async with svc.db.write() as session:
            settings = await exchange_settings.load(session)
            listing = await service.create(session, who, data, settings, svc.now())
            return listing_view(service.Visible(listing, who.region), who)  # type: ignore[arg-type]

    @get("/", opt=PUBLIC)
    async def search(
        self,
        request: Request[Any, Any, Any],
        state_: Annotated[str | None, QueryParameter(name="state")] = None,
        category: FromQuery[str | None] = None,
        region: FromQuery[str | None] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
        offset: Annotated[int, QueryParameter(ge=0)] = 0,
    ) -> dict[str, Any]:
        viewer = actor_or_none(request)
        async with services(request).db.read() as session:
            rows = await service.search(
                session,
                viewer,
                service.ListingFilter(
                    state=state_, category=category, region=region, limit=limit, offset=offset
                ),
            )
        return {"items": [listing_view(v, viewer) for v in rows]}

    @get("/{listing_id:int}", opt=PUBLIC)
    async def show(self, request: Request[Any, Any, Any], listing_id: FromPath[int]) -> ListingOut:
        viewer = actor_or_none(request)
        async with services(request).db.read() as session:
            visible = await service.load(session, viewer, listing_id)
            documents = await service.documents_of(session, listing_id)
        return listing_view(visible, viewer, documents)

    @patch("/{listing_id:int}", guards=[allow("village")])
    async def update(
        self,
        request: Request[Any, Any, Any],
        listing_id: FromPath[int],
        data: JSONBody[ListingUpdate],
    ) -> ListingOut:
        svc, who = services(request), actor(request)
        async with svc.db.write() as session:
            settings = await exchange_settings.load(session)
            await service.update(session, who, listing_id, data, settings, svc.now())
            visible = await service.load(session, who, listing_id)
            return listing_view(visible, who, await service.documents_of(session, listing_id))

    @post("/{listing_id:int}/submit", guards=[allow("village")], status_code=200)
    async def submit(
        self, request: Request[Any, Any, Any], listing_id: FromPath[int], data: JSONBody[Empty]
    ) -> ListingOut:
        return await self._act(request, listing_id, service.submit)

    @post("/{listing_id:int}/withdraw", guards=[allow("village")], status_code=200)
    async def withdraw(
        self, request: Request[Any, Any, Any], listing_id: FromPath[int], data: JSONBody[Empty]
    ) -> ListingOut:
        return await self._act(request, listing_id, service.withdraw)

    @post("/{listing_id:int}/relist", guards=[allow("village")], status_code=201)
    async def relist(
        self, request: Request[Any, Any, Any], listing_id: FromPath[int], data: JSONBody[Empty]
    ) -> ListingOut:
        return await self._act(request, listing_id, service.relist)

    async def _act(
        self, request: Request[Any, Any, Any], listing_id: FromPath[int], use_case: Any
    ) -> ListingOut:
        svc, who = services(request), actor(request)
        async with svc.db.write() as session:
            listing = await use_case(session, who, listing_id, svc.now())
            visible = await service.load(session, who, listing.id)
            return listing_view(visible, who)

    @post("/{listing_id:int}/review", guards=[allow("reviewer")], status_code=200)
    async def review(
        self, request: Request[Any, Any, Any], listing_id: FromPath[int], data: JSONBody[ReviewBody]
    ) -> ListingOut:
        svc, who = services(request), actor(request)
        async with svc.db.write() as session:
            await service.review(session, who, listing_id, data, svc.now())
            return listing_view(await service.load(session, who, listing_id), who)

    @post("/{listing_id:int}/announce", guards=[allow("reviewer")], status_code=200)
    async def announce(
        self,
        request: Request[Any, Any, Any],
        listing_id: FromPath[int],
        data: JSONBody[AnnounceBody],
    ) -> ListingOut:
        svc, who = services(request), actor(request)
        async with svc.db.write() as session:
            settings = await exchange_settings.load(session)
            await service.announce(session, who, listing_id, data, settings, svc.now())
            return listing_view(await service.load(session, who, listing_id), who)

    @post(
        "/{listing_id:int}/documents",
        guards=[allow("village")],
        status_code=201,
        request_max_body_size=MAX_UPLOAD + 64 * 1024,
    )
    async def upload(
        self,
        request: Request[Any, Any, Any],
        listing_id: FromPath[int],
        data: MultipartBody[dict[str, Any]],
    ) -> DocumentOut:
        svc, who = services(request), actor(request)
        try:
            kind = msgspec.convert(data.get("kind"), DocumentKind)
        except msgspec.ValidationError:
            raise InvalidInput("document.kind", "材料类型无效") from None
        filename, content_type, content = await checked_upload(svc, data.get("file"))
        async with svc.db.write() as session:
            # The right to attach is checked before the file touches the disk.
            await service.attachable(session, who, listing_id)
            sha = DocumentStore(svc.config.data_dir).put(content)
            document = await service.add_document(
                session,
                who,
                listing_id,
                kind=kind,
                filename=filename,
                content_type=content_type,
                size=len(content),
                sha256=sha,
                now=svc.now(),
            )
            return _document_view(document)

    @get("/{listing_id:int}/documents/{document_id:int}", guards=[allow()])
    async def download(
        self, request: Request[Any, Any, Any], listing_id: FromPath[int], document_id: FromPath[int]
    ) -> Response[bytes]:
        svc, who = services(request), actor(request)
        async with svc.db.read() as session:
            visible = await service.load(session, who, listing_id)
            document = await session.get(Document, document_id)
        if document is None or document.listing_id != listing_id:
            raise NotFound("document.not_found", "材料不存在")
        policy.require(who, Facet.DOCUMENTS, visible.listing.state, visible.village)
        return _attachment(svc, document)

    @post("/{listing_id:int}/registrations", guards=[allow("bidder")], status_code=201)
    async def register(
        self,
        request: Request[Any, Any, Any],
        listing_id: FromPath[int],
        data: JSONBody[RegistrationBody],
    ) -> RegistrationOut:
        svc, who = services(request), actor(request)
        try:
            async with svc.db.write() as session:
                registration = await reg.apply(
                    session,
                    who,
                    listing_id,
                    svc.now(),
                    ip=client_ip(request),
                    user_agent=request.headers.get("user-agent"),
                    claim_priority=data.claim_priority,
                )
                return registration_view(registration)
        except IntegrityError:  # a concurrent double submit of the same application
            raise Conflict("registration.duplicate", "您已报名该项目，请勿重复报名") from None

    @get("/{listing_id:int}/registrations", guards=[allow("reviewer", "regulator", "admin")])
    async def registrations(
        self, request: Request[Any, Any, Any], listing_id: FromPath[int]
    ) -> dict[str, Any]:
        who = actor(request)
        async with services(request).db.read() as session:
            visible = await service.load(session, who, listing_id)
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
        return {
            "items": [
                registration_view(
                    r,
                    bidder=_bidder_identity(bidders[r.bidder_id]) if names else None,
                    show_number=numbers,
                    documents=proofs.get(r.id),
                )
                for r in rows
            ]
        }


async def checked_upload(svc: Any, upload: Any) -> tuple[str, str, bytes]:
    """A form's file, checked by size and content: (filename, content type, bytes)."""
    if not isinstance(upload, UploadFile):
        raise InvalidInput("document.file_required", "请选择要上传的文件")
    content = await upload.read()
    if len(content) > min(MAX_UPLOAD, svc.config.max_upload_bytes):
        raise UploadTooLarge("request.too_large", "文件不得超过 10 MB")
    filename = safe_filename(upload.filename or "")
    return filename, check(content, filename, upload.content_type), content


async def attach_checked_proof(
    svc: Any,
    session: Any,
    who: Actor,
    registration_id: int,
    checked: tuple[str, str, bytes],
) -> RegistrationDocument:
    """A checked upload (`checked_upload`) attached as the proof of a priority claim."""
    filename, content_type, content = checked
    return await qualification.attach_proof(
        session,
        who,
        registration_id,
        filename=filename,
        content_type=content_type,
        content=content,
        store=DocumentStore(svc.config.data_dir),
        now=svc.now(),
    )


def _attachment(svc: Any, document: Document | RegistrationDocument) -> Response[bytes]:
    return Response(
        DocumentStore(svc.config.data_dir).get(document.sha256),
        media_type=document.content_type,
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(document.filename)}",
            "X-Content-Type-Options": "nosniff",
        },
    )


async def _proofs_visible(session: Any, who: Actor, r: Registration) -> list[RegistrationDocument]:
    """A registration's documents: its bidder's, and staff's who may see who applied."""
    if not (who.role == "bidder" and r.bidder_id == who.id):
        visible = await service.load(session, who, r.listing_id)
        if not policy.may_see(who, Facet.APPLICANTS, visible.listing.state, visible.village):
            return []
    return (await qualification.documents_of(session, [r.id]))[r.id]


async def _number_visible(session: Any, who: Actor, r: Registration) -> bool:
    """A bidder number is its bidder's; staff see it only once identities are unsealed."""
    if who.role == "bidder" and r.bidder_id == who.id:
        return True
    visible = await service.load(session, who, r.listing_id)
    return policy.may_see(who, Facet.IDENTITIES, visible.listing.state, visible.village)


def _bidder_identity(user: Any) -> dict[str, Any]:
    """What staff see of an applicant while qualifying: name, masked ID, masked phone."""
    return {
        "name": user.display_name,
        "id_type": user.id_type,
        "id_number": mask_id_number(user.id_number) if user.id_number else None,
        "phone": mask_phone(user.phone) if user.phone else None,
    }


class RegistrationController(Controller):
    path = "/api/v1/registrations"

    @get("/", guards=[allow("bidder")])
    async def mine(self, request: Request[Any, Any, Any]) -> dict[str, Any]:
        who = actor(request)
        async with services(request).db.read() as session:
            rows = await session.scalars(
                select(Registration)
                .where(Registration.bidder_id == who.id)
                .order_by(Registration.id.desc())
            )
            return {"items": [registration_view(r) for r in rows]}

    @get("/{registration_id:int}", guards=[allow()])
    async def show(
        self, request: Request[Any, Any, Any], registration_id: FromPath[int]
    ) -> RegistrationOut:
        who = actor(request)
        async with services(request).db.read() as session:
            r = await reg.load_registration(session, who, registration_id)
            documents = await _proofs_visible(session, who, r)
            return registration_view(
                r, show_number=await _number_visible(session, who, r), documents=documents
            )

    @post(
        "/{registration_id:int}/documents",
        guards=[allow("bidder")],
        status_code=201,
        request_max_body_size=MAX_UPLOAD + 64 * 1024,
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
            document = await attach_checked_proof(svc, session, who, registration_id, checked)
            return _document_view(document)

    @get("/{registration_id:int}/documents/{document_id:int}", guards=[allow()])
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
    ) -> Response[Any]:
        svc = services(request)
        answer = await _idempotent_payment(
            request,
            lambda session: payments.confirm_manually(
                session,
                actor(request),
                registration_id,
                data,
                svc.now(),
                secret=svc.config.secret_key,
            ),
            data.bank_txn_id,
        )
        return _payment_response(answer)


class PaymentController(Controller):
    path = "/api/v1/payments"

    @post("/callback", opt=PUBLIC, status_code=200)
    async def callback(self, request: Request[Any, Any, Any]) -> Response[Any]:
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
        answer = await _idempotent_payment(
            request,
            lambda session: payments.record_payment(
                session,
                body,
                reference=body.reference,
                source="bank",
                actor="bank",
                now=svc.now(),
                secret=svc.config.secret_key,
            ),
            body.bank_txn_id,
        )
        return _payment_response(answer)


async def _idempotent_payment(request: Request[Any, Any, Any], use_case: Any, txn: str) -> Any:
    """Run a payment once; a concurrent duplicate loses the unique race, reads the first answer."""
    db = services(request).db
    try:
        async with db.write() as session:
            return await use_case(session)
    except IntegrityError:
        async with db.read() as session:
            first = await session.scalar(select(Payment).where(Payment.bank_txn_id == txn))
            if first is None:
                raise
            return payments.PaymentAnswer(first.response_status, first.response)


def _payment_response(answer: payments.PaymentAnswer) -> Response[Any]:
    media = PROBLEM if answer.status >= 400 else "application/json"
    return Response(answer.body, status_code=answer.status, media_type=media)
