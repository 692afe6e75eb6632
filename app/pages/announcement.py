"""The announcement's 竞买须知 in sentences: every rule the announcement fixed for the listing
(`AnnouncedRules`, the terms' own overrides), written out as a bidder reads it before
registering. One sentence per rule, each with a key the page marks it by."""

from __future__ import annotations

from dataclasses import dataclass

from app.pages.labels import auction_variant_zh, bj, yuan, yuan_words
from core.settings import ExchangeSettings
from listings.announced import announced_rules
from listings.schemas import AnnouncedRules, ListingOut

#: What happens with exactly one qualified bidder at registration close, as a clause.
SINGLE_BIDDER_ZH = {
    "agreement": "以挂牌价协议成交",
    "fail": "流拍",
    "extend": "延长报名期 {days} 个工作日，仍只有一名的，流拍",
    "extend_then_agreement": "延长报名期 {days} 个工作日，仍只有一名的，以挂牌价协议成交",
}


@dataclass(frozen=True, slots=True)
class Rule:
    """One rule of the announcement: its key (`data-rule` on the page) and its sentence."""

    key: str
    text: str


def money(fen: int) -> str:
    """An amount as the rules state it: figures and 大写."""
    return f"{yuan(fen)}（{yuan_words(fen)}）"


def notice_rules(listing: ListingOut, settings: ExchangeSettings) -> list[Rule]:
    """The 竞买须知 of an announced listing; for one not yet announced (staff preview), the
    rules as the exchange's settings would fix them today, said to be so."""
    t, fixed = listing.terms, listing.rules
    r = fixed or _preview(settings, listing)
    out = [
        Rule(
            "timetable",
            f"公告发布：{bj(listing.announced_at)}；报名截止：{bj(listing.registration_closes_at)}"
            f"；网络竞价开始：{bj(listing.auction_starts_at)}（均为北京时间）。",
        )
    ]
    if fixed is not None and fixed.notice_period_working_days is not None:
        out.append(Rule("notice", f"公告期不少于 {fixed.notice_period_working_days} 个工作日。"))
    out.append(
        Rule(
            "deposit",
            f"竞买人须在报名截止前报名，并缴纳竞买保证金 {money(t.deposit_fen)}，"
            f"保证金须在报名截止（{bj(listing.registration_closes_at)}）前到账；"
            "到账后经交易中心资格审核取得匿名竞买号。保证金按时到账而报名截止时尚未审核的，"
            "自动取得竞买资格。",
        )
    )
    if t.auction_mode == "fixed_end":
        out.append(
            Rule(
                "phases",
                f"网络竞价采用增价方式，{auction_variant_zh(t, r)}，结束时最高出价人竞得。",
            )
        )
    elif r.free_bidding_minutes:
        out.append(
            Rule(
                "phases",
                f"网络竞价采用增价方式：先自由竞价 {r.free_bidding_minutes} 分钟，再进入限时竞价；"
                f"限时竞价阶段每有新出价即重新计时 {r.countdown_seconds} 秒，"
                "计时结束无人出价即成交。",
            )
        )
    else:
        out.append(
            Rule(
                "phases",
                "网络竞价采用增价方式，不设自由竞价，竞价开始即进入限时竞价："
                f"每有新出价即重新计时 {r.countdown_seconds} 秒，计时结束无人出价即成交。",
            )
        )
    steps = r.max_steps
    out.append(
        Rule(
            "increment",
            f"每次出价为当前价加上加价幅度 {money(t.increment_fen)} 的整数倍，"
            f"每次最多加 {steps} 个幅度（即一次最多加价 {yuan(t.increment_fen * steps)}）。",
        )
    )
    out.append(
        Rule(
            "first-bid",
            "首次出价可以等于起始价（挂牌价）。"
            if r.first_bid_may_equal_start
            else "首次出价须高于起始价（挂牌价），至少加一个加价幅度。",
        )
    )
    out.append(
        Rule(
            "self-outbid",
            "当前最高出价人可以再次加价。"
            if r.self_outbid_allowed
            else "当前最高出价人不能再次加价，须待他人出价后再出价。",
        )
    )
    out.append(
        Rule(
            "reserve",
            "本项目可设不公开的保留价，最高出价低于保留价的不成交。"
            if r.reserve_used
            else "本项目不设保留价。",
        )
    )
    single = SINGLE_BIDDER_ZH.get(r.single_bidder_policy, SINGLE_BIDDER_ZH["fail"]).format(
        days=r.single_bidder_extension_working_days
    )
    out.append(
        Rule(
            "single-bidder",
            f"报名截止时合格竞买人不少于 {r.min_qualified_bidders} 名方进行网络竞价；"
            f"只有一名合格竞买人时：{single}；没有合格竞买人的，流拍。",
        )
    )
    if t.priority_holders:
        out.append(
            Rule(
                "priority",
                "本项目设有优先权人（见挂牌条件）：经交易中心核对证明材料确认后，"
                "优先权人可在同等条件下以当前价优先受让。",
            )
        )
    publicity = _days(r.result_publicity_working_days, settings.result_publicity_working_days)
    out.append(
        Rule(
            "publicity",
            f"竞价结束后，成交结果公示 {publicity} 个工作日；公示期内参加竞买的竞买人可以提出异议，"
            "公示期满且没有待处理的异议，成交即确认。",
        )
    )
    signing = _days(
        r.contract_sign_deadline_working_days, settings.contract_sign_deadline_working_days
    )
    out.append(
        Rule(
            "signing",
            f"成交确认后 {signing} 个工作日内，村集体与竞得人在本平台电子签订合同；"
            "竞得人逾期未签约或放弃竞得的，竞买保证金不予退还。",
        )
    )
    refund = _days(r.refund_deadline_working_days, settings.refund_deadline_working_days)
    held = "；候补竞买人的保证金在成交合同签订后退还" if t.on_default == "runner_up" else ""
    out.append(
        Rule(
            "refund",
            f"未竞得的竞买人（以及项目流拍时的全部竞买人），保证金自竞价结束或流拍之日起 "
            f"{refund} 个工作日内原路退还，不计利息{held}；竞得人的保证金在签约后转作租金。",
        )
    )
    out.append(Rule("anonymity", "竞价过程中各方只显示竞买号；出价以服务器接收时间为准。"))
    out.append(
        Rule(
            "frozen",
            "以上规则自公告发布时确定，此后交易规则的调整不适用于本项目。"
            if fixed is not None
            else "以上为按现行交易规则拟定的须知，以公告发布时确定的规则为准。",
        )
    )
    return out


def _days(fixed: int | None, current: int) -> int:
    """A period the announcement fixed; listings announced before it was fixed follow the
    settings of the day (as their contracts and refunds do)."""
    return current if fixed is None else fixed


def _preview(settings: ExchangeSettings, listing: ListingOut) -> AnnouncedRules:
    """The rules an announcement would fix today (listings.announced.announced_rules)."""
    return announced_rules(listing.terms, settings)
