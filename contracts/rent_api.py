"""Controllers of rent as receivables (docs/api.md §rent): the lease's items with their status,
a staff-recorded payment with its receipt, a waiver, and the bank's rent callback. They only
translate; the use cases are `contracts.rent` and `contracts.rent_reading`."""

from __future__ import annotations

import logging
from datetime import date, datetime, time
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.params import FromPath, JSONBody, MultipartBody

from contracts import rent
from contracts.rent_reading import LeaseRent, RentLine, lease_rent, receipt_of
from core import settings as exchange_settings
from core.accounts import Actor
from core.clock import CHINA_TZ, local_date
from core.errors import InvalidInput, NotAuthenticated
from core.web import PUBLIC, actor, allow, client_ip, services
from listings import payments
from listings.api import checked_upload, store
from listings.documents import UPLOAD_BODY, detect_type
from listings.schemas import PaymentCallback

log = logging.getLogger(__name__)

PARTIES_AND_STAFF = ("village", "bidder", "reviewer", "regulator", "admin")
#: Who records rent received and waivers: the lessor village's officials, the region's reviewers.
RECORDERS = ("village", "reviewer")
Text64 = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


class Strict(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    pass


class StaffPaymentForm(Strict):
    """The fields of POST /rent-items/{id}/payments (multipart, with an optional `receipt`
    file: PDF, JPEG or PNG)."""

    amount_fen: Annotated[int, msgspec.Meta(gt=0)]
    #: When the money was received: a date (2028-03-12) or a moment (Beijing time when no
    #: offset is given).
    paid_at: Annotated[str, msgspec.Meta(min_length=10, max_length=40)]
    receipt_number: Text64


class WaiveBody(Strict):
    #: The collective's decision to waive, as recorded (e.g. the meeting and its date).
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]


class RentPaymentAccepted(msgspec.Struct):
    """A rent payment applied; a refused one is answered as a `Problem` (422)."""

    status: str
    rent_item_id: int
    number: int
    state: str
    paid_fen: int
    outstanding_fen: int


def moment(raw: str) -> datetime:
    """A form's date (noon, Beijing) or moment (Beijing when naive) as an aware datetime."""
    try:
        if len(raw) == 10:
            return datetime.combine(date.fromisoformat(raw), time(12), tzinfo=CHINA_TZ)
        value = datetime.fromisoformat(raw)
    except ValueError as exc:
        raise InvalidInput("request.invalid", "收款日期格式应为 2028-03-12") from exc
    return value if value.tzinfo is not None else value.replace(tzinfo=CHINA_TZ)


async def item_line(request: Request[Any, Any, Any], who: Actor, item: Any) -> RentLine:
    """The item as GET /contracts/{id}/rent shows it, after a change."""
    view = await lease_of(request, who, item.contract_id)
    return next(line for line in view.items if line.id == item.id)


async def lease_of(request: Request[Any, Any, Any], who: Actor, contract_id: int) -> LeaseRent:
    svc = services(request)
    async with svc.db.read() as session:
        settings = await exchange_settings.load(session)
        return await lease_rent(session, who, contract_id, local_date(svc.now()), settings)


class RentController(Controller):
    path = "/api/v1"

    @get("/contracts/{contract_id:int}/rent", guards=[allow(*PARTIES_AND_STAFF)])
    async def lease(self, request: Request[Any, Any, Any], contract_id: FromPath[int]) -> LeaseRent:
        """The lease's rent items with their status today, and its totals."""
        return await lease_of(request, actor(request), contract_id)

    @post(
        "/rent-items/{rent_item_id:int}/payments",
        guards=[allow(*RECORDERS)],
        status_code=201,
        request_max_body_size=UPLOAD_BODY,
    )
    async def record(
        self,
        request: Request[Any, Any, Any],
        rent_item_id: FromPath[int],
        data: MultipartBody[dict[str, Any]],
    ) -> RentLine:
        """Rent received outside the bank's callback, with its receipt number and scan."""
        svc, who = services(request), actor(request)
        fields = {k: v for k, v in data.items() if k in ("amount_fen", "paid_at", "receipt_number")}
        try:
            form = msgspec.convert(fields, StaffPaymentForm, strict=False)
        except msgspec.ValidationError as exc:
            raise InvalidInput("request.invalid", f"收款登记有误：{exc}") from exc
        upload = data.get("receipt")
        chosen = isinstance(upload, UploadFile) and bool(upload.filename)
        receipt = await checked_upload(svc, upload) if chosen else None
        item = await rent.record_staff_payment(
            svc.db,
            who,
            rent_item_id,
            amount_fen=form.amount_fen,
            paid_at=moment(form.paid_at),
            receipt_number=form.receipt_number,
            receipt=receipt,
            store=store(svc),
            now=svc.now(),
        )
        return await item_line(request, who, item)

    @post("/rent-items/{rent_item_id:int}/waive", guards=[allow(*RECORDERS)], status_code=200)
    async def waive(
        self,
        request: Request[Any, Any, Any],
        rent_item_id: FromPath[int],
        data: JSONBody[WaiveBody],
    ) -> RentLine:
        """减免: what the item still owes is forgiven, with the collective's reason."""
        svc, who = services(request), actor(request)
        item = await rent.waive(svc.db, who, rent_item_id, reason=data.reason, now=svc.now())
        return await item_line(request, who, item)

    @get(
        "/rent-payments/{payment_id:int}/receipt",
        guards=[allow(*PARTIES_AND_STAFF)],
        media_type="application/octet-stream",
    )
    async def receipt(
        self, request: Request[Any, Any, Any], payment_id: FromPath[int]
    ) -> Response[bytes]:
        """The scan of a staff-recorded payment's receipt."""
        svc = services(request)
        async with svc.db.read() as session:
            sha256 = await receipt_of(session, actor(request), payment_id)
        body = store(svc).get(sha256)
        return Response(
            body,
            media_type=detect_type(body),
            headers={
                "Content-Disposition": f'attachment; filename="receipt-{payment_id}"',
                "X-Content-Type-Options": "nosniff",
            },
        )

    @post("/payments/rent-callback", opt=PUBLIC, status_code=200)
    async def callback(self, request: Request[Any, Any, Any]) -> Response[RentPaymentAccepted]:
        """The bank reports a rent payment; authenticated like the deposit callback (HMAC
        over the exact raw body in `X-Signature`), idempotent on `bank_txn_id`."""
        svc = services(request)
        raw = await request.body()
        if not payments.signature_ok(
            svc.config.payment_secret, raw, request.headers.get("x-signature")
        ):
            log.warning("rent callback with a bad signature from %s", client_ip(request))
            raise NotAuthenticated("payment.bad_signature", "回调签名无效")
        try:
            body = msgspec.json.decode(raw, type=PaymentCallback)
        except msgspec.DecodeError as exc:
            raise InvalidInput("request.invalid", f"回调数据格式有误：{exc}") from exc
        answer = await rent.receive_callback(
            svc.db, body, now=svc.now(), secret=svc.config.secret_key
        )
        return _answer(answer)


def _answer(answer: payments.PaymentAnswer) -> Response[Any]:
    """The payment's answer as first given: `RentPaymentAccepted`, or a `Problem` (422)."""
    media = "application/problem+json" if answer.status >= 400 else "application/json"
    return Response(answer.body, status_code=answer.status, media_type=media)


CONTROLLERS: list[Any] = [RentController]
