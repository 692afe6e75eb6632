"""What a party or staff member reads of a contract: its view and its three documents."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from contracts.access import Access, is_overdue, load, next_signer, rent_items_of, signatures_of
from contracts.deps import Deps
from contracts.files import certificate_pdf, confirmation_pdf, contract_pdf, sha256
from contracts.models import Contract, Signature
from contracts.schemas import (
    CertificateInfo,
    ContractParties,
    ContractView,
    SignatureView,
    VillageParty,
    WinnerParty,
    rent_item_view,
)
from core.accounts import Actor, User
from core.ids import mask_id_number


@dataclass(frozen=True, slots=True)
class File:
    body: bytes
    filename: str


async def _access(deps: Deps, who: Actor, contract_id: int) -> Access:
    """The contract, if this caller is a party to it or staff over it (404 otherwise)."""
    async with deps.db.read() as session:
        return await load(session, who, contract_id)


async def contract_file(deps: Deps, who: Actor, contract_id: int) -> File:
    """The current contract PDF: the last signed version, or the draft."""
    contract = (await _access(deps, who, contract_id)).contract
    body, _ = await contract_pdf(deps.files, contract)
    return File(body, f"{contract.number}.pdf")


async def confirmation_file(deps: Deps, who: Actor, contract_id: int) -> File:
    """The deal confirmation (成交确认书)."""
    contract = (await _access(deps, who, contract_id)).contract
    body = await confirmation_pdf(contract)
    return File(body, f"{contract.data['numbers']['confirmation']}.pdf")


async def certificate_file(deps: Deps, who: Actor, contract_id: int) -> File:
    """The transaction certificate (交易鉴证书); 404 `contract.not_certified` before."""
    contract = (await _access(deps, who, contract_id)).contract
    body = await certificate_pdf(deps.files, contract)
    return File(body, f"{contract.certificate_number}.pdf")


async def show(deps: Deps, who: Actor, contract_id: int) -> ContractView:
    """The contract as its parties and staff see it, with the hash of its current file."""
    access = await _access(deps, who, contract_id)
    contract = access.contract
    pdf, _ = await contract_pdf(deps.files, contract)
    now = deps.clock.now()
    async with deps.db.read() as session:
        winner = await session.get(User, contract.winner_id)
        assert winner is not None
        items = await rent_items_of(session, contract.id)
        signatures = await signatures_of(session, contract.id)
    data = contract.data
    return ContractView(
        id=contract.id,
        listing_id=contract.listing_id,
        number=contract.number,
        state=contract.state,
        next_signer=next_signer(contract.state),
        your_role=access.role,
        parties=ContractParties(
            village=VillageParty(
                name=data["village"]["party"],
                region=access.village.path,
                agent=data["village"]["agent"],
            ),
            winner=WinnerParty(
                name=winner.display_name,
                bidder_number=data["winner"]["number"],
                id_number=mask_id_number(winner.id_number) if winner.id_number else None,
            ),
        ),
        final_fen=_fen(data, "final"),
        lease_start=contract.lease_start.isoformat(),
        sign_deadline=contract.sign_deadline.isoformat(),
        overdue=is_overdue(contract, now),
        pdf_sha256=sha256(pdf),
        signatures=[_signature_view(s) for s in signatures],
        certificate=_certificate_info(contract),
        rent_items=[rent_item_view(i, periods=True) for i in items],
        contract_value_fen=sum(i.amount_fen for i in items),
        drafted_at=contract.drafted_at.isoformat(),
        signed_at=contract.signed_at.isoformat() if contract.signed_at else None,
    )


def _fen(data: dict[str, Any], which: str) -> int:
    return int(data["price"][which].replace(",", "").replace(".", ""))


def _certificate_info(contract: Contract) -> CertificateInfo | None:
    if contract.certificate_sha256 is None:
        return None
    certified_at = contract.certified_at
    return CertificateInfo(
        number=contract.certificate_number,
        sha256=contract.certificate_sha256,
        certified_at=certified_at.isoformat() if certified_at else None,
    )


def _signature_view(s: Signature) -> SignatureView:
    return SignatureView(
        role=s.role,
        signer=s.subject,
        signed_at=s.signed_at.isoformat(),
        field=s.field_name,
        certificate_sha256=s.certificate_sha256,
        signed_sha256=s.input_sha256,
        document_sha256=s.output_sha256,
    )
