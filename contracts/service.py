"""Use cases of the lease contract: draft, view, sign, certify, verify (the only writer).

States: drafted → signed_by_village → signed → certified.

Drafting happens inside the deal's own transaction (`contracts.hooks.on_deal`) and is kept
cheap: it stores the data snapshot, the rent payables and the ledger entry, and renders
nothing. The unsigned PDF is rendered from the snapshot on first request; rendering is
deterministic, so every worker that renders it gets the same bytes, and nothing needs to be
stored until the first signature.

Signing is optimistic: the password is checked and the PDF is signed (CPU, in a worker
thread) outside any write transaction, then a short transaction re-checks that the contract
is still in the state and at the version that was signed, and records the result. Two
racing signers cannot both win; the loser gets 409 and signs the new version.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from auction.models import Deal
from contracts import ca, content, document, settlement, signing
from contracts.models import Contract, ContractState, RentItem, Signature, SigningCertificate
from contracts.verify import verify_pdf
from core import ledger
from core import settings as exchange_settings
from core.accounts import Actor, Region, User
from core.clock import CHINA_TZ, local_date
from core.config import Config
from core.errors import Conflict, NotFound, PermissionDenied
from core.ids import mask_id_number
from core.web import Services
from listings import Listing, Registration, policy
from listings.policy import Facet
from listings.service import subject

VILLAGE, WINNER, STAFF, PLATFORM = "village", "winner", "staff", "platform"
ROLE_ZH = {VILLAGE: "甲方（出租方）", WINNER: "乙方（承租方）", PLATFORM: "鉴证方"}


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class PdfStore:
    """Signed PDFs under RURALX_DATA_DIR/contracts/<id>/<sha256>.pdf (written once)."""

    def __init__(self, data_dir: str) -> None:
        self.root = Path(data_dir) / "contracts"

    def put(self, contract_id: int, data: bytes) -> str:
        digest = sha256(data)
        path = self.root / str(contract_id) / f"{digest}.pdf"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_bytes(data)
            tmp.replace(path)
        return digest

    def get(self, contract_id: int, digest: str) -> bytes:
        data = (self.root / str(contract_id) / f"{digest}.pdf").read_bytes()
        if sha256(data) != digest:
            raise RuntimeError(f"stored contract file {contract_id}/{digest} is damaged")
        return data


# --- drafting (inside the deal's transaction) ---------------------------------------------------


def _end_of_day(day: Any) -> datetime:
    return datetime.combine(day + timedelta(days=1), time(0), CHINA_TZ).astimezone(UTC)


async def draft(session: AsyncSession, deal: Deal, now: datetime) -> Contract:
    """Draft the lease from the deal: snapshot, payables, `deal.contract_id`, ledger entry."""
    existing = await session.scalar(select(Contract).where(Contract.listing_id == deal.listing_id))
    if existing is not None:
        deal.contract_id = existing.id
        return existing
    listing = await session.get(Listing, deal.listing_id)
    registration = await session.get(Registration, deal.registration_id)
    assert listing is not None and registration is not None
    village = await session.get(Region, listing.village_id)
    winner = await session.get(User, registration.bidder_id)
    agent = await session.get(User, listing.created_by)
    assert village is not None and winner is not None and agent is not None
    settings = await exchange_settings.load(session)
    deadline_day = settings.calendar().add_working_days(
        local_date(deal.decided_at), settings.contract_sign_deadline_working_days
    )
    lease_start = content.first_of_next_month(deadline_day)
    deposit = registration.deposit_fen if registration.deposit_state == "held" else 0
    data = content.contract_data(
        deal=content.DealFacts(
            listing.id, deal.kind, deal.listing_fen, deal.final_fen, deal.rounds, deal.decided_at
        ),
        parties=content.Parties(
            village_name=village.name,
            village_path=village.path,
            village_agent=agent.display_name,
            winner_name=winner.display_name,
            winner_id_type=winner.id_type,
            winner_id_number=winner.id_number,
            winner_phone=winner.phone,
            winner_number=deal.winner_number,
        ),
        asset=content.Asset(
            listing.title,
            listing.category,
            listing.location,
            listing.area,
            listing.area_unit,
            listing.description,
        ),
        terms=listing.terms,
        deposit_fen=deposit,
        lease_start=lease_start,
        sign_deadline=deadline_day,
    )
    items = content.schedule(listing.terms, deal.final_fen, lease_start, deposit)
    contract = Contract(
        listing_id=listing.id,
        number=data["numbers"]["contract"],
        state=ContractState.DRAFTED,
        village_id=village.id,
        winner_id=winner.id,
        registration_id=registration.id,
        data=data,
        template_version=content.TEMPLATE_VERSION,
        lease_start=lease_start,
        sign_deadline=_end_of_day(deadline_day),
        render_at=deal.decided_at.replace(microsecond=0),
        drafted_at=now,
        updated_at=now,
    )
    session.add(contract)
    await session.flush()
    for item in items:
        session.add(
            RentItem(
                contract_id=contract.id,
                listing_id=listing.id,
                number=item.number,
                period_start=item.period_start,
                period_end=item.period_end,
                due_date=item.due_date,
                amount_fen=item.amount_fen,
                credited_fen=item.credited_fen,
                state="pending",
            )
        )
    deal.contract_id = contract.id
    await session.flush()
    await ledger.append(
        session,
        subject=subject(listing.id),
        type="contract.drafted",
        actor="system",
        at=now,
        payload={
            "contract_id": contract.id,
            "number": contract.number,
            "state": contract.state,
            "sign_deadline": ledger.timestamp(contract.sign_deadline),
            "lease_start": lease_start.isoformat(),
            "contract_value_fen": sum(i.amount_fen for i in items),
            "installments": len(items),
            "data_sha256": sha256(document.canonical(data)),
        },
    )
    return contract


# --- who may see and do what --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Access:
    contract: Contract
    village: Region
    #: village | winner | staff
    role: str


async def load(
    session: AsyncSession,
    who: Actor,
    contract_id: int,
    *,
    lock: bool = False,
) -> Access:
    """The contract for its parties and staff within their jurisdiction; 404 for anyone else."""
    query = select(Contract).where(Contract.id == contract_id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    contract = await session.scalar(query)
    if contract is None:
        raise NotFound("contract.not_found", "合同不存在")
    village = await session.get(Region, contract.village_id)
    assert village is not None
    listing_state = await session.scalar(
        select(Listing.state).where(Listing.id == contract.listing_id)
    )
    assert listing_state is not None
    policy.require(who, Facet.CONTRACT, listing_state, village, owner=contract.winner_id)
    if who.id == contract.winner_id:
        return Access(contract, village, WINNER)
    return Access(contract, village, VILLAGE if policy.acts_for(who, village) else STAFF)


async def signatures_of(session: AsyncSession, contract_id: int) -> list[Signature]:
    rows = await session.scalars(
        select(Signature)
        .where(Signature.contract_id == contract_id)
        .order_by(Signature.signed_at, Signature.id)
    )
    return list(rows)


async def rent_items_of(session: AsyncSession, contract_id: int) -> list[RentItem]:
    rows = await session.scalars(
        select(RentItem).where(RentItem.contract_id == contract_id).order_by(RentItem.number)
    )
    return list(rows)


def next_signer(state: str) -> str | None:
    return {ContractState.DRAFTED: VILLAGE, ContractState.SIGNED_BY_VILLAGE: WINNER}.get(state)


def is_overdue(contract: Contract, now: datetime) -> bool:
    return next_signer(contract.state) is not None and now >= contract.sign_deadline


async def overdue(session: AsyncSession, now: datetime) -> list[Contract]:
    """Contracts past their signing deadline and not yet signed by both (for warnings)."""
    rows = await session.scalars(
        select(Contract)
        .where(
            Contract.state.in_([ContractState.DRAFTED, ContractState.SIGNED_BY_VILLAGE]),
            Contract.sign_deadline <= now,
        )
        .order_by(Contract.sign_deadline)
    )
    return list(rows)


async def view(
    session: AsyncSession,
    access: Access,
    now: datetime,
    *,
    pdf_sha256: str,
) -> dict[str, Any]:
    contract = access.contract
    data = contract.data
    winner = await session.get(User, contract.winner_id)
    assert winner is not None
    items = await rent_items_of(session, contract.id)
    return {
        "id": contract.id,
        "listing_id": contract.listing_id,
        "number": contract.number,
        "state": contract.state,
        "next_signer": next_signer(contract.state),
        "your_role": access.role,
        "parties": {
            "village": {
                "name": data["village"]["party"],
                "region": access.village.path,
                "agent": data["village"]["agent"],
            },
            "winner": {
                "name": winner.display_name,
                "bidder_number": data["winner"]["number"],
                "id_number": mask_id_number(winner.id_number) if winner.id_number else None,
            },
        },
        "final_fen": _fen(data, "final"),
        "lease_start": contract.lease_start.isoformat(),
        "sign_deadline": contract.sign_deadline.isoformat(),
        "overdue": is_overdue(contract, now),
        "pdf_sha256": pdf_sha256,
        "signatures": [_signature_view(s) for s in await signatures_of(session, contract.id)],
        "certificate": None
        if contract.certificate_sha256 is None
        else {
            "number": contract.certificate_number,
            "sha256": contract.certificate_sha256,
            "certified_at": contract.certified_at.isoformat() if contract.certified_at else None,
        },
        "rent_items": [
            {
                "number": i.number,
                "period_start": i.period_start.isoformat(),
                "period_end": i.period_end.isoformat(),
                "due_date": i.due_date.isoformat(),
                "amount_fen": i.amount_fen,
                "credited_fen": i.credited_fen,
                "payable_fen": i.amount_fen - i.credited_fen,
                "state": i.state,
            }
            for i in items
        ],
        "contract_value_fen": sum(i.amount_fen for i in items),
        "drafted_at": contract.drafted_at.isoformat(),
        "signed_at": contract.signed_at.isoformat() if contract.signed_at else None,
    }


def _fen(data: dict[str, Any], which: str) -> int:
    return int(data["price"][which].replace(",", "").replace(".", ""))


def _signature_view(s: Signature) -> dict[str, Any]:
    return {
        "role": s.role,
        "signer": s.subject,
        "signed_at": s.signed_at.isoformat(),
        "field": s.field_name,
        "certificate_sha256": s.certificate_sha256,
        "signed_sha256": s.input_sha256,
        "document_sha256": s.output_sha256,
    }


# --- documents ---------------------------------------------------------------------------------


async def contract_pdf(
    config: Config,
    contract: Contract,
) -> tuple[bytes, document.Rendered | None]:
    """The current contract file: the last signed version, or the draft rendered from data."""
    if contract.pdf_sha256 is not None:
        data = await asyncio.to_thread(
            PdfStore(config.data_dir).get, contract.id, contract.pdf_sha256
        )
        return data, None
    rendered = await asyncio.to_thread(
        document.render, "contract", contract.data, at=contract.render_at
    )
    return rendered.pdf, rendered


async def confirmation_pdf(contract: Contract) -> bytes:
    rendered = await asyncio.to_thread(
        document.render, "confirmation", contract.data, at=contract.render_at
    )
    return rendered.pdf


async def certificate_pdf(config: Config, contract: Contract) -> bytes:
    if contract.certificate_sha256 is None:
        raise NotFound("contract.not_certified", "交易鉴证书尚未出具")
    return await asyncio.to_thread(
        PdfStore(config.data_dir).get, contract.id, contract.certificate_sha256
    )


async def authority(config: Config, now: datetime) -> ca.Authority:
    return await asyncio.to_thread(ca.open_authority, config.data_dir, config.secret_key, now)


async def current_crls(
    session: AsyncSession,
    auth: ca.Authority,
    now: datetime,
) -> tuple[Any, ...]:
    rows = await session.scalars(
        select(SigningCertificate).where(SigningCertificate.revoked_at.is_not(None))
    )
    revoked = [
        ca.Revoked(int(r.serial, 16), r.revoked_at) for r in rows if r.revoked_at is not None
    ]
    return auth.crls(revoked, now)


# --- signing ------------------------------------------------------------------------------------


def _signing_role(access: Access) -> str:
    state = access.contract.state
    if access.role == STAFF:
        raise PermissionDenied("contract.not_a_party", "只有合同双方可以签署合同")
    if access.role == VILLAGE:
        if state != ContractState.DRAFTED:
            raise Conflict("contract.already_signed", "村集体已签署该合同")
        return VILLAGE
    if state == ContractState.DRAFTED:
        raise Conflict("contract.village_first", "须由村集体（甲方）先签署，乙方随后签署")
    if state != ContractState.SIGNED_BY_VILLAGE:
        raise Conflict("contract.already_signed", "您已签署该合同")
    return WINNER


async def _credentials(
    svc: Services,
    who: Actor,
    auth: ca.Authority,
    organisation: str | None,
    now: datetime,
) -> tuple[signing.Credentials, SigningCertificate]:
    """The signer's current certificate and key, issued by the platform CA on first use."""
    user = who.user
    masked = mask_id_number(user.id_number) if user.id_number else f"UID-{user.id}"
    async with svc.db.read() as session:
        current = await session.scalar(
            select(SigningCertificate)
            .where(
                SigningCertificate.user_id == user.id,
                SigningCertificate.revoked_at.is_(None),
                SigningCertificate.not_after > now + timedelta(days=1),
                SigningCertificate.not_before <= now,
            )
            .order_by(SigningCertificate.issued_at.desc(), SigningCertificate.id.desc())
            .limit(1)
        )
    if current is not None:
        cert = x509.load_pem_x509_certificate(current.pem.encode())
        if signing.common_name(cert) == user.display_name:
            key = await asyncio.to_thread(auth.load_key, current.key_path, current.serial)
            return signing.Credentials(cert, key), current
    issued = await asyncio.to_thread(
        auth.issue_person,
        name=user.display_name,
        masked_id=masked,
        now=now,
        organisation=organisation,
    )
    key_path = await asyncio.to_thread(auth.store_key, issued)
    cert = issued.certificate
    row = SigningCertificate(
        user_id=user.id,
        serial=issued.serial_hex,
        subject=cert.subject.rfc4514_string(),
        sha256=issued.fingerprint,
        pem=cert.public_bytes(serialization.Encoding.PEM).decode(),
        key_path=key_path,
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        issued_at=now,
    )
    async with svc.db.write() as session:
        session.add(row)
        await session.flush()
        await ledger.append(
            session,
            subject=f"user:{user.id}",
            type="certificate.issued",
            actor="system",
            at=now,
            payload={
                "certificate_id": row.id,
                "serial": row.serial,
                "subject": row.subject,
                "sha256": row.sha256,
                "not_after": ledger.timestamp(row.not_after),
            },
        )
    return signing.Credentials(cert, issued.key), row


