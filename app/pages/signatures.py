"""The signature report of a contract (contracts.verification) in sentences: who signed,
when, whether each signature and timestamp verified, what changed after each, and the
document's fingerprint. The report itself stays available as data (the API's JSON)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from msgspec import UNSET

from app.pages.labels import bj
from contracts.schemas import Report, SignatureCheck, Verification

#: The contract's signature fields (contracts.signing) and who signs each.
SIGNERS_ZH = {
    "Village": "村集体（甲方，出租方）",
    "Winner": "竞得人（乙方，承租方）",
    "Exchange": "交易中心（鉴证方）",
}
#: What a later revision changed after a signature (pyHanko's modification levels).
CHANGES_ZH = {
    "NONE": "签署后文件未被改动",
    "LTA_UPDATES": "签署后只追加了长期验证数据（证书和吊销信息）",
    "FORM_FILLING": "签署后只增加了后续的签名",
    "ANNOTATIONS": "签署后文件被加了批注，签署的内容可能已被改动",
    "OTHER": "签署后文件被改动过",
}
SECONDS = "%Y-%m-%d %H:%M:%S"


def _given(value: Any) -> Any:
    """A report field, None where the report left it out (after an error) or it is empty."""
    return None if value is UNSET else value


@dataclass(frozen=True, slots=True)
class Finding:
    """One signature or timestamp in words: a heading, sentences, and whether it verified."""

    title: str
    ok: bool
    sentences: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Reading:
    """One PDF's report in words."""

    name: str
    sha256: str
    ok: bool
    #: valid | incomplete (what is signed verifies; signers still to sign) | invalid
    state: str
    summary: str
    findings: list[Finding]
    pending: list[str]


def _signature(check: SignatureCheck) -> Finding:
    who = SIGNERS_ZH.get(check.field, "签署方")
    if _given(check.error) is not None:
        return Finding(who, False, ["该签名无法验证：签名数据已损坏或不完整。"])
    signer = _given(check.signer) or "（未能读出签署人）"
    at = _given(check.signed_at)
    out = [f"由 {signer} 于 {bj(at, SECONDS)}（北京时间）签署。" if at else f"由 {signer} 签署。"]
    out.append(
        "签名完整，与签署时的文件内容一致。"
        if check.intact
        else "签名与文件内容不符，签署后的内容被改动过。"
    )
    out.append(
        "签名证书由本平台根证书签发，签署时有效，可信。"
        if check.trusted
        else "签名证书不能追溯到本平台根证书，或签署时已失效，不可信。"
    )
    stamp = _given(check.timestamp)
    if stamp is None:
        out.append("该签名没有时间戳，签署时间为签署人自报的时间。")
    else:
        good = stamp.intact and stamp.valid and stamp.trusted
        out.append(
            f"时间戳由 {stamp.tsa} 于 {bj(stamp.at, SECONDS)} 加盖，"
            + ("有效，证明该签名在此时间之前已经存在。" if good else "未能通过验证。")
        )
    level = _given(check.modification_level)
    if level:
        out.append(CHANGES_ZH.get(level, CHANGES_ZH["OTHER"]) + "。")
    return Finding(who, check.valid, out)


def _timestamp(check: SignatureCheck) -> Finding:
    if _given(check.error) is not None:
        return Finding("文档时间戳", False, ["该文档时间戳无法验证：数据已损坏或不完整。"])
    tsa = _given(check.signer) or "时间戳服务"
    at = _given(check.signed_at)
    when = f" 于 {bj(at, SECONDS)}" if at else ""
    verdict = "有效，证明整个文件（含全部签名和验证数据）在此时间已经存在，可长期验证。"
    return Finding(
        "文档时间戳",
        check.valid,
        [f"由 {tsa}{when} 为整个文件加盖，" + (verdict if check.valid else "未能通过验证。")],
    )


def read_report(name: str, sha256: str, report: Report) -> Reading:
    """One PDF's report (the contract's or its certificate's) in sentences."""
    findings = [
        _timestamp(c) if c.kind == "document_timestamp" else _signature(c)
        for c in report.signatures
    ]
    pending = [SIGNERS_ZH.get(f, "签署方") for f in report.unsigned_fields]
    state = "invalid"
    if _given(report.error) is not None:
        summary = f"无法读取{name}文件，文件可能已损坏。"
    elif report.valid:
        state = "valid"
        summary = f"{name}上的全部 {len(findings)} 个签名和时间戳均验证有效，签署后内容未被改动。"
    elif not report.signatures:
        state = "incomplete"
        summary = f"{name}尚未签署。"
    elif not report.complete and all(f.ok for f in findings):
        state = "incomplete"
        summary = f"{name}尚未签署完毕：已有的签名均验证有效，尚待{'、'.join(pending)}签署。"
    else:
        bad = "、".join(f.title for f in findings if not f.ok)
        summary = f"{name}验证未通过：{bad}未能通过验证，请勿以此文件为准，并联系交易中心。"
    return Reading(name, sha256, bool(report.valid), state, summary, findings, pending)


def read_verification(report: Verification) -> list[Reading]:
    """The contract's report, and its 交易鉴证书's once issued."""
    out = [read_report("合同", report.document_sha256, report)]
    if report.certificate is not UNSET:
        cert = report.certificate
        out.append(read_report("交易鉴证书", cert.sha256, cert))
    return out
