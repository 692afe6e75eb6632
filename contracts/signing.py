"""PAdES signing with pyHanko, backed by the platform CA (blocking: run in a worker thread).

* The village collective signs first with a *certifying* signature (DocMDP level 2: form
  filling and further signatures allowed). In the same revision both signature fields are
  created, at the signature areas the template drew, so the winner's signature changes
  nothing but its own field.
* Every signature carries a signature timestamp from the platform's TSA (PAdES B-T) and the
  revocation data of its chain goes into the document security store (B-LT).
* The winner signs second; a document timestamp then seals the validation data (B-LTA).
* The transaction certificate is signed (certified, no changes allowed) by the exchange.

All times come from the caller's clock (`at`): the signature's claimed time, the TSA's time
and the moment the chain is validated before signing.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from asn1crypto import cms, core, tsp
from asn1crypto import crl as asn1_crl
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, general, signers
from pyhanko.sign.fields import MDPPerm, SigFieldSpec, SigSeedSubFilter
from pyhanko.sign.general import simple_cms_attribute
from pyhanko.sign.signers.pdf_signer import PdfSignatureMetadata, PdfSigner, PdfSigningSession
from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper
from pyhanko.stamp import TextStampStyle
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore
from pyhanko_certvalidator.util import get_pyca_cryptography_hash

from contracts.ca import Authority
from contracts.ca_keys import PrivateKey
from contracts.document import SignatureBox
from core.clock import CHINA_TZ

# pyHanko warns on every signature that fetching is off: that is the point (no network).
logging.getLogger("pyhanko.sign.signers.pdf_signer").setLevel(logging.ERROR)

VILLAGE_FIELD, WINNER_FIELD, PLATFORM_FIELD = "Village", "Winner", "Exchange"

#: The visible stamp: pyHanko's built-in font has no CJK glyphs, the template prints the names.
STAMP = TextStampStyle(
    stamp_text="Digitally signed (PAdES)\n%(ts)s",
    background=None,
    border_width=1,
    timestamp_format="%Y-%m-%d %H:%M:%S %z",
)


def asn1_cert(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def asn1_key(key: PrivateKey) -> asn1_keys.PrivateKeyInfo:
    return asn1_keys.PrivateKeyInfo.load(
        key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def common_name(cert: x509.Certificate) -> str:
    names = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    return str(names[0].value) if names else cert.subject.rfc4514_string()


@dataclass(frozen=True, slots=True)
class Credentials:
    """Who signs: a certificate issued by the platform CA and its private key."""

    certificate: x509.Certificate
    key: PrivateKey


class _ClockedSigner(PdfSigner):
    """A PdfSigner whose claimed signing time is the exchange's clock, not the wall clock."""

    def __init__(self, *args: object, at: datetime, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._at = at

    def init_signing_session(
        self, pdf_out: object, existing_fields_only: bool = False
    ) -> PdfSigningSession:
        session = super().init_signing_session(pdf_out, existing_fields_only)  # type: ignore[arg-type]
        session.system_time = self._at.astimezone(CHINA_TZ)  # the stamp shows Beijing time
        return session


@dataclass(frozen=True, slots=True)
class Trust:
    """What a signature made now is checked against and carries: the platform CA, its current
    revocation lists, and the moment (the caller's clock) the signature claims."""

    authority: Authority
    crls: Sequence[x509.CertificateRevocationList]
    at: datetime
    #: The validation context and the TSA, made on first use: the signatures and document
    #: timestamps made under one Trust share the parsed chain and CRLs and the TSA's sample
    #: token pyHanko sizes signatures with (not thread-safe: one Trust, one signing sequence).
    _made: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def context(self) -> ValidationContext:
        made = self._made.get("context")
        if made is None:
            made = self._made["context"] = validation_context(self)
        assert isinstance(made, ValidationContext)
        return made

    @property
    def timestamper(self) -> DummyTimeStamper:
        made = self._made.get("timestamper")
        if made is None:
            made = self._made["timestamper"] = timestamper(self.authority, self.at)
        assert isinstance(made, DummyTimeStamper)
        return made


def validation_context(trust: Trust) -> ValidationContext:
    """The chain and the CRLs the signer validates against and embeds (no network)."""
    return ValidationContext(
        trust_roots=[asn1_cert(trust.authority.root)],
        other_certs=[asn1_cert(c) for c in trust.authority.chain()],
        crls=[
            asn1_crl.CertificateList.load(c.public_bytes(serialization.Encoding.DER))
            for c in trust.crls
        ],
        allow_fetching=False,
        revocation_mode="require",
        moment=trust.at,
    )


class _PlatformTimeStamper(DummyTimeStamper):
    """pyHanko's in-process TSA, signing with the key the authority holds already loaded.

    The stock one re-imports its RSA key from DER for every token, and importing re-runs
    OpenSSL's RSA key check (primality of p and q): tens of ms a token, three or more a
    contract. The token is built as pyHanko builds it, its constant signing-certificate
    attribute once, and handed on parsed (see `_Signer`)."""

    def __init__(self, authority: Authority, at: datetime) -> None:
        super().__init__(
            tsa_cert=asn1_cert(authority.tsa),
            tsa_key=asn1_key(authority.tsa_key),
            certs_to_embed=SimpleCertificateStore.from_certs(
                [asn1_cert(authority.intermediate), asn1_cert(authority.root)]
            ),
            fixed_dt=at,
        )
        self._key = authority.tsa_key
        self._signing_certificate = cms.CMSAttribute.load(
            simple_cms_attribute(
                "signing_certificate", general.as_signing_certificate(self.tsa_cert)
            ).dump()
        )

    def request_tsa_response(self, req: tsp.TimeStampReq) -> tsp.TimeStampResp:
        # As from a TSA over the network: the response as parsed DER, not a built tree.
        return tsp.TimeStampResp.load(super().request_tsa_response(req).dump())

    def _sign_tst_info(
        self, tst_info_data: bytes, md_algorithm: str, dt: datetime
    ) -> tuple[bytes, cms.CMSAttributes]:
        digest = hashes.Hash(get_pyca_cryptography_hash(md_algorithm))
        digest.update(tst_info_data)
        signed_attrs = cms.CMSAttributes(
            [
                simple_cms_attribute("content_type", "tst_info"),
                simple_cms_attribute("signing_time", cms.Time({"utc_time": core.UTCTime(dt)})),
                self._signing_certificate,
                simple_cms_attribute("message_digest", digest.finalize()),
            ]
        )
        der = signed_attrs.dump()
        signature = self._key.sign(
            der, PKCS1v15(), get_pyca_cryptography_hash(md_algorithm.upper())
        )
        return signature, cms.CMSAttributes.load(der)


def timestamper(authority: Authority, at: datetime) -> DummyTimeStamper:
    """The platform's own RFC 3161 TSA, in process, its certificate issued by the platform CA."""
    return _PlatformTimeStamper(authority, at)


class _Signer(signers.SimpleSigner):
    """pyHanko's signer, handing the attribute sets on as parsed DER (the same bytes).

    asn1crypto deep-copies a value when it is tagged into place (the attribute sets in the
    SignerInfo) and re-encodes a built tree on every copy and dump; a parsed value it copies
    and writes out as the bytes it holds: most of the work of assembling each CMS."""

    async def signed_attrs(self, *args: Any, **kwargs: Any) -> cms.CMSAttributes:
        attrs = await super().signed_attrs(*args, **kwargs)
        return cms.CMSAttributes.load(attrs.dump())

    async def unsigned_attrs(self, *args: Any, **kwargs: Any) -> cms.CMSAttributes | None:
        attrs = await super().unsigned_attrs(*args, **kwargs)
        return None if attrs is None else cms.CMSAttributes.load(attrs.dump())


def _signer(authority: Authority, who: Credentials) -> signers.SimpleSigner:
    registry = SimpleCertificateStore.from_certs(
        [asn1_cert(authority.intermediate), asn1_cert(authority.root)]
    )
    return _Signer(asn1_cert(who.certificate), asn1_key(who.key), registry)


def _sign(
    writer: IncrementalPdfFileWriter,
    meta: PdfSignatureMetadata,
    trust: Trust,
    who: Credentials,
    *,
    stamp: bool = True,
) -> bytes:
    signer = _ClockedSigner(
        meta,
        _signer(trust.authority, who),
        timestamper=trust.timestamper,
        stamp_style=STAMP if stamp else None,
        at=trust.at,
    )
    out = signer.sign_pdf(writer, existing_fields_only=True)
    return bytes(out.getvalue())


def _pades(field_name: str, trust: Trust, reason: str, **kind: Any) -> PdfSignatureMetadata:
    """What every platform signature shares (PAdES, SHA-256, embedded validation data);
    `kind` says certifying or approval, the DocMDP level, LTA, the signer's name."""
    return PdfSignatureMetadata(
        field_name=field_name,
        subfilter=SigSeedSubFilter.PADES,
        md_algorithm="sha256",
        embed_validation_info=True,
        validation_context=trust.context,
        reason=reason,
        location="中国",
        **kind,
    )


def sign_as_village(
    pdf: bytes, boxes: dict[str, SignatureBox], trust: Trust, who: Credentials, *, reason: str
) -> bytes:
    """The first, certifying signature; creates both signature fields."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    for field_name, role in ((VILLAGE_FIELD, "village"), (WINNER_FIELD, "winner")):
        place = boxes[role]
        fields.append_signature_field(
            writer, SigFieldSpec(field_name, on_page=place.page, box=place.box)
        )
    name = common_name(who.certificate)
    meta = _pades(
        VILLAGE_FIELD,
        trust,
        reason,
        certify=True,
        docmdp_permissions=MDPPerm.FILL_FORMS,
        name=name,
    )
    return _sign(writer, meta, trust, who)


def sign_as_winner(pdf: bytes, trust: Trust, who: Credentials, *, reason: str) -> bytes:
    """The second signature, then the DSS and a document timestamp (PAdES B-LTA)."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    name = common_name(who.certificate)
    meta = _pades(WINNER_FIELD, trust, reason, use_pades_lta=True, name=name)
    return _sign(writer, meta, trust, who)


def sign_as_platform(pdf: bytes, trust: Trust, *, reason: str) -> bytes:
    """The exchange certifies a document it issued (the transaction certificate)."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    fields.append_signature_field(writer, SigFieldSpec(PLATFORM_FIELD, on_page=0))
    meta = _pades(
        PLATFORM_FIELD,
        trust,
        reason,
        certify=True,
        docmdp_permissions=MDPPerm.NO_CHANGES,
        use_pades_lta=True,
    )
    platform = Credentials(trust.authority.platform, trust.authority.platform_key)
    return _sign(writer, meta, trust, platform, stamp=False)
