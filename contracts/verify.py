"""Validate the signatures of a PDF against the platform root: the API's and the CLI's report.

Each signature is checked with pyHanko's PAdES long-term validation (ETSI EN 319 102-1
§5.6.3: the document timestamp chain and the revocation data embedded in the document's DSS
prove the signatures existed while the certificates were good), and with pyHanko's
incremental-update analysis: what was changed after each signature, and whether the
certifying signature's DocMDP permissions allow it.

A document is `valid` when it has at least one signature, every signature and document
timestamp is intact and trusted, nothing after a signature goes beyond form filling and
signing, and no signature field is left unsigned (a contract with a removed signature is not
a signed contract).
"""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import DEFAULT_DIFF_POLICY, ModificationLevel
from pyhanko.sign.fields import enumerate_sig_fields
from pyhanko.sign.validation import SignatureCoverageLevel, async_validate_pdf_timestamp
from pyhanko.sign.validation.ades import ades_lta_validation
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.policy_decl import (
    LocalKnowledge,
    PdfSignatureValidationSpec,
    RevinfoOnlineFetchingRule,
    RevocationInfoGatheringSpec,
    SignatureValidationSpec,
)
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.context import CertValidationPolicySpec
from pyhanko_certvalidator.ltv.types import ValidationTimingInfo
from pyhanko_certvalidator.policy_decl import (
    REQUIRE_REVINFO,
    CertRevTrustPolicy,
    FreshnessReqType,
)
from pyhanko_certvalidator.registry import SimpleTrustManager

log = logging.getLogger("ruralx.contracts.verify")

#: The most a later revision may change for an earlier signature to stay valid.
ALLOWED = ModificationLevel.FORM_FILLING


def load_trust_roots(pem_or_der: bytes) -> list[asn1_x509.Certificate]:
    """Certificates from a PEM bundle (one or more) or a single DER certificate."""
    from asn1crypto import pem

    if pem.detect(pem_or_der):
        return [asn1_x509.Certificate.load(der) for _, _, der in pem.unarmor(pem_or_der, True)]
    return [asn1_x509.Certificate.load(pem_or_der)]


def _name(cert: asn1_x509.Certificate) -> str:
    native = cert.subject.native
    return str(native.get("common_name") or cert.subject.human_friendly)


def _serial_attr(cert: asn1_x509.Certificate) -> str | None:
    value = cert.subject.native.get("serial_number")
    return str(value) if value is not None else None


def _iso(dt: datetime | None) -> str | None:
    return dt.astimezone(UTC).isoformat() if dt is not None else None


def _level(value: Any) -> str | None:
    return value.name if value is not None else None


def _modification_ok(level: ModificationLevel | None) -> bool:
    return level is None or level.value <= ALLOWED.value


def _coverage_ok(coverage: SignatureCoverageLevel | None) -> bool:
    # A signature must cover a whole revision; anything less leaves bytes unsigned.
    return coverage is not None and coverage.value >= SignatureCoverageLevel.ENTIRE_REVISION.value


async def _signature_entry(
    sig: EmbeddedPdfSignature,
    spec: PdfSignatureValidationSpec,
    timing: ValidationTimingInfo,
) -> dict[str, Any]:
    entry: dict[str, Any] = {"field": sig.field_name, "kind": "signature"}
    try:
        cert = sig.signer_cert
        entry.update(
            signer=_name(cert),
            signer_serial_number=_serial_attr(cert),
            certificate_sha256=cert.sha256.hex(),
        )
        result = await ades_lta_validation(sig, spec, timing_info=timing)
        status = result.api_status
        assert status is not None
        ts = status.timestamp_validity
        entry.update(
            signed_at=_iso(ts.timestamp if ts is not None else status.signer_reported_dt),
            claimed_at=_iso(status.signer_reported_dt),
            timestamp=None
            if ts is None
            else {
                "at": _iso(ts.timestamp),
                "intact": ts.intact,
                "valid": ts.valid,
                "trusted": ts.trusted,
                "tsa": _name(ts.signing_cert),
            },
            intact=bool(status.intact and status.valid),
            trusted=bool(status.trusted),
            coverage=_level(status.coverage),
            modification_level=_level(status.modification_level),
            docmdp_ok=status.docmdp_ok,
            certifying="/Reference" in sig.sig_object,
            docmdp_permission=_level(sig.docmdp_level),
            ades=_level(result.ades_subindic) if result.ades_subindic else "PASSED",
        )
        entry["valid"] = bool(
            status.bottom_line
            and _modification_ok(status.modification_level)
            and _coverage_ok(status.coverage)
        )
    except Exception as exc:  # a damaged signature is a finding, not a crash
        log.info("signature %s does not validate: %s", sig.field_name, exc)
        entry.update(intact=False, trusted=False, valid=False, error=str(exc) or type(exc).__name__)
    return entry


