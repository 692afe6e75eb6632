"""The exchange certifies a signed contract: the transaction certificate (交易鉴证书).

The certificate is rendered with the signed contract's SHA-256 and its signers, and signed by
the exchange's own certificate (certifying, DocMDP P=1, B-LTA). → `certified`.
"""

from __future__ import annotations

import asyncio

from cryptography.hazmat.primitives import hashes
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from auction.models import Deal
from contracts import attestation, content, document, signing
from contracts.access import PLATFORM, ROLE_ZH, load, relock, signatures_of
from contracts.certificates import current_crls
from contracts.deps import Deps
from contracts.files import sha256
from contracts.models import ContractState, Objection, ObjectionState, Signature
from contracts.schemas import Certified
from core.accounts import Actor
from core.errors import Conflict
from listings import Listing
from listings.reading import record


async def certify(deps: Deps, who: Actor, contract_id: int) -> Certified:
    """Staff issue the transaction certificate (交易鉴证书) of a signed contract."""
    who.require("reviewer")
    now = deps.clock.now()
    async with deps.db.read() as session:
        access = await load(session, who, contract_id)
        contract = access.contract
        if contract.state != ContractState.SIGNED:
            raise Conflict("contract.not_signed", "合同须经双方签署后才能出具交易鉴证书")
        signatures = await signatures_of(session, contract.id)
        publicity = await _publicity(session, contract.listing_id)
    assert contract.pdf_sha256 is not None
    data = attestation.certificate_data(
        contract.data,
        contract_sha256=contract.pdf_sha256,
        certified_at=now,
        publicity=publicity,
        signatures=[
            {"role": ROLE_ZH[s.role], "signer": s.subject, "at": content.zh_datetime(s.signed_at)}
            for s in signatures
        ],
    )
    number = data["numbers"]["certificate"]
    auth = await deps.keys.open(now)
    async with deps.db.read() as session:
        crls = await current_crls(session, auth, now)
    rendered = await asyncio.to_thread(document.render, "certificate", data, at=now)
    output = await asyncio.to_thread(
        signing.sign_as_platform,
        rendered.pdf,
        signing.Trust(auth, crls, now),
        reason=f"出具交易鉴证书 {number}",
    )
    digest = await deps.files.aput(contract.id, output)
    async with deps.db.write() as session:
        locked = await relock(session, who, contract)
        locked.state = ContractState.CERTIFIED
        locked.certificate_number = number
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
        await record(
            session,
            locked.listing_id,
            "contract.certified",
            who.name,
            now,
            contract_id=locked.id,
            state=locked.state,
            certificate_number=locked.certificate_number,
            certificate_sha256=digest,
            contract_sha256=locked.pdf_sha256,
        )
    return Certified(
        id=contract_id,
        state=ContractState.CERTIFIED,
        certificate_number=number,
        certificate_sha256=digest,
    )


async def _publicity(session: AsyncSession, listing_id: int) -> attestation.Publicity:
    """The deal's publicity and the objections decided during it, for the certificate."""
    deal = await session.get(Deal, listing_id)
    listing = await session.get(Listing, listing_id)
    assert deal is not None and listing is not None
    states = list(
        await session.scalars(select(Objection.state).where(Objection.listing_id == listing_id))
    )
    return attestation.Publicity(
        deal.decided_at,
        listing.publicity_ends_at,
        upheld=states.count(ObjectionState.UPHELD),
        dismissed=states.count(ObjectionState.DISMISSED),
    )
