"""A party signs the contract: the village first (certifying), then the winner (B-LTA).

Signing is optimistic: the password is re-checked and the PDF signed (CPU, in a worker
thread) outside any write transaction; a short transaction then re-checks that the contract
is still in the state and at the version that was signed, and records the result. Two racing
signers cannot both win; the loser gets 409 `contract.changed` and signs the new version.
When the winner signs, the held deposit is credited to the rent (`contracts.settlement`).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from contracts import notices, settlement, signing
from contracts.access import ROLE_ZH, STAFF, VILLAGE, WINNER, Access, load, relock
from contracts.certificates import credentials, current_crls
from contracts.deps import Deps
from contracts.files import contract_pdf, sha256
from contracts.models import ContractState, Signature
from contracts.schemas import Signed, SignerCertificate
from core.accounts import Actor, Passwords
from core.accounts.throttle import Throttle
from core.errors import Conflict, PermissionDenied
from listings.reading import record


@dataclass(frozen=True, slots=True)
class PasswordCheck:
    """The signer's password, re-checked under the throttle (key `sign:<user id>`)."""

    passwords: Passwords
    throttle: Throttle

    async def require(self, who: Actor, password: str) -> None:
        key = f"sign:{who.id}"
        await self.throttle.attempt(key)  # counted before the comparison: no bursts
        if not await asyncio.to_thread(self.passwords.check, who.user.password_hash, password):
            raise PermissionDenied("contract.password_incorrect", "密码不正确，合同未签署")
        await self.throttle.cleared(key)


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


async def sign(
    deps: Deps,
    check: PasswordCheck,
    who: Actor,
    contract_id: int,
    *,
    password: str,
    expected_sha256: str | None,
    ip: str | None = None,
    user_agent: str | None = None,
) -> Signed:
    """Sign as the next party after re-checking the password; answers the hash signed."""
    now = deps.clock.now()
    async with deps.db.read() as session:
        access = await load(session, who, contract_id)
        role = _signing_role(access)
    contract = access.contract
    await check.require(who, password)
    auth = await deps.keys.open(now)
    organisation = f"{access.village.name}集体经济组织" if role == VILLAGE else None
    creds, cert_row = await credentials(deps.db, who, auth, organisation, now)
    async with deps.db.read() as session:
        crls = await current_crls(session, auth, now)
    pdf, rendered = await contract_pdf(deps.files, contract)
    signed_sha = sha256(pdf)
    if expected_sha256 is not None and expected_sha256.lower() != signed_sha:
        raise Conflict(
            "contract.document_changed", "合同文件已变化，请重新查看后再签署", sha256=signed_sha
        )
    reason = f"{ROLE_ZH[role]}签署合同 {contract.number}"
    trust = signing.Trust(auth, crls, now)
    if role == VILLAGE:
        assert rendered is not None
        output = await asyncio.to_thread(
            signing.sign_as_village, pdf, rendered.boxes, trust, creds, reason=reason
        )
        new_state = ContractState.SIGNED_BY_VILLAGE
    else:
        output = await asyncio.to_thread(signing.sign_as_winner, pdf, trust, creds, reason=reason)
        new_state = ContractState.SIGNED
    output_sha = await deps.files.aput(contract.id, output)
    async with deps.db.write() as session:
        locked = await relock(session, who, contract)
        locked.state, locked.pdf_sha256, locked.updated_at = new_state, output_sha, now
        session.add(
            Signature(
                contract_id=locked.id,
                role=role,
                signer_id=who.id,
                certificate_id=cert_row.id,
                field_name=signing.VILLAGE_FIELD if role == VILLAGE else signing.WINNER_FIELD,
                subject=signing.common_name(creds.certificate),
                certificate_sha256=cert_row.sha256,
                input_sha256=signed_sha,
                output_sha256=output_sha,
                signed_at=now,
                ip=ip,
                user_agent=(user_agent or "")[:256] or None,
            )
        )
        await session.flush()
        await record(
            session,
            locked.listing_id,
            "contract.signed" if role == WINNER else "contract.signed_by_village",
            who.name,
            now,
            contract_id=locked.id,
            state=locked.state,
            role=role,
            signed_sha256=signed_sha,
            document_sha256=output_sha,
            certificate_serial=cert_row.serial,
            certificate_sha256=cert_row.sha256,
            ip=ip,
        )
        if role == WINNER:
            locked.signed_at = now
            await settlement.credit_deposit(session, locked, now)
            await settlement.release_runner_up(session, locked.listing_id, now)
            await notices.signed(session, locked, now)
        else:
            await notices.signed_by_village(session, locked, now)
    return Signed(
        id=contract_id,
        state=new_state,
        role=role,
        signed_sha256=signed_sha,
        document_sha256=output_sha,
        signed_at=now.isoformat(),
        certificate=SignerCertificate(
            subject=cert_row.subject, serial=cert_row.serial, sha256=cert_row.sha256
        ),
    )
