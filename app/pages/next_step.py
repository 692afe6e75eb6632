"""The village's 下一步: what happens next to a listing, and what the collective has to do,
read from the listing's real state — its auction, its deal, its contract."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.pages.labels import (
    DEAL_VOID_REASONS_ZH,
    OUTCOMES_ZH,
    auction_phase_zh,
    bj,
    bj_end,
)
from auction.models import Auction
from contracts.schemas import DealView
from listings.schemas import ListingOut


@dataclass(frozen=True, slots=True)
class NextStep:
    #: Which step this is (the page's `data-step`, for styles and tests; never shown).
    step: str
    text: str
    #: Where the collective acts or looks next, and the link's words.
    href: str | None = None
    action: str | None = None


def village_next_step(
    listing: ListingOut,
    auction: Auction | None,
    deal: DealView | None,
    contract: dict[str, Any] | None,
    now: datetime,
) -> NextStep:
    state = listing.state
    if state in ("draft", "returned"):
        return NextStep(
            state,
            "委托尚未提交。请确认挂牌条件，填写村集体决议情况（四议两公开），上传村民（代表）"
            "会议决议、权属证明等材料，然后提交交易中心审核。",
        )
    if state == "submitted":
        return NextStep(state, "已提交，等待交易中心审核（一般 1 个工作日内）。")
    if state == "accepted":
        return NextStep(state, "交易中心已受理，即将发布挂牌公告。")
    if state == "announced":
        return NextStep(
            state,
            f"公告中，报名截止 {bj(listing.registration_closes_at)}，"
            f"竞价开始 {bj(listing.auction_starts_at)}。",
            f"/listings/{listing.id}",
            "查看公告",
        )
    if state == "auction":
        return _auction(listing, auction)
    if state == "sold":
        return _sold(deal, contract, now)
    if state == "failed":
        if listing.outcome == "deal_voided":
            reason = DEAL_VOID_REASONS_ZH.get(deal.void_reason or "", "") if deal else ""
            why = f"（{reason}）" if reason else ""
            return NextStep(
                "voided", f"本项目成交已撤销{why}，交易终结。可以调整挂牌条件后重新挂牌。"
            )
        outcome = OUTCOMES_ZH.get(listing.outcome or "", "")
        why = f"（{outcome}）" if outcome else ""
        return NextStep(state, f"本项目流拍{why}。可以调整挂牌条件后重新挂牌。")
    return NextStep(state, "委托已撤回。")


def _auction(listing: ListingOut, auction: Auction | None) -> NextStep:
    watch = f"/auctions/{listing.id}"
    if auction is None or auction.status == "scheduled":
        return NextStep(
            "auction_scheduled",
            f"报名已截止，竞价将于 {bj(listing.auction_starts_at)} 开始。竞价过程中只显示竞买号。",
            watch,
            "观看竞价",
        )
    return NextStep(
        "auction_running",
        f"竞价进行中（{auction_phase_zh(auction)}）。竞价过程中只显示竞买号。",
        watch,
        "观看竞价",
    )


def _sold(deal: DealView | None, contract: dict[str, Any] | None, now: datetime) -> NextStep:
    if deal is None:
        return NextStep("sold", "已成交，成交结果即将公示。")
    if deal.deal_state == "publicity":
        ends = bj_end(deal.publicity_ends_at)
        if deal.objections_pending:
            return NextStep(
                "objection_pending",
                f"成交结果公示中（至 {ends}）。有 {deal.objections_pending} 件异议待交易中心"
                "处理，处理完毕前不确认成交；异议成立的，成交无效。",
                "#deal",
                "查看成交结果",
            )
        return NextStep(
            "publicity",
            f"已成交，成交结果公示中（至 {ends}）。公示期满且没有待处理的异议，成交即确认并"
            "生成合同，届时请完成电子签约。",
            "#deal",
            "查看成交结果",
        )
    if deal.deal_state == "offered":
        reason = DEAL_VOID_REASONS_ZH.get(deal.void_reason or "", "")
        return NextStep(
            "offered",
            f"原成交已撤销（{reason}），正在向候补竞买人递补成交，答复期限至 "
            f"{bj_end(deal.offer_expires_at)}。",
        )
    if deal.deal_state == "voided":
        reason = DEAL_VOID_REASONS_ZH.get(deal.void_reason or "", "")
        return NextStep("voided", f"成交已撤销（{reason}）。")
    if contract is None:
        return NextStep("contract_pending", "成交已确认，合同正在生成，生成后请完成电子签约。")
    deadline = bj_end(contract["deadline"])
    if contract["my_turn"]:
        late = now >= contract["deadline"]
        when = f"签署期限已于 {deadline} 届满，请尽快签署" if late else f"签署期限至 {deadline}"
        return NextStep(
            "sign",
            f"请签署合同：合同已生成，请先阅读合同 PDF，再输入登录密码电子签署（{when}）。",
            f"#sign-{contract['id']}",
            "签署合同",
        )
    if contract["state"] == "signed_by_village":
        return NextStep(
            "await_winner",
            f"村集体已签署合同，等待竞得人签署（签署期限至 {deadline}）。",
            "#deal",
            "查看合同",
        )
    if contract["state"] == "signed":
        return NextStep(
            "await_certificate", "双方已签署合同，等待交易中心出具交易鉴证书。", "#deal", "查看合同"
        )
    return NextStep(
        "leased",
        "合同已鉴证，租赁关系生效。请按合同约定收取租金，并在下方登记收款。",
        "#rent",
        "查看租金收缴",
    )
