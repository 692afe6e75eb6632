"""The platform CA at work: opening it, people's signing certificates (issued on first use,
revoked by an admin), the CRLs and the PEM files relying parties download.

`contracts.ca` builds certificates; this module keeps the record of them
(`signing_certificates`, one ledger entry on the person's chain per issue and revocation).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts import ca, signing
from contracts.models import SigningCertificate
from contracts.schemas import Revocation
from core import ledger
from core.accounts import Actor
from core.db import Database
from core.errors import Conflict, NotFound
from core.ids import mask_id_number


@dataclass(frozen=True, slots=True)
class Keys:
    """Where the platform CA lives (`data_dir/ca`) and the secret its keys are sealed with."""

    data_dir: str
    secret_key: str

    async def open(self, now: datetime) -> ca.Authority:
        """The CA, created on first use; off the event loop (file locks, key decryption)."""
        return await asyncio.to_thread(ca.open_authority, self.data_dir, self.secret_key, now)


async def current_crls(
    session: AsyncSession,
    auth: ca.Authority,
    now: datetime,
) -> tuple[x509.CertificateRevocationList, ...]:
    rows = await session.scalars(
        select(SigningCertificate).where(SigningCertificate.revoked_at.is_not(None))
    )
    revoked = [
        ca.Revoked(int(r.serial, 16), r.revoked_at) for r in rows if r.revoked_at is not None
    ]
    return auth.crls(revoked, now)


def _pem(*items: x509.Certificate | x509.CertificateRevocationList) -> bytes:
    return b"".join(item.public_bytes(serialization.Encoding.PEM) for item in items)


async def root_pem(keys: Keys, now: datetime) -> bytes:
    """The trust anchor."""
    return (await keys.open(now)).root_pem()


async def chain_pem(keys: Keys, now: datetime) -> bytes:
    """The intermediate, the TSA and the exchange's own certificate."""
    auth = await keys.open(now)
    return _pem(*auth.chain(), auth.tsa, auth.platform)


async def crl_pem(db: Database, keys: Keys, now: datetime) -> bytes:
    """Fresh CRLs of both issuers."""
    auth = await keys.open(now)
    async with db.read() as session:
        return _pem(*await current_crls(session, auth, now))


async def credentials(
    db: Database,
    who: Actor,
    auth: ca.Authority,
    organisation: str | None,
    now: datetime,
) -> tuple[signing.Credentials, SigningCertificate]:
    """The signer's current certificate and key, issued by the platform CA on first use."""
    user = who.user
    masked = mask_id_number(user.id_number) if user.id_number else f"UID-{user.id}"
    async with db.read() as session:
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
    async with db.write() as session:
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


async def revoke(
    db: Database,
    who: Actor,
    certificate_id: int,
    *,
    reason: str,
    now: datetime,
) -> Revocation:
    """An admin revokes a person's signing certificate; the next CRL lists it."""
    who.require("admin")
    async with db.write() as session:
        row = await session.scalar(
            select(SigningCertificate)
            .where(SigningCertificate.id == certificate_id)
            .with_for_update()
        )
        if row is None:
            raise NotFound("certificate.not_found", "证书不存在")
        if row.revoked_at is not None:
            raise Conflict("certificate.already_revoked", "该证书已被吊销")
        row.revoked_at, row.revocation_reason = now, (reason or "unspecified")[:32]
        await ledger.append(
            session,
            subject=f"user:{row.user_id}",
            type="certificate.revoked",
            actor=who.name,
            at=now,
            payload={"certificate_id": row.id, "serial": row.serial, "reason": reason},
        )
        return Revocation(id=row.id, serial=row.serial, revoked_at=now.isoformat())
