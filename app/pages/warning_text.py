"""A warning's evidence as Chinese sentences, one writer per kind of warning
(oversight.warnings), for the regulator's pages. Listings are named by their title and linked
to their regulator page; bidders appear by bidder number, with their name only where the
policy lets the reader tie a number to a person (the caller fills `Context.people` then).
Evidence the writers cannot read (an unknown kind, an older shape) is said as labelled facts,
never as data."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from fractions import Fraction
from typing import Any, Final

from markupsafe import Markup

from app.pages.labels import LEDGER_TYPES_ZH, OUTCOMES_ZH, bj, state_zh, yuan, zh_date
from app.pages.queries import CONTRACT_STATES_ZH
from contracts.content import DEAL_KINDS_ZH
from core.ids import mask_phone
from core.money import format_percent
from listings.schemas import CATEGORY_NAMES_ZH

Sentences = list[Markup]


@dataclass(frozen=True, slots=True)
class Context:
    """What the sentences may name: listings the reader may open (id → title), bidders'
    names by number (only where the identities facet allows it), and whether shared phone
    numbers and accounts may be shown in full (the dossiers facet)."""

    titles: Mapping[int, str] = field(default_factory=dict)
    people: Mapping[str, str] = field(default_factory=dict)
    dossiers: bool = False


#: Where a shared value was seen (oversight.warnings.bidders).
SEEN_IN_ZH: Final = {
    "account": "注册账户",
    "registration": "报名记录",
    "bid": "出价记录",
    "payment": "保证金缴款",
}
#: What bidders shared, per kind: its name, and how its value is shown.
SHARED_ZH: Final = {
    "shared_phone": ("phone", "手机号"),
    "shared_ip": ("ip", "IP地址"),
    "shared_device": ("device", "设备（浏览器标识）"),
    "shared_bank_account": ("bank_account", "缴纳保证金的银行账户"),
}
#: Labels of facts, for evidence no writer reads (an unknown kind, a field added later).
FACT_LABELS_ZH: Final = {
    "amount_fen": "金额",
    "listing_fen": "挂牌价",
    "listing_price_fen": "挂牌价",
    "final_fen": "成交价",
    "outstanding_fen": "欠缴金额",
    "appraisal_fen": "评估价",
    "previous_price_fen": "上次挂牌价",
    "count": "笔数",
    "qualified": "合格竞买人人数",
    "failures": "流拍次数",
    "rounds": "竞价轮次",
    "days_late": "逾期天数",
    "days_left": "剩余天数",
    "days_overdue": "逾期天数",
    "max_days_overdue": "最长逾期天数",
    "threshold_days": "预警天数标准",
    "term_years": "流转期限（年）",
    "max_term_years": "最长期限（年）",
    "floor_percent": "降价下限（%）",
    "bidder_number": "竞买号",
    "winner_number": "竞得人竞买号",
    "category": "资产类别",
    "listing_state": "项目状态",
    "state": "状态",
    "outcome": "交易结果",
    "reason": "理由",
    "note": "说明",
    "basis": "计算依据",
    "village": "村",
    "due_date": "应付日期",
    "deadline": "期限",
    "decided_at": "成交时间",
    "decided_on": "成交日期",
    "lease_ends_on": "租期届满日",
    "refund_due_at": "应退还日期",
    "announced_at": "公告时间",
}


def _link(listing_id: int | None, ctx: Context) -> Markup:
    """A listing by its title, linked to its regulator page; by number if the reader may not
    open it."""
    if listing_id is None:
        return Markup("（未关联项目）")
    title = ctx.titles.get(int(listing_id))
    if title is None:
        return Markup("编号 {} 的项目").format(listing_id)
    return Markup('<a href="/oversight/listings/{}">{}</a>').format(listing_id, title)


def _bidder(number: Any, ctx: Context) -> Markup:
    if not number:
        return Markup("一名尚未取得竞买号的报名人")
    name = ctx.people.get(str(number))
    if name:
        return Markup("竞买号 {}（{}）").format(number, name)
    return Markup("竞买号 {}").format(number)


def _bidders(numbers: list[Any], ctx: Context) -> Markup:
    return Markup("、").join(_bidder(n, ctx) for n in numbers)


def _moment(value: Any) -> str:
    return bj(value) if value else "—"


def _day(value: Any) -> str:
    return zh_date(value) if value else "—"


def _percent(part: int, whole: int) -> str:
    return format_percent(Fraction(part, whole)) if whole else "—"


def _reason(evidence: Mapping[str, Any]) -> Markup:
    reason = str(evidence.get("reason") or "").strip()
    if reason:
        return Markup("村集体说明的理由：{}。").format(reason)
    return Markup("村集体未说明理由。")


# ----- one writer per kind -------------------------------------------------------------


def _single_bidder(e: Mapping[str, Any], ctx: Context) -> Sentences:
    said = [
        Markup("报名截止时只有 1 名合格竞买人（{}），竞价缺乏竞争。").format(
            _bidder(e.get("bidder_number"), ctx)
        )
    ]
    if e.get("listing_state"):
        outcome = OUTCOMES_ZH.get(str(e.get("outcome") or ""), "")
        said.append(
            Markup("发现时项目状态：{}{}。").format(
                state_zh(e["listing_state"]), f"（{outcome}）" if outcome else ""
            )
        )
    return said


def _shared(kind: str) -> Callable[[Mapping[str, Any], Context], Sentences]:
    key, what = SHARED_ZH[kind]

    def write(e: Mapping[str, Any], ctx: Context) -> Sentences:
        bidders = list(e["bidders"])
        numbers = [b.get("bidder_number") for b in bidders]
        said = [
            Markup("{} 名竞买人使用了同一{}：{}。").format(
                len(numbers), what, _bidders(numbers, ctx)
            )
        ]
        value = e.get(key)
        if value:
            said.append(Markup("相同的{}：{}。").format(what, _shown_value(key, str(value), ctx)))
        else:
            said.append(Markup("竞价结束前不显示该{}和竞买人身份。").format(what))
        for b in bidders:
            seen = "、".join(SEEN_IN_ZH.get(s, "其他记录") for s in b.get("seen_in") or ())
            if seen:
                said.append(
                    Markup("{}：见于{}。").format(_bidder(b.get("bidder_number"), ctx), seen)
                )
        if kind == "shared_device":
            said.append(Markup("同型号手机、同版本浏览器的标识也会相同，仅作线索。"))
        return said

    return write


def _shown_value(key: str, value: str, ctx: Context) -> str:
    """A shared value as the reader may see it: phones and accounts in full for oversight
    after the end (dossiers), else masked; addresses and devices as found."""
    if key == "phone" and not ctx.dossiers:
        return mask_phone(value)
    if key == "bank_account" and not ctx.dossiers:
        return f"尾号 {value[-4:]}"
    if key == "device" and len(value) > 120:
        return value[:120] + "…"
    return value


def _zero_premium(e: Mapping[str, Any], ctx: Context) -> Sentences:
    listing, final = int(e["listing_fen"]), int(e["final_fen"])
    relation = "等于" if final == listing else "低于"
    said = [
        Markup("成交价 {} {}挂牌价 {}，溢价率 {} %。").format(
            yuan(final), relation, yuan(listing), _percent(final - listing, listing)
        )
    ]
    how = DEAL_KINDS_ZH.get(str(e.get("deal_kind") or ""), "")
    rounds = e.get("rounds")
    parts = []
    if how:
        parts.append(Markup("成交方式：{}").format(how))
    if rounds is not None:
        parts.append(Markup("竞价 {} 轮").format(rounds))
    if e.get("winner_number"):
        parts.append(Markup("竞得人 {}").format(_bidder(e["winner_number"], ctx)))
    if parts:
        said.append(Markup("；").join(parts) + Markup("。"))
    return said


def _failed_twice(e: Mapping[str, Any], ctx: Context) -> Sentences:
    said = [Markup("同一资产已连续 {} 次挂牌流拍：").format(e["failures"])]
    for step in e.get("chain") or ():
        outcome = OUTCOMES_ZH.get(str(step.get("outcome") or ""), "") or state_zh(step["state"])
        said.append(
            Markup("{}（{} 公告，{}）。").format(
                _link(step.get("listing_id"), ctx), _moment(step.get("announced_at")), outcome
            )
        )
    return said


def _term_too_long(e: Mapping[str, Any], ctx: Context) -> Sentences:
    category = CATEGORY_NAMES_ZH.get(str(e.get("category")), "该类资产")
    return [
        Markup("流转期限 {} 年，超过{}最长 {} 年的规定。").format(
            e["term_years"], category, e["max_term_years"]
        )
    ]


def _below_appraisal(e: Mapping[str, Any], ctx: Context) -> Sentences:
    price, appraisal = int(e["listing_price_fen"]), int(e["appraisal_fen"])
    return [
        Markup("挂牌价 {} 低于评估价 {}，为评估价的 {} %。").format(
            yuan(price), yuan(appraisal), _percent(price, appraisal)
        ),
        _reason(e),
    ]


def _deep_relist_cut(e: Mapping[str, Any], ctx: Context) -> Sentences:
    price, before = int(e["listing_price_fen"]), int(e["previous_price_fen"])
    return [
        Markup("重新挂牌价 {} 为上次挂牌价 {} 的 {} %，低于规定的 {} %。").format(
            yuan(price), yuan(before), _percent(price, before), e["floor_percent"]
        ),
        _reason(e),
    ]


def _contract_unsigned(e: Mapping[str, Any], ctx: Context) -> Sentences:
    state = CONTRACT_STATES_ZH.get(str(e.get("contract_state") or ""), "")
    said = [
        Markup("{} 成交，合同应于 {} 前签订，逾期尚未签订。").format(
            _moment(e.get("decided_at")), _moment(e.get("deadline"))
        )
    ]
    if state:
        said.append(Markup("合同现状：{}。").format(state))
    if e.get("deadline_working_days"):
        said.append(
            Markup("签约期限为成交后 {} 个工作日（合同另定期限的从其约定）。").format(
                e["deadline_working_days"]
            )
        )
    return said


def _lease_expiring(e: Mapping[str, Any], ctx: Context) -> Sentences:
    said = [
        Markup("租期将于 {} 届满，还有 {} 天。").format(
            _day(e.get("lease_ends_on")), e.get("days_left", "—")
        ),
        Markup("{} 成交，租期 {} 年。").format(_day(e.get("decided_on")), e.get("term_years", "—")),
    ]
    if e.get("basis"):
        said.append(Markup("届满日按{}计算。").format(e["basis"]))
    return said


def _refund_late(e: Mapping[str, Any], ctx: Context) -> Sentences:
    deposits = list(e["deposits"])
    said = [
        Markup("{} 笔竞买保证金共 {} 逾期未退还：").format(
            e.get("count", len(deposits)), yuan(int(e["amount_fen"]))
        )
    ]
    for d in deposits:
        said.append(
            Markup("{} 应于 {} 前退还，已逾期 {} 天。").format(
                yuan(int(d["amount_fen"])), _moment(d.get("refund_due_at")), d.get("days_late")
            )
        )
    return said


def _arrears(level: str) -> Callable[[Mapping[str, Any], Context], Sentences]:
    colour = "红色" if level == "red" else "黄色"

    def write(e: Mapping[str, Any], ctx: Context) -> Sentences:
        said = [
            Markup("承租方有 {} 期租金逾期未付，共欠缴 {}，最长逾期 {} 天，").format(
                e["count"], yuan(int(e["outstanding_fen"])), e["max_days_overdue"]
            )
            + Markup("达到逾期 {} 天的{}预警标准。").format(e["threshold_days"], colour)
        ]
        for item in e.get("items") or ():
            said.append(
                Markup("第 {} 期：应于 {} 支付 {}，尚欠 {}，逾期 {} 天。").format(
                    item["number"],
                    _day(item.get("due_date")),
                    yuan(int(item["amount_fen"])),
                    yuan(int(item["outstanding_fen"])),
                    item["days_overdue"],
                )
            )
        return said

    return write


SENTENCES: Final[dict[str, Callable[[Mapping[str, Any], Context], Sentences]]] = {
    "single_bidder": _single_bidder,
    **{kind: _shared(kind) for kind in SHARED_ZH},
    "zero_premium": _zero_premium,
    "failed_twice": _failed_twice,
    "term_too_long": _term_too_long,
    "below_appraisal": _below_appraisal,
    "deep_relist_cut": _deep_relist_cut,
    "contract_unsigned": _contract_unsigned,
    "lease_expiring": _lease_expiring,
    "refund_late": _refund_late,
    "arrears_yellow": _arrears("yellow"),
    "arrears_red": _arrears("red"),
}


# ----- the generic sentence and the ledger basis ----------------------------------------


def _fact(key: str, value: Any, ctx: Context) -> str | None:
    """One fact in words; None for what has no words (nested data, unknown codes)."""
    if value is None or value == "" or isinstance(value, dict):
        return None
    if isinstance(value, list):
        return f"{len(value)} 项"
    if isinstance(value, bool):
        return "是" if value else "否"
    if key.endswith("_fen") and isinstance(value, int):
        return yuan(value)
    if key == "category":
        return CATEGORY_NAMES_ZH.get(str(value))
    if key in ("state", "listing_state"):
        return state_zh(str(value))
    if key == "outcome":
        return OUTCOMES_ZH.get(str(value))
    if key.endswith(("_at", "deadline")):
        return _moment(value)
    if key.endswith(("_on", "_date")):
        return _day(value)
    if isinstance(value, int | float | date | datetime):
        return str(value)
    return str(value) if key in FACT_LABELS_ZH else None


def generic(evidence: Mapping[str, Any], ctx: Context) -> Sentences:
    """Labelled facts, for evidence no writer knows: what has no label is counted, not shown."""
    facts, unnamed = [], 0
    for key, value in evidence.items():
        if key == "ledger":
            continue
        label = FACT_LABELS_ZH.get(key)
        text = _fact(key, value, ctx) if label else None
        if label and text:
            facts.append(f"{label}：{text}")
        else:
            unnamed += 1
    listed = "；".join(facts) if facts else "（无可显示的事实）"
    said = [Markup("发现以下情况：{}。").format(listed)]
    if unnamed:
        said.append(Markup("另有 {} 项记录未在此列出，可导出查看。").format(unnamed))
    return said


def _basis(evidence: Mapping[str, Any]) -> Sentences:
    said = []
    for ref in evidence.get("ledger") or ():
        if isinstance(ref, dict) and ref.get("seq") is not None:
            said.append(
                Markup("依据：本项目交易日志第 {} 条记录（{}），可在交易日志包中离线核验。").format(
                    ref["seq"], LEDGER_TYPES_ZH.get(str(ref.get("type")), "交易记录")
                )
            )
    return said


def sentences(kind: str, evidence: Mapping[str, Any], ctx: Context) -> Sentences:
    """The warning's evidence in sentences: its kind's writer, else (also when the evidence
    is not of the shape the writer reads) the labelled facts; then the ledger entries cited."""
    write = SENTENCES.get(kind, generic)
    try:
        said = write(evidence, ctx)
    except (KeyError, TypeError, ValueError):
        said = generic(evidence, ctx)
    return said + _basis(evidence)


def listing_link(listing_id: int | None, ctx: Context) -> Markup:
    """A warning's listing as its pages show it: the title, linked."""
    return _link(listing_id, ctx)
