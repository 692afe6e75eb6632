"""How the pages write the exchange's words and numbers: Chinese labels of codes, money in
yuan (and in words), times in Beijing time."""

from __future__ import annotations

from datetime import UTC, date, datetime

from auction.engine import Mode
from auction.models import Auction
from contracts.deal_rules import DEFAULT_REASONS_ZH, VOID_REASONS_ZH
from contracts.deal_rules import STATE_NAMES_ZH as DEAL_STATE_NAMES_ZH
from core.clock import CHINA_TZ, deadline_zh, period_end
from core.money import format_yuan, yuan_in_words
from listings.rules import STATE_NAMES_ZH, ListingState
from listings.schemas import DOCUMENT_KINDS_ZH as DOCUMENT_KINDS_ZH
from listings.schemas import AnnouncedRules, Terms
from oversight.views import TYPE_NAMES_ZH

#: Payment frequencies in a word (the contract states each as a clause: contracts.content).
PAYMENTS_ZH = {
    "annual": "按年支付",
    "semiannual": "按半年支付",
    "quarterly": "按季度支付",
    "monthly": "按月支付",
    "lump_sum": "一次性支付",
}
AUCTION_STATUS_ZH = {
    "scheduled": "待开始",
    "free": "自由竞价",
    "countdown": "限时竞价",
    "paused": "已暂停",
    "ended": "已结束",
}
REG_STATES_ZH = {
    "pending_deposit": "待缴保证金",
    "deposit_paid": "保证金已到账，待资格审核",
    "qualified": "已取得竞买资格",
    "rejected": "未通过资格审核",
}
PRIORITY_CLAIMS_ZH = {
    "claimed": "已声明，待审核确认",
    "confirmed": "已确认",
    "refused": "不予确认",
    "lapsed": "报名期内未经确认，按普通竞买人参加",
}
DEPOSIT_STATES_ZH = {
    "pending": "待缴纳",
    "paid": "已到账",
    "held": "冻结中",
    "refundable": "待退还",
    "refunded": "已退还",
    "credited_to_rent": "已转作租金",
    "forfeited": "已没收",
}
ROLES_ZH = {
    "bidder": "竞买人",
    "village": "村集体经办人",
    "reviewer": "交易中心审核员",
    "regulator": "监管人员",
    "admin": "系统管理员",
}
OUTCOMES_ZH = {
    "auction": "网络竞价成交",
    "agreement": "协议成交",
    "no_bidders": "无人报名，流拍",
    "too_few_bidders": "合格竞买人不足，流拍",
    "unsold_below_reserve": "未达保留价，流拍",
    "unsold_no_bids": "无人出价，流拍",
    "deal_voided": "成交已撤销",
}
#: What follows a voided deal (Terms.on_default), as the terms and the entrustment form say.
ON_DEFAULT_ZH = {"relist": "重新挂牌", "runner_up": "向候补竞买人递补成交"}
OBJECTION_STATES_ZH = {
    "filed": "待处理",
    "upheld": "异议成立（成交无效）",
    "dismissed": "已驳回",
    "closed": "原成交已撤销，不再审查",
}
#: The deal's state after the hammer, and why it was voided or defaulted (contracts.deal_rules).
DEAL_STATES_ZH: dict[str, str] = {state.value: name for state, name in DEAL_STATE_NAMES_ZH.items()}
DEAL_VOID_REASONS_ZH = VOID_REASONS_ZH
DEAL_DEFAULT_REASONS_ZH = DEFAULT_REASONS_ZH
#: Ledger entry types in words: one map, the regulators' (oversight.views).
LEDGER_TYPES_ZH = TYPE_NAMES_ZH
#: Why a bid (or a pause, a resume) was refused, as a third party reads it in the bid ladder
#: and the timeline (auction.codes; the bidder is told `MESSAGES_ZH`, in the second person).
BID_REJECTIONS_ZH = {
    "not_running": "竞价未在进行中",
    "not_qualified": "未取得竞买资格",
    "below_minimum": "低于当前最低可出价",
    "not_step_multiple": "不是加价幅度的整数倍",
    "too_many_steps": "超过单次最大加价幅度倍数",
    "self_outbid": "已是最高出价人，不能自行加价",
    "stale": "出价前价格已被他人刷新",
    "rate_limited": "出价过于频繁",
    "not_priority_holder": "不享有优先权",
    "nothing_to_match": "没有可以跟价的出价",
    "not_paused": "竞价未处于暂停状态",
    "already_ended": "竞价已结束",
}
#: How a bid reached the exchange (auction.models.Bid.channel).
BID_CHANNELS_ZH = {"ws": "竞价大厅（实时连接）", "http": "网页或接口"}
#: The timeline's phases, for its filter: the prefix of an entry's type says which.
TIMELINE_PHASES = {
    "entrustment": "委托与公告",
    "registration": "报名与保证金",
    "auction": "竞价",
    "deal": "成交与异议",
    "contract": "合同与租金",
    "other": "账户、规则与预警",
}
_PHASE_OF_PREFIX = {
    "listing": "entrustment",
    "registration": "registration",
    "deposit": "registration",
    "payment": "registration",
    "auction": "auction",
    "bid": "auction",
    "deal": "deal",
    "objection": "deal",
    "contract": "contract",
    "rent": "contract",
    "certificate": "contract",
}