async def sign(
    svc: Services,
    who: Actor,
    contract_id: int,
    *,
    password: str,
    expected_sha256: str | None,
    ip: str | None = None,
    user_agent: str | None = None,
) -> dict[str, Any]:
    """Sign as the next party after re-checking the password; answers the hash signed."""
    now = svc.now()
    async with svc.db.read() as session:
        access = await load(session, who, contract_id)
        role = _signing_role(access)
    contract = access.contract
    throttle_key = f"sign:{who.id}"
    await svc.throttle.attempt(throttle_key)  # counted before the comparison: no bursts
    if not await asyncio.to_thread(svc.passwords.check, who.user.password_hash, password):
        raise PermissionDenied("contract.password_incorrect", "密码不正确，合同未签署")
    await svc.throttle.cleared(throttle_key)
    auth = await authority(svc.config, now)
    organisation = f"{access.village.name}集体经济组织" if role == VILLAGE else None
    credentials, cert_row = await _credentials(svc, who, auth, organisation, now)
    async with svc.db.read() as session:
        crls = await current_crls(session, auth, now)
    pdf, rendered = await contract_pdf(svc.config, contract)
    signed_sha = sha256(pdf)
    if expected_sha256 is not None and expected_sha256.lower() != signed_sha:
        raise Conflict(
            "contract.document_changed", "合同文件已变化，请重新查看后再签署", sha256=signed_sha
        )
    if role == VILLAGE:
        assert rendered is not None
        output = await asyncio.to_thread(
            signing.sign_as_village,
            pdf,
            rendered.boxes,
            auth,
            credentials,
            crls,
            now,
            reason=f"{ROLE_ZH[VILLAGE]}签署合同 {contract.number}",
        )
        new_state = ContractState.SIGNED_BY_VILLAGE
    else:
        output = await asyncio.to_thread(
            signing.sign_as_winner,
            pdf,
            auth,
            credentials,
            crls,
            now,
            reason=f"{ROLE_ZH[WINNER]}签署合同 {contract.number}",
        )
        new_state = ContractState.SIGNED
    output_sha = await asyncio.to_thread(PdfStore(svc.config.data_dir).put, contract.id, output)
    async with svc.db.write() as session:
        locked = (await load(session, who, contract_id, lock=True)).contract
        if locked.state != contract.state or locked.pdf_sha256 != contract.pdf_sha256:
            raise Conflict("contract.changed", "合同状态已变化，请刷新后重试")
        locked.state, locked.pdf_sha256, locked.updated_at = new_state, output_sha, now
        signature = Signature(
            contract_id=locked.id,
            role=role,
            signer_id=who.id,
            certificate_id=cert_row.id,
            field_name=signing.VILLAGE_FIELD if role == VILLAGE else signing.WINNER_FIELD,
            subject=signing.common_name(credentials.certificate),
            certificate_sha256=cert_row.sha256,
            input_sha256=signed_sha,
            output_sha256=output_sha,
            signed_at=now,
            ip=ip,
            user_agent=(user_agent or "")[:256] or None,
        )
        session.add(signature)
        await session.flush()
        await ledger.append(
            session,
            subject=subject(locked.listing_id),
            type="contract.signed" if role == WINNER else "contract.signed_by_village",
            actor=who.name,
            at=now,
            payload={
                "contract_id": locked.id,
                "state": locked.state,
                "role": role,
                "signed_sha256": signed_sha,
                "document_sha256": output_sha,
                "certificate_serial": cert_row.serial,
                "certificate_sha256": cert_row.sha256,
                "ip": ip,
            },
        )
        if role == WINNER:
            locked.signed_at = now
            await settlement.credit_deposit(session, locked, now)
    return {
        "id": contract_id,
        "state": new_state,
        "role": role,
        "signed_sha256": signed_sha,
        "document_sha256": output_sha,
        "signed_at": now.isoformat(),
        "certificate": {
            "subject": cert_row.subject,
            "serial": cert_row.serial,
            "sha256": cert_row.sha256,
        },
    }


