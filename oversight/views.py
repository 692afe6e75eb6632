"""What regulators read: a listing's timeline from the ledger, an auction's bid ladder."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from auction.models import Auction, Bid, Deal
from core import ledger
from core.accounts import Actor, Region, User, users_by_id
from core.errors import NotFound
from core.ids import mask_name
from core.ledger.models import LedgerEntry
from listings import Listing, Registration, policy, reading
from listings.policy import LINKING_KEYS, REGISTRATION_ENTRIES, Facet
from oversight.models import WarningRow

#: Ledger entry types in words, for the regulators' views and every page's timeline.
TYPE_NAMES_ZH: Final = {
    "listing.created": "创建委托",
    "listing.updated": "修改委托",
    "listing.submitted": "提交审核",
    "listing.accepted": "受理",
    "listing.returned": "退回",
    "listing.announced": "发布挂牌公告",
    "listing.withdrawn": "撤回委托",
    "listing.document_added": "上传材料",
    "listing.relisted": "重新挂牌",
    "listing.concluded": "交易结束",
    "registration.applied": "竞买人报名",
    "registration.qualified": "资格审核通过",
    "registration.rejected": "资格审核未通过",
    "registration.closed": "报名截止",
    "deposit.paid": "保证金到账",
    "deposit.refundable": "保证金待退还",
    "deposit.refunded": "保证金已退还",
    "deposit.to_be_credited": "保证金待转作租金",
    "deposit.credited_to_rent": "保证金已转作租金",
    "deposit.forfeited": "保证金没收",
    "auction.opened": "竞价场次建立",
    "auction.bid": "出价",
    "auction.phase": "竞价阶段变化",
    "auction.ended": "竞价结束",
    "auction.pause": "暂停竞价",
    "auction.resume": "恢复竞价",
    "auction.pause_rejected": "暂停未执行",
    "auction.resume_rejected": "恢复未执行",
    "bid.rejected": "出价未被接受",
    "deal.recorded": "成交记录",
    "deal.published": "成交结果公示",
    "deal.confirmed": "成交确认",
    "deal.voided": "成交撤销",
    "deal.offered": "向候补竞买人递补成交",
    "deal.offer_accepted": "候补竞买人接受递补",
    "deal.offer_declined": "候补竞买人放弃递补",
    "deal.defaulted": "认定竞得人违约",
    "objection.filed": "提出异议",
    "objection.evidence_added": "补充异议材料",
    "objection.decided": "异议处理",
    "objection.closed": "异议不再审查（原成交已撤销）",
    "deposit.held_for_runner_up": "保证金作为候补继续冻结",
    "contract.drafted": "生成合同",
    "contract.signed_by_village": "村集体电子签署",
    "contract.signed": "竞得人电子签署",
    "contract.certified": "出具交易鉴证书",
    "payment.rejected": "款项未入账",
    "auction.bids": "网络竞价",
    "rent.paid": "收到租金",
    "rent.rejected": "租金款项未能入账（原路退回）",
    "rent.waived": "租金减免",
    "registration.proof_added": "上传优先权证明材料",
    "certificate.issued": "签发电子签名证书",
    "certificate.revoked": "吊销电子签名证书",
    "settings.updated": "修改交易规则",
    "user.created": "创建账户",
    "user.logged_in": "登录",
    "user.password_changed": "修改密码",
    "user.password_reset": "重置密码",
    "user.activated": "恢复账户",
    "user.deactivated": "停用账户",
    "region.created": "新增地区",
    "region.renamed": "地区更名",
    "warning.raised": "发出预警",
    "warning.updated": "更新预警依据",
    "warning.acknowledged": "处理预警",
    "demo.generated": "生成演示数据",
}
ROLE_NAMES_ZH: Final = {
    "bidder": "竞买人",
    "village": "村集体经办人",
    "reviewer": "交易中心审核员",
    "regulator": "监管人员",
    "admin": "系统管理员",
    "system": "系统",
}
#: Payload fields kept out of the timeline (the bundle has everything, for regulators).
_PRIVATE: Final = frozenset({"ip", "user_agent", "device", "payment_reference"})
#: Details kept out while identities are sealed: the ids that link, and the number itself.
_LINKING: Final = LINKING_KEYS | {"bidder_number"}


async def listing_entries(
    session: AsyncSession, viewer: Actor, visible: reading.Visible
) -> tuple[list[LedgerEntry], dict[int, User]]:
    """A listing's ledger entries in order, as far as this person may count them (no
    applications while the registration count is sealed for them), and the users who acted.
    The regulators' timeline below and the pages' timelines are both read from here."""
    counted = policy.may_see(
        viewer, Facet.REGISTRATION_COUNT, visible.listing.state, visible.village
    )
    entries = [
        e
        for e in await ledger.entries_of(session, reading.subject(visible.listing.id))
        # one by one they would count the applicants while registration is open
        if counted or e.type not in REGISTRATION_ENTRIES
    ]
    user_ids = {
        int(e.actor.split(":", 1)[1])
        for e in entries
        if e.actor.startswith("user:") and e.actor.split(":", 1)[1].isdigit()
    }
    return entries, await users_by_id(session, user_ids)


async def timeline(session: AsyncSession, viewer: Actor, listing_id: int) -> dict[str, Any]:
    visible = await reading.load(session, viewer, listing_id)
    listing = visible.listing
    policy.require(viewer, Facet.TIMELINE, listing.state, visible.village)
    entries, users = await listing_entries(session, viewer, visible)
    numbers = {
        r.bidder_id: r.bidder_number
        for r in await session.scalars(
            select(Registration).where(Registration.listing_id == listing_id)
        )
    }
    identities = policy.may_see(viewer, Facet.IDENTITIES, listing.state, visible.village)
    items = []
    for e in entries:
        payload = e.payload or {}
        items.append(
            {
                "seq": e.subject_seq,
                "type": e.type,
                "type_name": TYPE_NAMES_ZH.get(e.type, e.type),
                "at": e.at.isoformat(),
                "actor": _actor(e.actor, users, numbers, identities),
                "state": payload.get("state"),
                "reason": payload.get("reason"),
                "documents": _documents(payload),
                "details": {
                    k: v
                    for k, v in payload.items()
                    if k not in _PRIVATE
                    and k not in ("state", "reason")
                    and (identities or k not in _LINKING)
                },
                "hash": e.hash,
                "index": e.leaf_index,
            }
        )
    return {
        "listing_id": listing_id,
        "title": listing.title,
        "state": listing.state,
        "village": visible.village.path,
        "entries": items,
    }


def _actor(
    name: str, users: dict[int, User], numbers: dict[int, str | None], ended: bool
) -> dict[str, Any]:
    if not name.startswith("user:"):
        return {"kind": name, "role": "system", "role_name": ROLE_NAMES_ZH["system"], "name": None}
    user_id = int(name.split(":")[1])
    user = users.get(user_id)
    if user is None:
        return {"kind": "user", "role": None, "role_name": None, "name": None, "id": user_id}
    out: dict[str, Any] = {
        "kind": "user",
        "id": user.id,
        "role": user.role,
        "role_name": ROLE_NAMES_ZH.get(user.role, user.role),
        "name": mask_name(user.display_name),
    }
    if user.role == "bidder":
        out["bidder_number"] = numbers.get(user.id)
        if not ended:  # anonymity until the trade is over: the number only
            out["name"] = None
            out.pop("id")
    return out


def _documents(payload: dict[str, Any]) -> list[dict[str, Any]]:
    if "sha256" in payload:
        return [{k: payload.get(k) for k in ("document_id", "kind", "filename", "sha256", "size")}]
    return [d for d in payload.get("documents", []) if isinstance(d, dict) and "sha256" in d]


async def ladder(session: AsyncSession, viewer: Actor, listing_id: int) -> dict[str, Any]:
    """Every bid, accepted or not, in server order; identities only for regulators, at the end."""
    visible = await reading.load(session, viewer, listing_id)
    state, village = visible.listing.state, visible.village
    policy.require(viewer, Facet.TIMELINE, state, village)
    auction = await session.get(Auction, listing_id)
    if auction is None:
        raise NotFound("auction.not_found", "该项目没有竞价")
    bids = list(
        await session.scalars(
            select(Bid).where(Bid.listing_id == listing_id).order_by(Bid.at, Bid.id)
        )
    )
    reveal = auction.status == "ended" and policy.may_see(viewer, Facet.DOSSIERS, state, village)
    rows = []
    for b in bids:
        row: dict[str, Any] = {
            "id": b.id,
            "at": b.at.isoformat(),
            "bidder_number": b.bidder_number,
            "kind": b.kind,
            "amount_fen": b.amount_fen,
            "outcome": b.outcome,
            "code": b.code,
            "seq": b.seq,
            "round": b.round,
            "channel": b.channel,
        }
        if reveal:
            row["ip"], row["device"] = b.ip, b.device
        rows.append(row)
    result: dict[str, Any] = {
        "listing_id": listing_id,
        "status": auction.status,
        "result": auction.result,
        "final_fen": auction.final_fen,
        "winner_number": auction.winner_number,
        "rounds": auction.round,
        "accepted": sum(1 for b in bids if b.outcome == "accepted"),
        "rejected": sum(1 for b in bids if b.outcome != "accepted"),
        "bids": rows,
        "identities_revealed": reveal,
        "bidders": None,
    }
    if reveal:
        result["bidders"] = await _identities(session, listing_id, bids)
    return result


async def _identities(session: AsyncSession, listing_id: int, bids: list[Bid]) -> dict[str, Any]:
    registrations = list(
        await session.scalars(
            select(Registration).where(
                Registration.listing_id == listing_id, Registration.bidder_number.is_not(None)
            )
        )
    )
    users = await users_by_id(session, (r.bidder_id for r in registrations))
    out: dict[str, Any] = {}
    for r in sorted(registrations, key=lambda r: r.bidder_number or ""):
        user = users[r.bidder_id]
        own = [b for b in bids if b.bidder_id == r.bidder_id]
        out[r.bidder_number or ""] = {
            "user_id": user.id,
            "name": user.display_name,
            "id_type": user.id_type,
            "id_number": user.id_number,
            "phone": user.phone,
            "registration_id": r.id,
            "registration_ip": r.ip,
            "registration_device": r.user_agent,
            "bid_ips": sorted({b.ip for b in own if b.ip}),
            "bid_devices": sorted({b.device for b in own if b.device}),
        }
    return out


@dataclass(frozen=True, slots=True)
class IndexRow:
    """A listing of the regulator's list: with its deal's price and its open warnings."""

    listing: Listing
    village: Region
    deal: Deal | None
    open_warnings: int


async def listing_index(
    session: AsyncSession,
    viewer: Actor,
    *,
    region: str | None,
    state: str | None,
    warnings_only: bool,
    limit: int,
    offset: int,
) -> tuple[list[IndexRow], int]:
    """The listings of the viewer's jurisdiction (newest first), under a region path, in a
    state, or only those with open warnings; and how many there are."""
    counts = (
        select(WarningRow.listing_id, func.count().label("n"))
        .where(WarningRow.state == "open", WarningRow.listing_id.is_not(None))
        .group_by(WarningRow.listing_id)
        .subquery()
    )
    query = (
        select(Listing, Region, Deal, func.coalesce(counts.c.n, 0))
        .join(Region, Region.id == Listing.village_id)
        .outerjoin(Deal, Deal.listing_id == Listing.id)
        .outerjoin(counts, counts.c.listing_id == Listing.id)
    )
    for path in (viewer.region.path if viewer.region else None, region):
        if path:
            path = path.strip("/")
            query = query.where(
                or_(Region.path == path, Region.path.startswith(path + "/", autoescape=True))
            )
    if state:
        query = query.where(Listing.state == state)
    if warnings_only:
        query = query.where(counts.c.n > 0)
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    rows = await session.execute(query.order_by(Listing.id.desc()).limit(limit).offset(offset))
    return [
        IndexRow(listing, village, deal, int(n))
        for listing, village, deal, n in rows
        # The query narrows by jurisdiction; the policy has the last word.
        if policy.may_see(viewer, Facet.TIMELINE, listing.state, village)
    ], int(total or 0)
