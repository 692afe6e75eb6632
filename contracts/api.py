"""Controllers of the deal, the contract and its signatures, settlement and the platform CA."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

import msgspec
from cryptography.hazmat.primitives import serialization
from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, JSONBody
from sqlalchemy import select

from contracts import service, settlement
from contracts.deals import load_deal
from contracts.models import SigningCertificate
from core import ledger
from core.errors import Conflict, NotFound
from core.web import PUBLIC, actor, actor_or_none, allow, client_ip, services

PARTIES_AND_STAFF = ("village", "bidder", "reviewer", "regulator", "admin")
STAFF = ("reviewer", "regulator", "admin")
Sha256 = Annotated[str, msgspec.Meta(pattern=r"^[0-9a-fA-F]{64}$")]


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


async def _visible_contract(request: Request[Any, Any, Any], contract_id: int) -> Any:
    """The contract, if this caller is a party to it or staff over it (404 otherwise)."""
    async with services(request).db.read() as session:
        return (await service.load(session, actor(request), contract_id)).contract


def _pdf(body: bytes, filename: str) -> Response[bytes]:
    return Response(
        body,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f"inline; filename*=UTF-8''{quote(filename)}",
            "X-Content-Type-Options": "nosniff",
            "X-Document-SHA256": service.sha256(body),
            "Cache-Control": "private, no-store",
        },
    )


class DealController(Controller):
    path = "/api/v1/listings"

    @get("/{listing_id:int}/deal", opt=PUBLIC)
    async def deal(
        self,
        request: Request[Any, Any, Any],
        listing_id: FromPath[int],
    ) -> dict[str, Any]:
        async with services(request).db.read() as session:
            return await load_deal(session, actor_or_none(request), listing_id)

    @get("/{listing_id:int}/refunds.csv", guards=[allow(*STAFF)])
    async def refunds_csv(
        self,
        request: Request[Any, Any, Any],
        listing_id: FromPath[int],
    ) -> Response[bytes]:
        async with services(request).db.read() as session:
            rows = await settlement.refund_instructions(session, actor(request), listing_id)
        return Response(
            settlement.refunds_csv(rows),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="refunds-{listing_id}.csv"'},
        )

    @post("/{listing_id:int}/refunds", guards=[allow("reviewer")], status_code=200)
    async def confirm_refunds(
        self,
        request: Request[Any, Any, Any],
        listing_id: FromPath[int],
        data: JSONBody[RefundConfirmation],
    ) -> dict[str, Any]:
        svc = services(request)
        async with svc.db.write() as session:
            return await settlement.confirm_refunds(
                session,
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
    ) -> dict[str, Any]:
        async with services(request).db.read() as session:
            return await settlement.account(session, actor(request), listing_id)


class ContractController(Controller):
    path = "/api/v1/contracts"

    @get("/{contract_id:int}", guards=[allow(*PARTIES_AND_STAFF)])
    async def show(
        self,
        request: Request[Any, Any, Any],
        contract_id: FromPath[int],
    ) -> dict[str, Any]:
        svc, who = services(request), actor(request)
        async with svc.db.read() as session:
            access = await service.load(session, who, contract_id)
        pdf, _ = await service.contract_pdf(svc.config, access.contract)
        async with svc.db.read() as session:
            return await service.view(session, access, svc.now(), pdf_sha256=service.sha256(pdf))

    @get("/{contract_id:int}/pdf", guards=[allow(*PARTIES_AND_STAFF)])
    async def pdf(
        self,
        request: Request[Any, Any, Any],
        contract_id: FromPath[int],
    ) -> Response[bytes]:
        contract = await _visible_contract(request, contract_id)
        body, _ = await service.contract_pdf(services(request).config, contract)
        return _pdf(body, f"{contract.number}.pdf")

    @get("/{contract_id:int}/confirmation.pdf", guards=[allow(*PARTIES_AND_STAFF)])
    async def confirmation(
        self,
        request: Request[Any, Any, Any],
        contract_id: FromPath[int],
    ) -> Response[bytes]:
        contract = await _visible_contract(request, contract_id)
        body = await service.confirmation_pdf(contract)
        return _pdf(body, f"{contract.data['numbers']['confirmation']}.pdf")

    @get("/{contract_id:int}/certificate.pdf", guards=[allow(*PARTIES_AND_STAFF)])
    async def certificate(
        self,
        request: Request[Any, Any, Any],
        contract_id: FromPath[int],
    ) -> Response[bytes]:
        contract = await _visible_contract(request, contract_id)
        body = await service.certificate_pdf(services(request).config, contract)
        return _pdf(body, f"{contract.certificate_number}.pdf")

    @post("/{contract_id:int}/sign", guards=[allow("village", "bidder")], status_code=200)
    async def sign(
        self,
        request: Request[Any, Any, Any],
        contract_id: FromPath[int],
        data: JSONBody[SignBody],
    ) -> dict[str, Any]:
        return await service.sign(
            services(request),
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
    ) -> dict[str, Any]:
        return await service.certify(services(request), actor(request), contract_id)

    @get("/{contract_id:int}/verification", guards=[allow(*PARTIES_AND_STAFF)])
    async def verification(
        self,
        request: Request[Any, Any, Any],
        contract_id: FromPath[int],
    ) -> dict[str, Any]:
        return await service.verification(services(request), actor(request), contract_id)


class AuthorityController(Controller):
    path = "/api/v1/ca"

    @get("/root.pem", opt=PUBLIC)
    async def root(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        svc = services(request)
        auth = await service.authority(svc.config, svc.now())
        return Response(
            auth.root_pem(),
            media_type="application/x-pem-file",
            headers={"Content-Disposition": 'inline; filename="ruralx-root.pem"'},
        )

    @get("/chain.pem", opt=PUBLIC)
    async def chain(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        svc = services(request)
        auth = await service.authority(svc.config, svc.now())
        body = b"".join(
            c.public_bytes(serialization.Encoding.PEM)
            for c in (*auth.chain(), auth.tsa, auth.platform)
        )
        return Response(body, media_type="application/x-pem-file")

    @get("/crl.pem", opt=PUBLIC)
    async def crl(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        svc = services(request)
        now = svc.now()
        auth = await service.authority(svc.config, now)
        async with svc.db.read() as session:
            crls = await service.current_crls(session, auth, now)
        body = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in crls)
        return Response(body, media_type="application/x-pem-file")

    @post("/certificates/{certificate_id:int}/revoke", guards=[allow("admin")], status_code=200)
    async def revoke(
        self,
        request: Request[Any, Any, Any],
        certificate_id: FromPath[int],
        data: JSONBody[RevokeBody],
    ) -> dict[str, Any]:
        svc, who = services(request), actor(request)
        now = svc.now()
        async with svc.db.write() as session:
            row = await session.scalar(
                select(SigningCertificate)
                .where(SigningCertificate.id == certificate_id)
                .with_for_update()
            )
            if row is None:
                raise NotFound("certificate.not_found", "证书不存在")
            if row.revoked_at is not None:
                raise Conflict("certificate.already_revoked", "该证书已被吊销")
            row.revoked_at, row.revocation_reason = now, (data.reason or "unspecified")[:32]
            await ledger.append(
                session,
                subject=f"user:{row.user_id}",
                type="certificate.revoked",
                actor=who.name,
                at=now,
                payload={"certificate_id": row.id, "serial": row.serial, "reason": data.reason},
            )
            return {"id": row.id, "serial": row.serial, "revoked_at": now.isoformat()}


#: Registered by the app; the contracts package adds its controllers here.
CONTROLLERS: list[Any] = [DealController, ContractController, AuthorityController]