def phase_of_entry(entry_type: str) -> str:
    """The timeline phase of a ledger entry type (the listing's conclusion belongs to its deal)."""
    if entry_type == "listing.concluded":
        return "deal"
    return _PHASE_OF_PREFIX.get(entry_type.split(".", 1)[0], "other")


# ----- display formats -------------------------------------------------------------------


def yuan(fen: int | None, symbol: bool = True) -> str:
    return "—" if fen is None else format_yuan(int(fen), symbol=symbol)


def yuan_words(fen: int | None) -> str:
    return "" if fen is None else yuan_in_words(int(fen))


def signed_yuan(fen: int | None) -> str:
    if fen is None:
        return "—"
    return ("+" if fen > 0 else "") + format_yuan(int(fen), symbol=True)


def _aware(value: datetime | str | None) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


def bj(value: datetime | str | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A moment in Beijing time."""
    at = _aware(value)
    return "—" if at is None else at.astimezone(CHINA_TZ).strftime(fmt)


def bj_end(value: datetime | str | None) -> str:
    """The end of a period in Beijing time, in figures; a period ending at midnight ends at
    24:00 of its last day (core.clock.period_end), so 00:00 is written as 24:00 the day before."""
    at = _aware(value)
    if at is None:
        return "—"
    day, closing = period_end(at)
    return f"{day:%Y-%m-%d} {closing}"


def deadline(value: datetime | str | None) -> str:
    """A deadline in words as the contract and the notices write it (core.clock.deadline_zh):
    2026年12月21日24:00."""
    at = _aware(value)
    return "—" if at is None else deadline_zh(at)


#: The same words under the name the live page's templates use (live.js `zhDeadline` mirrors it).
zh_deadline = deadline


def iso_utc(value: datetime | str | None) -> str:
    at = _aware(value)
    return (
        ""
        if at is None
        else at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


def zh_date(value: date | str | None) -> str:
    """A calendar date as the contract writes it: 2027年3月1日."""
    if value is None or value == "":
        return "—"
    day = date.fromisoformat(value) if isinstance(value, str) else value
    return f"{day.year}年{day.month}月{day.day}日"


WEEKDAYS_ZH = ("星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日")


def zh_day(value: date) -> str:
    """A day with its weekday, for calendars: 2027年10月1日（星期五）."""
    return f"{zh_date(value)}（{WEEKDAYS_ZH[value.weekday()]}）"


def state_zh(state: str | None) -> str:
    try:
        return STATE_NAMES_ZH[ListingState(state or "")]
    except ValueError:
        return state or ""


# ----- the auction's variant (竞价方式) ------------------------------------------------------


def auction_variant_zh(terms: Terms, rules: AnnouncedRules | None = None) -> str:
    """How the listing's auction runs, as its terms and announcement fix it: the countdown's
    length from the terms, else the announced rules, else "by the exchange's rules"."""
    if terms.auction_mode == "fixed_end":
        extension = terms.extension_seconds
        cap = terms.hard_cap_minutes
        limit = f"最长延至开始后 {cap} 分钟" if cap is not None else "不设最长延时"
        return (
            f"限时竞价：竞价期 {terms.duration_minutes} 分钟，最后 {extension} 秒内有出价的，"
            f"结束时间延至该出价后 {extension} 秒，{limit}"
        )
    seconds = terms.countdown_seconds
    if seconds is None and rules is not None:
        seconds = rules.countdown_seconds
    restart = f"重新计时 {seconds} 秒" if seconds else "重新计时，时长按交易规则"
    return f"自由竞价＋倒计时（每次出价后{restart}）"


def auction_phase_zh(auction: Auction) -> str:
    """An auction's phase in words. A fixed-end auction bids in one period (engine status
    `free`): 竞价中, or 延时竞价 once a late bid has moved its end past the scheduled one."""
    rules = auction.rules
    if rules.mode is Mode.FIXED_END and auction.status == "free":
        late = auction.ends_at is not None and auction.ends_at > rules.fixed_end
        return "延时竞价" if late else "竞价中"
    return AUCTION_STATUS_ZH.get(auction.status, auction.status)
