"""A listing's ledger entries as the timeline its pages show: who acted (by role, and by
name where the policy allows), what happened, in words."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.pages.labels import (
    AUCTION_STATUS_ZH,
    BID_REJECTIONS_ZH,
    DEAL_DEFAULT_REASONS_ZH,
    DEAL_VOID_REASONS_ZH,
    OBJECTION_STATES_ZH,
    OUTCOMES_ZH,
    bj,
    bj_end,
    yuan,
)
from contracts.rent import PROBLEMS as RENT_PROBLEMS
from core.accounts import Actor
from listings import policy
from listings.payments import PAYMENT_PROBLEMS_ZH as DEPOSIT_PROBLEMS
from listings.policy import Facet
from listings.reading import Visible
from oversight.views import listing_entries

ACTOR_ROLE_ZH = {
    "village": "村集体",
    "reviewer": "交易中心",
    "regulator": "监管",
    "admin": "管理员",
    "bidder": "竞买人",
}
SYSTEM_ZH = {
    "system": "系统",
    "bank": "银行",
    "public": "公众",
    "cli": "命令行",
    "demo": "演示数据",
}


#: Entries whose `reason` is a code (said in words), not a person's text.
_REASON_CODES = {
    "deal.voided": DEAL_VOID_REASONS_ZH,
    "deal.offer_declined": DEAL_VOID_REASONS_ZH,
    "listing.concluded": DEAL_VOID_REASONS_ZH,
    "deal.defaulted": DEAL_DEFAULT_REASONS_ZH,
    "auction.ended": {
        "sold": "有效出价达到成交条件",
        "no_bids": "无人出价",
        "below_reserve": "未达保留价",
    },
}


def _reason(entry_type: str, reason: Any) -> str:
    words = _REASON_CODES.get(entry_type)
    if words is None:
        return str(reason)
    return words.get(str(reason), "")


def _aftermath(entry_type: str, payload: dict[str, Any]) -> list[str]:
    """What the entries after the hammer add: dates, prices, decisions, in words."""
    parts = []
    if entry_type == "deal.published" and payload.get("publicity_ends_at"):
        parts.append(f"公示期至 {bj_end(payload['publicity_ends_at'])}")
    if entry_type == "deal.offered" and payload.get("final_fen") is not None:
        parts.append(
            f"竞买号 {payload.get('bidder_number')}，价格 {yuan(payload['final_fen'])}，"
            f"答复期限 {bj_end(payload.get('offer_expires_at'))}"
        )
    if entry_type == "deal.offer_accepted" and payload.get("final_fen") is not None:
        parts.append(f"成交价 {yuan(payload['final_fen'])}，竞买号 {payload.get('winner_number')}")
    if entry_type == "deal.defaulted":
        if payload.get("note"):
            parts.append(f"说明：{payload['note']}")
        if payload.get("forfeited_fen"):
            parts.append(f"没收保证金 {yuan(payload['forfeited_fen'])}")
    if entry_type == "objection.filed" and payload.get("reasons"):
        parts.append(f"异议事实和理由：{payload['reasons']}")
    if entry_type == "objection.decided" and payload.get("decision"):
        parts.append(f"结论：{OBJECTION_STATES_ZH.get(str(payload['decision']), '')}")
    if entry_type == "listing.concluded" and payload.get("outcome") == "deal_voided":
        parts.append(OUTCOMES_ZH["deal_voided"])
    return parts


def _detail(entry_type: str, payload: dict[str, Any]) -> str:
    parts = []
    if entry_type == "objection.decided" and payload.get("decision"):
        parts.extend(_aftermath(entry_type, payload))
    if payload.get("reason") and (reason := _reason(entry_type, payload["reason"])):
        parts.append(f"理由：{reason}")
    if entry_type == "listing.announced":
        parts.append(
            f"报名截止 {bj(payload.get('registration_closes_at'))}，"
            f"竞价开始 {bj(payload.get('auction_starts_at'))}"
        )
    if entry_type == "listing.document_added":
        parts.append(f"{payload.get('filename')}（SHA-256 {str(payload.get('sha256'))[:12]}…）")
    if entry_type in ("auction.bid", "bid.rejected") and payload.get("amount_fen") is not None:
        parts.append(f"竞买号 {payload.get('bidder_number')} 出价 {yuan(payload['amount_fen'])}")
        if payload.get("code") in BID_REJECTIONS_ZH:
            parts.append(f"（未被接受：{BID_REJECTIONS_ZH[payload['code']]}）")
    if entry_type in ("auction.pause_rejected", "auction.resume_rejected"):
        parts.append(f"未执行：{BID_REJECTIONS_ZH.get(str(payload.get('code')), '不符合条件')}")
    if entry_type in ("payment.rejected", "rent.rejected"):
        problems = RENT_PROBLEMS if entry_type == "rent.rejected" else DEPOSIT_PROBLEMS
        why = problems.get(str(payload.get("code")), "款项不符合入账条件")
        parts.append(f"到账 {yuan(payload.get('amount_fen'))} 未入账：{why}")
    if entry_type == "auction.phase" and payload.get("status") in AUCTION_STATUS_ZH:
        parts.append(f"进入：{AUCTION_STATUS_ZH[payload['status']]}")
    if entry_type in ("auction.ended", "listing.concluded", "deal.recorded") and payload.get(
        "final_fen"
    ):
        parts.append(f"成交价 {yuan(payload['final_fen'])}，竞买号 {payload.get('winner_number')}")
    if entry_type == "registration.closed":
        parts.append(f"合格竞买人 {payload.get('qualified')} 名")
    if entry_type in ("deposit.paid",) and payload.get("amount_fen"):
        parts.append(f"金额 {yuan(payload['amount_fen'])}")
    if entry_type != "objection.decided":
        parts.extend(_aftermath(entry_type, payload))
    return "；".join(parts)


async def listing_timeline(
    session: AsyncSession, who: Actor, visible: Visible, *, full: bool
) -> list[dict[str, Any]]:
    """The listing's ledger entries, staff who acted named by role and name. `full` (staff
    pages) lists every bid, else bids are summed up in one line (the village's page); bidders
    are named only for those the policy shows identities; applications are left out for those
    it does not show the registration count."""
    bidders_named = policy.may_see(who, Facet.IDENTITIES, visible.listing.state, visible.village)
    entries, users = await listing_entries(session, who, visible)
    out: list[dict[str, Any]] = []
    summary: dict[str, Any] | None = None
    bids = 0
    for e in entries:
        if not full and e.type in ("auction.bid", "bid.rejected"):
            # Villages see how many bids there were, in place; the ladder has the numbers.
            bids += e.type == "auction.bid"
            if summary is None:
                summary = {
                    "at": e.at,
                    "type": "auction.bids",
                    "actor": "竞买人",
                    "detail": "",
                    "payload": {},
                    "hash": "",
                    "seq": None,
                }
                out.append(summary)
            continue
        actor = SYSTEM_ZH.get(e.actor, e.actor)
        if e.actor.startswith("user:") and e.actor[5:].isdigit():
            user = users.get(int(e.actor[5:]))
            if user is not None:
                role = ACTOR_ROLE_ZH.get(user.role, user.role)
                named = bidders_named or user.role != "bidder"
                actor = f"{role} · {user.display_name}" if named else role
        out.append(
            {
                "at": e.at,
                "type": e.type,
                "actor": actor,
                "detail": _detail(e.type, e.payload),
                "payload": e.payload,
                "hash": e.hash,
                "seq": e.subject_seq,
            }
        )
    if summary is not None:
        summary["detail"] = f"竞价开始，共 {bids} 次有效出价（详见竞价记录）"
    return out
