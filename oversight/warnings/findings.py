"""What a warning finding is, the kinds of warning, and what every detector shares:
listings taken in chunks, and ledger entries cited as evidence anyone can check in a bundle."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.ledger.models import LedgerEntry

SUBJECT: Final = "warnings"
KIND_NAMES_ZH: Final = {
    "single_bidder": "仅一名合格竞买人",
    "shared_phone": "竞买人手机号相同",
    "shared_ip": "竞买人IP地址相同",
    "shared_device": "竞买人设备（浏览器标识）相同",
    "shared_bank_account": "竞买人银行账户相同",
    "zero_premium": "零溢价成交",
    "failed_twice": "多次流拍",
    "term_too_long": "流转期限超过规定",
    "below_appraisal": "挂牌价低于评估价",
    "deep_relist_cut": "重新挂牌大幅降价",
    "contract_unsigned": "逾期未签订合同",
    "lease_expiring": "租期即将届满（90日内）",
    "refund_late": "保证金逾期未退还",
    "arrears_yellow": "租金逾期未付（黄色预警）",
    "arrears_red": "租金逾期未付（红色预警）",
}
#: How urgently a kind of warning needs a look (the pages filter and sort by it): collusion
#: or money owed to people is high; a weak market or a deadline missed is medium; a hint
#: (a shared user agent) or a date ahead is low.
SEVERITY: Final = {
    "shared_phone": "high",
    "shared_bank_account": "high",
    "term_too_long": "high",
    "refund_late": "high",
    "arrears_red": "high",
    "single_bidder": "medium",
    "shared_ip": "medium",
    "zero_premium": "medium",
    "failed_twice": "medium",
    "below_appraisal": "medium",
    "deep_relist_cut": "medium",
    "contract_unsigned": "medium",
    "arrears_yellow": "medium",
    "shared_device": "low",
    "lease_expiring": "low",
}
SEVERITY_NAMES_ZH: Final = {"high": "高", "medium": "中", "low": "低"}
CHUNK: Final = 500


@dataclass(frozen=True, slots=True)
class Finding:
    kind: str
    key: str
    listing_id: int | None
    evidence: dict[str, Any]


def digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()[:16]


def chunks(ids: Sequence[int] | None) -> Iterable[Sequence[int] | None]:
    if ids is None:
        yield None
        return
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


def only(column: Any, ids: Sequence[int] | None) -> list[Any]:
    return [] if ids is None else [column.in_(ids)]


async def ledger_refs(
    session: AsyncSession, listing_ids: Sequence[int], types: Sequence[str]
) -> dict[tuple[int, str], dict[str, Any]]:
    """The latest entry of each type per listing, as evidence anyone can check in a bundle."""
    out: dict[tuple[int, str], dict[str, Any]] = {}
    for chunk in chunks(list(listing_ids)):
        assert chunk is not None
        rows = await session.execute(
            select(
                LedgerEntry.subject,
                LedgerEntry.type,
                LedgerEntry.subject_seq,
                LedgerEntry.hash,
                LedgerEntry.leaf_index,
            )
            .where(
                LedgerEntry.subject.in_([f"listing:{i}" for i in chunk]),
                LedgerEntry.type.in_(types),
            )
            .order_by(LedgerEntry.subject_seq)
        )
        for subject, type_, seq, digest, leaf in rows:
            out[int(subject.split(":")[1]), type_] = {
                "subject": subject,
                "seq": seq,
                "type": type_,
                "hash": digest,
                "index": leaf,
            }
    return out


async def cited(
    session: AsyncSession, kind: str, entry_type: str, rows: Sequence[tuple[int, dict[str, Any]]]
) -> list[Finding]:
    """One finding per (listing, evidence), citing the listing's latest `entry_type` entry."""
    refs = await ledger_refs(session, [listing_id for listing_id, _ in rows], [entry_type])
    return [
        Finding(
            kind,
            f"listing:{listing_id}",
            listing_id,
            {**evidence, "ledger": [r for r in [refs.get((listing_id, entry_type))] if r]},
        )
        for listing_id, evidence in rows
    ]
