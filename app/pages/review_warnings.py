"""Warnings in sentences for the reviewer's listing page: on each qualification card what was
seen about that registration, and the listing's warnings in a list the cards link to.

Other registrations are named only where the reviewer may see who applied (the policy's
applicants facet, decided by the caller); otherwise they are counted. No shared value and no
bidder number is ever written (oversight.warnings.concerns says why).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app.pages.labels import bj, bj_end, yuan
from oversight.models import WarningRow
from oversight.warnings import KIND_NAMES_ZH, Concern

#: What two registrations were seen to share.
_SHARED_ZH = {
    "shared_device": "使用同一设备",
    "shared_ip": "使用同一网络地址（IP）",
    "shared_phone": "登记了同一手机号码",
    "shared_bank_account": "从同一银行账户缴纳保证金",
}
_SEEN_ZH = {"registration": "报名", "bid": "出价"}


@dataclass(frozen=True, slots=True)
class CardWarning:
    warning_id: int
    text: str
    open: bool


def card_warnings(concerns: list[Concern], names: Mapping[int, str] | None) -> list[CardWarning]:
    """The warnings of one card; `names` (registration → applicant) only where the reviewer
    may see who applied."""
    return [CardWarning(c.warning_id, _card_sentence(c, names), c.open) for c in concerns]


def _card_sentence(concern: Concern, names: Mapping[int, str] | None) -> str:
    if concern.kind in _SHARED_ZH:
        seen = [_SEEN_ZH[s] for s in concern.seen_in if s in _SEEN_ZH]
        when = f"{'和'.join(seen)}时" if seen else ""
        return f"{when}与{_others(concern.others, names)}{_SHARED_ZH[concern.kind]}"
    if concern.kind == "single_bidder":
        return "本项目仅此一名合格竞买人"
    if concern.kind == "refund_late":
        return f"保证金逾期未退还（应于 {bj_end(concern.due_at)} 前退还）"
    return KIND_NAMES_ZH.get(concern.kind, "其他预警")


def _others(others: tuple[int, ...], names: Mapping[int, str] | None) -> str:
    if names is not None and others and all(o in names for o in others):
        return "报名人" + "、".join(names[o] for o in others)
    if len(others) == 1:
        return "另一报名人"
    return f"另外 {len(others)} 名报名人"


def listing_warning(row: WarningRow) -> dict[str, Any]:
    """One of the listing's warnings as its list shows it: a sentence, when, its state."""
    evidence: dict[str, Any] = row.evidence or {}
    text = KIND_NAMES_ZH.get(row.kind, "其他预警")
    if row.kind in _SHARED_ZH:
        text += f"：{len(evidence.get('bidders', []))} 名报名人{_SHARED_ZH[row.kind]}"
    elif row.kind == "refund_late" and evidence.get("count"):
        text += f"：{evidence['count']} 笔，共 {yuan(evidence.get('amount_fen'))}"
    return {
        "id": row.id,
        "text": text,
        "open": row.state == "open",
        "detected": bj(row.detected_at),
    }