async def _timestamp_entry(
    sig: EmbeddedPdfSignature,
    context: ValidationContext,
) -> dict[str, Any]:
    entry: dict[str, Any] = {"field": sig.field_name, "kind": "document_timestamp"}
    try:
        entry["signer"] = _name(sig.signer_cert)
        status = await async_validate_pdf_timestamp(sig, validation_context=context)
        entry.update(
            signed_at=_iso(status.timestamp),
            intact=bool(status.intact and status.valid),
            trusted=bool(status.trusted),
            coverage=_level(status.coverage),
            modification_level=_level(status.modification_level),
        )
        entry["valid"] = bool(
            status.intact
            and status.valid
            and status.trusted
            and _modification_ok(status.modification_level)
            and _coverage_ok(status.coverage)
        )
    except Exception as exc:
        log.info("document timestamp %s does not validate: %s", sig.field_name, exc)
        entry.update(intact=False, trusted=False, valid=False, error=str(exc) or type(exc).__name__)
    return entry


async def verify_pdf_async(
    data: bytes,
    trust_roots: Sequence[asn1_x509.Certificate],
    *,
    at: datetime | None = None,
) -> dict[str, Any]:
    """The report `{valid, complete, signatures: [...], unsigned_fields, error?}`."""
    report: dict[str, Any] = {
        "valid": False,
        "complete": False,
        "signatures": [],
        "unsigned_fields": [],
    }
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=True)
        embedded = list(reader.embedded_signatures)
        fields = list(enumerate_sig_fields(reader, filled_status=None))
    except Exception as exc:
        report["error"] = f"无法解析 PDF：{exc}"
        return report
    report["unsigned_fields"] = [name for name, value, _ in fields if value is None]
    timing = (
        ValidationTimingInfo(at, at, point_in_time_validation=True)
        if at is not None
        else ValidationTimingInfo.now()
    )
    moment = timing.validation_time
    dss = DocumentSecurityStore.read_dss(reader) if "/DSS" in reader.root else None
    known_certs = list(dss.load_certs()) if dss is not None else []
    spec = PdfSignatureValidationSpec(
        signature_validation_spec=SignatureValidationSpec(
            cert_validation_policy=CertValidationPolicySpec(
                trust_manager=SimpleTrustManager.build(trust_roots=list(trust_roots)),
                revinfo_policy=CertRevTrustPolicy(
                    REQUIRE_REVINFO,
                    freshness=None,
                    freshness_req_type=FreshnessReqType.MAX_DIFF_REVOCATION_VALIDATION,
                ),
            ),
            revinfo_gathering_policy=RevocationInfoGatheringSpec(
                online_fetching_rule=RevinfoOnlineFetchingRule.LOCAL_ONLY
            ),
            local_knowledge=LocalKnowledge(known_certs=known_certs),
        ),
        diff_policy=DEFAULT_DIFF_POLICY,
    )
    context_kwargs: dict[str, Any] = {
        "trust_roots": list(trust_roots),
        "allow_fetching": False,
        "revocation_mode": "soft-fail",
        "moment": moment,
    }
    ts_context = (
        dss.as_validation_context(context_kwargs)
        if dss is not None
        else ValidationContext(**context_kwargs)
    )
    for sig in embedded:
        if sig.sig_object_type == "/DocTimeStamp":
            report["signatures"].append(await _timestamp_entry(sig, ts_context))
        else:
            report["signatures"].append(await _signature_entry(sig, spec, timing))
    signatures = report["signatures"]
    report["complete"] = bool(signatures) and not report["unsigned_fields"]
    report["valid"] = report["complete"] and all(s["valid"] for s in signatures)
    report["validated_at"] = _iso(moment)
    return report


def verify_pdf(
    data: bytes,
    trust_roots: Sequence[asn1_x509.Certificate],
    *,
    at: datetime | None = None,
) -> dict[str, Any]:
    """Synchronous wrapper (CLI, worker threads): runs its own event loop."""
    return asyncio.run(verify_pdf_async(data, trust_roots, at=at))
