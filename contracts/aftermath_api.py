"""Controllers of what follows a deal: objections during its publicity, a winner's default,
the runner-up's answer to an offer (docs/api.md). They only translate."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, get, post
from litestar.params import FromPath, JSONBody, MultipartBody

from contracts import objections, voiding
from contracts.deal_rules import DefaultReason
from contracts.schemas import DealChange, ObjectionPage, ObjectionView
from core.web import actor, allow, services
from listings.api import checked_upload, store
from listings.documents import UPLOAD_BODY
from listings.schemas import DocumentOut

Reasons = Annotated[str, msgspec.Meta(min_length=1, max_length=4000)]


class Strict(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    pass


class ObjectionBody(Strict):
    #: The facts and reasons of the objection (evidence: POST /objections/{id}/documents).
    reasons: Reasons


class ObjectionDecisionBody(Strict):
    decision: Literal["uphold", "dismiss"]
    reason: Reasons


class DefaultBody(Strict):
    #: not_signed: the signing period passed; withdrew: the winner gave up in writing.
    reason: DefaultReason
    note: Annotated[str, msgspec.Meta(max_length=2000)] = ""


class OfferAnswer(Strict):
    decision: Literal["accept", "decline"]


class AftermathController(Controller):
    path = "/api/v1/listings"

    @post("/{listing_id:int}/objections", guards=[allow("bidder")], status_code=201)
    async def file(
        self,
        request: Request[Any, Any, Any],
        listing_id: FromPath[int],
        data: JSONBody[ObjectionBody],
    ) -> ObjectionView:
        svc = services(request)
        return await objections.file(
            svc.db, actor(request), listing_id, reasons=data.reasons, now=svc.now()
        )

    @get(
        "/{listing_id:int}/objections",
        guards=[allow("bidder", "reviewer", "regulator", "admin")],
    )
    async def objections(
        self, request: Request[Any, Any, Any], listing_id: FromPath[int]
    ) -> ObjectionPage:
        return await objections.list_for(services(request).db, actor(request), listing_id)

    @post("/{listing_id:int}/deal/default", guards=[allow("reviewer")], status_code=200)
    async def default(
        self,
        request: Request[Any, Any, Any],
        listing_id: FromPath[int],
        data: JSONBody[DefaultBody],
    ) -> DealChange:
        svc = services(request)
        return await voiding.record_default(
            svc.db, actor(request), listing_id, reason=data.reason, note=data.note, now=svc.now()
        )

    @post("/{listing_id:int}/deal/offer", guards=[allow("bidder")], status_code=200)
    async def answer_offer(
        self,
        request: Request[Any, Any, Any],
        listing_id: FromPath[int],
        data: JSONBody[OfferAnswer],
    ) -> DealChange:
        svc = services(request)
        return await voiding.answer_offer(
            svc.db, actor(request), listing_id, accept=data.decision == "accept", now=svc.now()
        )


class ObjectionController(Controller):
    path = "/api/v1/objections"

    @post(
        "/{objection_id:int}/documents",
        guards=[allow("bidder")],
        status_code=201,
        request_max_body_size=UPLOAD_BODY,
    )
    async def evidence(
        self,
        request: Request[Any, Any, Any],
        objection_id: FromPath[int],
        data: MultipartBody[dict[str, Any]],
    ) -> DocumentOut:
        """Evidence for the caller's objection (a PDF, JPEG or PNG), until it is decided."""
        svc = services(request)
        checked = await checked_upload(svc, data.get("file"))
        return await objections.attach_evidence(
            svc.db, actor(request), objection_id, file=checked, store=store(svc), now=svc.now()
        )

    @post("/{objection_id:int}/decision", guards=[allow("reviewer")], status_code=200)
    async def decide(
        self,
        request: Request[Any, Any, Any],
        objection_id: FromPath[int],
        data: JSONBody[ObjectionDecisionBody],
    ) -> DealChange:
        svc = services(request)
        return await objections.decide(
            svc.db,
            actor(request),
            objection_id,
            uphold=data.decision == "uphold",
            reason=data.reason,
            now=svc.now(),
        )


CONTROLLERS: list[Any] = [AftermathController, ObjectionController]