async def certify(svc: Services, who: Actor, contract_id: int) -> dict[str, Any]:
    """Staff issue the transaction certificate (交易鉴证书) of a signed contract."""
    who.require("reviewer")
    now = svc.now()
    async with svc.db.read() as session:
        access = await load(session, who, contract_id)
        contract = access.contract
        if contract.state != ContractState.SIGNED:
            raise Conflict("contract.not_signed", "合同须经双方签署后才能出具交易鉴证书")
        signatures = await signatures_of(session, contract.id)
    assert contract.pdf_sha256 is not None
    data = content.certificate_data(
        contract.data,
        contract_sha256=contract.pdf_sha256,
        certified_at=now,
        signatures=[
            {"role": ROLE_ZH[s.role], "signer": s.subject, "at": content.zh_datetime(s.signed_at)}
            for s in signatures
        ],
    )
    auth = await authority(svc.config, now)
    async with svc.db.read() as session:
        crls = await current_crls(session, auth, now)
    rendered = await asyncio.to_thread(document.render, "certificate", data, at=now)
    output = await asyncio.to_thread(
        signing.sign_as_platform,
        rendered.pdf,
        auth,
        crls,
        now,
        reason=f"出具交易鉴证书 {data['numbers']['certificate']}",
    )
    digest = await asyncio.to_thread(PdfStore(svc.config.data_dir).put, contract.id, output)
    async with svc.db.write() as session:
        locked = (await load(session, who, contract_id, lock=True)).contract
        if locked.state != ContractState.SIGNED:
            raise Conflict("contract.changed", "合同状态已变化，请刷新后重试")
        locked.state = ContractState.CERTIFIED
        locked.certificate_number = data["numbers"]["certificate"]
        locked.certificate_sha256, locked.certified_at, locked.updated_at = digest, now, now
        session.add(
            Signature(
                contract_id=locked.id,
                role=PLATFORM,
                signer_id=who.id,
                certificate_id=None,
                field_name=signing.PLATFORM_FIELD,
                subject=signing.common_name(auth.platform),
                certificate_sha256=auth.platform.fingerprint(hashes.SHA256()).hex(),
                input_sha256=sha256(rendered.pdf),
                output_sha256=digest,
                signed_at=now,
            )
        )
        await ledger.append(
            session,
            subject=subject(locked.listing_id),
            type="contract.certified",
            actor=who.name,
            at=now,
            payload={
                "contract_id": locked.id,
                "state": locked.state,
                "certificate_number": locked.certificate_number,
                "certificate_sha256": digest,
                "contract_sha256": locked.pdf_sha256,
            },
        )
    return {
        "id": contract_id,
        "state": ContractState.CERTIFIED,
        "certificate_number": data["numbers"]["certificate"],
        "certificate_sha256": digest,
    }


async def verification(svc: Services, who: Actor, contract_id: int) -> dict[str, Any]:
    """The signature report of the current contract file, against the platform root."""
    now = svc.now()
    async with svc.db.read() as session:
        contract = (await load(session, who, contract_id)).contract
    pdf, _ = await contract_pdf(svc.config, contract)
    auth = await authority(svc.config, now)
    roots = [signing.asn1_cert(auth.root)]
    report = await asyncio.to_thread(verify_pdf, pdf, roots, at=now)
    answer = {
        "contract_id": contract_id,
        "state": contract.state,
        "document_sha256": sha256(pdf),
        **report,
    }
    if contract.certificate_sha256 is not None:
        certificate = await certificate_pdf(svc.config, contract)
        answer["certificate"] = {
            "sha256": contract.certificate_sha256,
            **await asyncio.to_thread(verify_pdf, certificate, roots, at=now),
        }
    return answer
