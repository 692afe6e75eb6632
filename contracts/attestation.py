"""The transaction certificate's data (交易鉴证书, pure): the contract's facts, its signed file
and signers, what the exchange checked and what it attests (鉴证意见). Like `content`, every
string is formatted here; the template lays them out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from contracts.content import zh_date, zh_datetime
from core.clock import CHINA_TZ
from core.workdays import deadline_day


@dataclass(frozen=True, slots=True)
class Publicity:
    """The deal's result publicity (成交公示) and the objections filed during it."""

    decided_at: datetime
    #: None for a deal made before the publicity was kept.
    ends_at: datetime | None
    upheld: int = 0
    dismissed: int = 0


def publicity_check(p: Publicity) -> str:
    if p.ends_at is None:
        return "成交时未记录成交公示"
    if p.ends_at <= p.decided_at:
        return "本项目未设成交公示期"
    period = (
        f"自{zh_date(p.decided_at.astimezone(CHINA_TZ).date())}起公示，"
        f"至{zh_date(deadline_day(p.ends_at))}期满"
    )
    filed = p.upheld + p.dismissed
    if not filed:
        return period + "，公示期内无异议"
    outcome = f"异议成立 {p.upheld} 件（原成交已撤销），" if p.upheld else ""
    return period + f"；收到异议 {filed} 件，{outcome}经审查不成立 {p.dismissed} 件"


def certificate_data(
    contract: dict[str, Any],
    *,
    contract_sha256: str,
    signatures: list[dict[str, str]],
    certified_at: datetime,
    publicity: Publicity | None = None,
) -> dict[str, Any]:
    """The transaction certificate: the contract's facts plus its signed file and signers,
    what the exchange checked and its conclusion (`certificate_checks`)."""
    checks, conclusion = certificate_checks(contract)
    if publicity is not None:
        checks.append({"item": "成交公示", "result": publicity_check(publicity)})
    return {
        **contract,
        "certificate": {
            "contract_sha256": contract_sha256,
            "signatures": signatures,
            "certified_on": zh_date(certified_at.astimezone(CHINA_TZ).date()),
            "certified_at": zh_datetime(certified_at),
            "checks": checks,
            "conclusion": conclusion,
        },
    }


def certificate_checks(contract: dict[str, Any]) -> tuple[list[dict[str, str]], str]:
    """What the certificate says was checked, and its conclusion. It says the collective's
    decision was recorded only when the resolution's facts (checked against the law when
    entered) and its document were both on file; otherwise it says what was given and that
    it makes no finding on the collective's decision."""
    entrusted = contract.get("entrustment")
    recorded = False
    if entrusted is None:  # a contract drafted before the entrustment was kept with it
        documents = decision = "合同起草时未记录"
    else:
        facts, files = entrusted["resolution"], int(entrusted["resolution_documents"])
        documents = entrusted["documents"] or "未提交"
        recorded = bool(facts) and files > 0
        if recorded:
            decision = f"{facts}；到会人数和表决结果符合法定要求，决议文件已随委托提交"
        elif facts:
            decision = f"委托方填报{facts}；未提交决议文件"
        elif files:
            decision = f"已提交决议文件 {files} 份，未填报会议日期和表决结果"
        else:
            decision = "未提交"
    party = contract["village"]["party"]
    checks = [
        {"item": "委托", "result": f"{party}委托挂牌；提交材料：{documents}"},
        {"item": "村集体决议", "result": decision},
        {
            "item": "交易程序",
            "result": f"已完成审核受理、挂牌公告、报名、资格审查及{contract['deal']['method']}"
            "程序，交易双方已签署租赁合同",
        },
    ]
    conclusion = (
        "村集体经济组织的民主决策情况已记录在案，上述交易程序已完成，予以鉴证。"
        if recorded
        else "上述交易程序已在本平台完成，予以鉴证；本鉴证不对村集体经济组织的决策程序作出认定。"
    )
    return checks, conclusion
