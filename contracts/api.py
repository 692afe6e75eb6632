"""Controllers of the deal, the contract and its signatures, settlement and the platform CA.

They only translate: the request into a use case's arguments (`_deps` builds its
collaborators from the app's services), its result into the answer.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, JSONBody

from contracts import aftermath_api, certificates, queries, rent_api, settlement
from contracts.certification import certify
from contracts.deals import deal_view
from contracts.deps import Deps
from contracts.files import sha256
from contracts.schemas import (
    Certified,
    ContractView,
    DealView,
    RefundsConfirmed,
    Revocation,
    SettlementAccount,
    Signed,
    Verification,
)
from contracts.signatures import PasswordCheck, sign
from contracts.verification import verification
from core.web import PUBLIC, actor, actor_or_none, allow, client_ip, services

PARTIES_AND_STAFF = ("village", "bidder", "reviewer", "regulator", "admin")
STAFF = ("reviewer", "regulator", "admin")
Sha256 = Annotated[str, msgspec.Meta(pattern=r"^[0-9a-fA-F]{64}$")]
PDF, PEM = "application/pdf", "application/x-pem-file"


class Strict(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    pass


class SignBody(Strict):
    password: Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
    #: The SHA-256 of the PDF the signer looked at; refused (409) if the file has changed.
    sha256: Sha256 | None = None


class Empty(Strict):
    pass


class RefundConfirmation(Strict):
    bank_batch: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    registration_ids: list[int] | None = None


class RevokeBody(Strict):
    reason: Annotated[str, msgspec.Meta(max_length=200)] = ""


def _deps(request: Request[Any, Any, Any]) -> Deps:
    svc = services(request)
    return Deps.of(svc.db, svc.clock, svc.config)


def _pdf(file: queries.File) -> Response[bytes]:
    return Response(
        file.body,
        media_type=PDF,
        headers={
            "Content-Disposition": f"inline; filename*=UTF-8''{quote(file.filename)}",
            "X-Content-Type-Options": "nosniff",
            "X-Document-SHA256": sha256(file.body),
            "Cache-Control": "private, no-store",
        },
    )


def _pem(body: bytes, filename: str | None = None) -> Response[bytes]:
    headers = {"Content-Disposition": f'inline; filename="{filename}"'} if filename else None
    return Response(body, media_type=PEM, headers=headers)


class DealController(Controller):
    path = "/api/v1/listings"

    @get("/{listing_id:int}/deal", opt=PUBLIC)
    async def deal(self, request: Request[Any, Any, Any], listing_id: FromPath[int]) -> DealView:
        return await deal_view(services(request).db, actor_or_none(request), listing_id)

    @get(
        "/{listing_id:int}/refunds.csv",
        guards=[allow(*STAFF)],
        media_type="text/csv; charset=utf-8",
    )
    async def refunds_csv(
        self,
        request: Request[Any, Any, Any],
        listing_id: FromPath[int],
    ) -> Response[bytes]:
        body = await settlement.refunds_csv(services(request).db, actor(request), listing_id)
        return Response(
            body,
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="refunds-{listing_id}.csv"'},
        )

    @post("/{listing_id:int}/refunds", guards=[allow("reviewer")], status_code=200)
    async def confirm_refunds(
        self,
        request: Request[Any, Any, Any],
        listing_id: FromPath[int],
        data: JSONBody[RefundConfirmation],
    ) -> RefundsConfirmed:
        svc = services(request)
        return await settlement.confirm_refunds(
            svc.db,
            actor(request),
            listing_id,
            bank_batch=data.bank_batch,
            registration_ids=data.registration_ids,
            now=svc.now(),
        )

    @get("/{listing_id:int}/settlement", guards=[allow(*STAFF)])
    async def settlement(
        self,
        request: Request[Any, Any, Any],
        listing_id: FromPath[int],
    ) -> SettlementAccount:
        return await settlement.account(services(request).db, actor(request), listing_id)


class ContractController(Controller):
    path = "/api/v1/contracts"

    @get("/{contract_id:int}", guards=[allow(*PARTIES_AND_STAFF)])
    async def show(
        self,
        request: Request[Any, Any, Any],
        contract_id: FromPath[int],
    ) -> ContractView:
        return await queries.show(_deps(request), actor(request), contract_id)

    @get("/{contract_id:int}/pdf", guards=[allow(*PARTIES_AND_STAFF)], media_type=PDF)
    async def pdf(
        self,
        request: Request[Any, Any, Any],
        contract_id: FromPath[int],
    ) -> Response[bytes]:
        return _pdf(await queries.contract_file(_deps(request), actor(request), contract_id))

    @get(
        "/{contract_id:int}/confirmation.pdf",
        guards=[allow(*PARTIES_AND_STAFF)],
        media_type=PDF,
    )
    async def confirmation(
        self,
        request: Request[Any, Any, Any],
        contract_id: FromPath[int],
    ) -> Response[bytes]:
        return _pdf(await queries.confirmation_file(_deps(request), actor(request), contract_id))

    @get(
        "/{contract_id:int}/certificate.pdf",
        guards=[allow(*PARTIES_AND_STAFF)],
        media_type=PDF,
    )
    async def certificate(
        self,
        request: Request[Any, Any, Any],
        contract_id: FromPath[int],
    ) -> Response[bytes]:
        return _pdf(await queries.certificate_file(_deps(request), actor(request), contract_id))

    @post("/{contract_id:int}/sign", guards=[allow("village", "bidder")], status_code=200)
    async def sign(
        self,
        request: Request[Any, Any, Any],
        contract_id: FromPath[int],
        data: JSONBody[SignBody],
    ) -> Signed:
        svc = services(request)
        return await sign(
            _deps(request),
            PasswordCheck(svc.passwords, svc.throttle),
            actor(request),
            contract_id,
            password=data.password,
            expected_sha256=data.sha256,
            ip=client_ip(request),
            user_agent=request.headers.get("user-agent"),
        )

    @post("/{contract_id:int}/certify", guards=[allow("reviewer")], status_code=200)
    async def certify(
        self,
        request: Request[Any, Any, Any],
        contract_id: FromPath[int],
        data: JSONBody[Empty],
    ) -> Certified:
        return await certify(_deps(request), actor(request), contract_id)

    @get("/{contract_id:int}/verification", guards=[allow(*PARTIES_AND_STAFF)])
    async def verification(
        self,
        request: Request[Any, Any, Any],
        contract_id: FromPath[int],
    ) -> Verification:
        return await verification(_deps(request), actor(request), contract_id)


class AuthorityController(Controller):
    path = "/api/v1/ca"

    @get("/root.pem", opt=PUBLIC, media_type=PEM)
    async def root(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        deps = _deps(request)
        body = await certificates.root_pem(deps.keys, deps.clock.now())
        return _pem(body, "ruralx-root.pem")

    @get("/chain.pem", opt=PUBLIC, media_type=PEM)
    async def chain(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        deps = _deps(request)
        return _pem(await certificates.chain_pem(deps.keys, deps.clock.now()))

    @get("/crl.pem", opt=PUBLIC, media_type=PEM)
    async def crl(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        deps = _deps(request)
        return _pem(await certificates.crl_pem(deps.db, deps.keys, deps.clock.now()))

    @post("/certificates/{certificate_id:int}/revoke", guards=[allow("admin")], status_code=200)
    async def revoke(
        self,
        request: Request[Any, Any, Any],
        certificate_id: FromPath[int],
        data: JSONBody[RevokeBody],
    ) -> Revocation:
        svc = services(request)
        return await certificates.revoke(
            svc.db, actor(request), certificate_id, reason=data.reason, now=svc.now()
        )


#: Registered by the app; the contracts package adds its controllers here.
CONTROLLERS: list[Any] = [
    DealController,
    ContractController,
    AuthorityController,
    *aftermath_api.CONTROLLERS,
    *rent_api.CONTROLLERS,
]
