"""The entrustment form (委托挂牌): read into a `ListingCreate` body in one pass with every
error next to its input, and filled back from a listing for editing. The rules themselves are
the service's, the rules modules' and the wire types'; this module maps fields and words."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from fractions import Fraction
from typing import Any

import msgspec

from app.pages.forms import (
    Form,
    choice_field,
    date_field,
    int_field,
    money_field,
    text_field,
    validation_field,
)
from app.pages.labels import ON_DEFAULT_ZH, PAYMENTS_ZH, yuan
from core.errors import DomainError
from core.money import format_percent
from core.settings import ExchangeSettings
from listings import economics
from listings import resolution as resolution_rules
from listings.models import Listing
from listings.rules import check_auction_variant, check_reserve, check_term_length
from listings.schemas import (
    AREA_UNIT_NAMES_ZH,
    CATEGORY_NAMES_ZH,
    MEETING_KINDS_ZH,
    PRICE_UNIT_NAMES_ZH,
    ListingCreate,
    Resolution,
    Terms,
)

#: Form field of each wire field, so a validation error lands next to the right input.
WIRE_TO_FORM = {
    "listing_price_fen": "listing_price",
    "increment_fen": "increment",
    "deposit_fen": "deposit",
    "reserve_fen": "reserve",
    "appraisal_fen": "appraisal",
    "performance_deposit_fen": "performance_deposit",
    "every_years": "escalation_every_years",
    "percent": "escalation_percent",
    "contact": "site_visit_contact",
    "phone": "site_visit_phone",
    "note": "site_visit_note",
}
FIELD_HINTS = {
    "title": "请填写项目名称（1–200 字）",
    "category": "请选择资产类别",
    "location": "请填写资产坐落位置（1–200 字）",
    "area": "面积应为数字，最多4位小数",
    "area_unit": "请选择面积单位",
    "description": "资产现状描述不超过5000字",
    "listing_price": "挂牌价应大于0",
    "increment": "加价幅度应大于0",
    "term_years": "流转期限应为1至70年",
    "term_months": "另加月数应为0至11",
    "max_steps": "每次最多加价档数应为1至100",
    "deposit": "保证金金额有误",
    "reserve": "保留价金额有误",
    "appraisal": "评估价金额有误",
    "price_reason": "定价说明不超过500字",
    "escalation_every_years": "递增周期应为1至30年",
    "escalation_percent": "递增比例应为0至100",
    "rent_free_months": "免租期应为0至120个月",
    "permitted_use": "用途要求不超过500字",
    "lease_start": "起租日应为有效日期，如 2027-03-01",
    "performance_deposit": "履约保证金应大于0；不收取请留空",
    "price_unit": "请选择计价单位",
    "payment": "请选择支付方式",
    "auction_mode": "请选择竞价方式",
    "on_default": "请选择竞得人违约的处理方式",
    "duration_minutes": "竞价期应为1至10080分钟",
    "extension_seconds": "延时周期应为5至3600秒",
    "hard_cap_minutes": "最长延时应为1至20160分钟",
    "free_bidding_minutes": "自由竞价时长应为0至1440分钟",
    "countdown_seconds": "倒计时时长应为5至3600秒",
    "site_visit_contact": "看样联系人不超过50字",
    "site_visit_phone": "请填写有效的联系电话，如 0595-12345678 或 13912345678",
    "site_visit_note": "看样时间和方式不超过200字",
}
SERVICE_FIELDS = {
    "terms.term_too_long": "term_years",
    "terms.reserve_below_start": "reserve",
    "terms.fixed_end.duration_required": "duration_minutes",
    "terms.fixed_end.extension_required": "extension_seconds",
    "terms.fixed_end.extension_too_long": "extension_seconds",
    "terms.fixed_end.cap_before_end": "hard_cap_minutes",
    "terms.fixed_end": "auction_mode",
    "terms.countdown": "auction_mode",
    "document": "documents",
    "resolution.basis": "resolution_attendance_basis",
    "resolution.present_exceeds_entitled": "resolution_present",
    "resolution.votes_exceed_present": "resolution_votes_for",
    "resolution.meeting_in_future": "resolution_meeting_date",
    "resolution.publicity_order": "resolution_publicity_end",
    "resolution.publicity_before_meeting": "resolution_publicity_start",
    "resolution.no_quorum": "resolution_present",
    "resolution.not_adopted": "resolution_votes_for",
    "resolution.two_thirds_required": "resolution_votes_for",
}
#: The resolution's inputs: wire field → (form field, label).
RESOLUTION_COUNTS = {
    "entitled": ("resolution_entitled", "应到人数"),
    "present": ("resolution_present", "实到人数"),
    "votes_for": ("resolution_votes_for", "同意票数"),
    "votes_against": ("resolution_votes_against", "反对票数"),
    "abstentions": ("resolution_abstentions", "弃权票数"),
}
RESOLUTION_DATES = {
    "meeting_date": ("resolution_meeting_date", "会议日期"),
    "publicity_start": ("resolution_publicity_start", "决议公示开始日期"),
    "publicity_end": ("resolution_publicity_end", "决议公示结束日期"),
}
RESOLUTION_FIELDS = (
    "resolution_meeting_kind",
    *(f for f, _ in RESOLUTION_DATES.values()),
    *(f for f, _ in RESOLUTION_COUNTS.values()),
)
ATTENDANCE_BASES = {
    "persons": "按人数（18 周岁以上村民或村民代表）",
    "households": "按户（户代表）",
}
#: The form's file inputs and the kind of document each holds (the appraisal report's input is
#: not named `appraisal`: that is the appraised value's).
DOCUMENT_INPUTS = {
    "village_resolution": "village_resolution",
    "ownership_proof": "ownership_proof",
    "appraisal_report": "appraisal",
    "photo": "photo",  # its own fieldset (看样联系与现场照片); more photos on the listing page
}
ESCALATION_KINDS = {
    "compound": "在上一期年租金基础上递增（复利）",
    "simple": "在首年租金基础上递增（单利）",
}
#: Each input's name in the summary of errors above the form, in the form's order.
FIELD_LABELS = {
    "title": "项目名称",
    "category": "资产类别",
    "location": "坐落位置",
    "area": "面积",
    "area_unit": "面积单位",
    "description": "资产现状",
    "listing_price": "挂牌价",
    "price_unit": "计价单位",
    "term_years": "流转期限",
    "term_months": "另加月数",
    "payment": "租金支付方式",
    "lease_start": "租赁起始日",
    "increment": "加价幅度",
    "max_steps": "每次最多加价档数",
    "deposit": "竞买保证金",
    "performance_deposit": "履约保证金",
    "escalation_every_years": "租金递增周期",
    "escalation_percent": "每次递增比例",
    "escalation_kind": "递增方式",
    "rent_free_months": "免租期",
    "reserve": "保留价",
    "appraisal": "评估价",
    "price_reason": "定价说明",
    "permitted_use": "用途要求",
    "on_default": "竞得人违约的处理",
    "auction_mode": "竞价方式",
    "free_bidding_minutes": "自由竞价时长",
    "countdown_seconds": "倒计时时长",
    "duration_minutes": "竞价期",
    "extension_seconds": "延时周期",
    "hard_cap_minutes": "最长延时",
    "resolution_meeting_kind": "会议类型",
    "resolution_meeting_date": "会议日期",
    "resolution_attendance_basis": "到会人数计算方式",
    "resolution_entitled": "应到人数",
    "resolution_present": "实到人数",
    "resolution_votes_for": "同意票数",
    "resolution_votes_against": "反对票数",
    "resolution_abstentions": "弃权票数",
    "resolution_publicity_start": "决议公示开始日期",
    "resolution_publicity_end": "决议公示结束日期",
    "village_resolution": "村民（代表）会议决议",
    "ownership_proof": "权属证明",
    "appraisal_report": "评估报告",
    "site_visit_contact": "看样联系人",
    "site_visit_phone": "联系电话",
    "site_visit_note": "看样时间和方式",
    "photo": "现场照片",
}
#: Terms the form does not show (set through the API): saving the form keeps them.
FORMLESS_TERMS = ("priority_holders",)
#: Whom bidders call to see the asset: form field → wire field of `SiteVisit`.
SITE_VISIT_FIELDS = {
    "site_visit_contact": "contact",
    "site_visit_phone": "phone",
    "site_visit_note": "note",
}
#: The choices of 竞价方式 (the full rule is stated on the listing: labels.auction_variant_zh).
AUCTION_MODES = {
    "countdown": "自由竞价＋倒计时（每次出价后重新计时）",
    "fixed_end": "限时竞价（竞价期届满结束，尾段出价延时）",
}


def deposit_rule_text(settings: ExchangeSettings) -> str:
    rule = settings.deposit_rule
    if rule.kind == "fixed":
        return f"固定金额 {yuan(rule.fixed_fen)}"
    return f"挂牌总价（挂牌价 × 期限）的 {format_percent(Fraction(rule.basis_points, 10000))}%"


@dataclass
class Reading:
    """The form read in one pass: the ListingCreate body (wire shape) when nothing is wrong,
    and the status to answer with otherwise — 400 when a field itself is wrong, else the first
    rule's (422 for a rule of law such as the quorum)."""

    body: dict[str, Any] | None
    status: int = 400


def read_entrustment(form: Form, settings: ExchangeSettings, today: date) -> Reading:
    """Every field, the rules between them and the resolution's facts checked at once, each
    error placed next to its input (`today`: the server's date, for the meeting's)."""
    v = form.values
    title = text_field(form, "title", "项目名称", required=True, limit=200)
    category = choice_field(form, "category", "资产类别", CATEGORY_NAMES_ZH)
    location = text_field(form, "location", "坐落位置", required=True, limit=200)
    area = _area(form)
    area_unit = choice_field(form, "area_unit", "面积单位", AREA_UNIT_NAMES_ZH, required=False)
    description = text_field(form, "description", "资产现状", limit=5000)
    price = money_field(form, "listing_price", "挂牌价", positive=True)
    price_unit = choice_field(
        form, "price_unit", "计价单位", PRICE_UNIT_NAMES_ZH, default="per_year"
    )
    payment = choice_field(form, "payment", "租金支付方式", PAYMENTS_ZH, default="annual")
    increment = money_field(form, "increment", "加价幅度", positive=True)
    deposit = money_field(form, "deposit", "保证金", required=False)
    reserve = money_field(form, "reserve", "保留价", required=False)
    appraisal = money_field(form, "appraisal", "评估价", required=False)
    performance = money_field(
        form, "performance_deposit", "履约保证金", required=False, positive=True
    )
    term_years = int_field(form, "term_years", "流转期限", minimum=1, maximum=70)
    term_months = int_field(form, "term_months", "另加月数", required=False, minimum=0, maximum=11)
    max_steps = int_field(
        form, "max_steps", "每次最多加价档数", required=False, minimum=1, maximum=100
    )
    rent_free = int_field(
        form, "rent_free_months", "免租期", required=False, minimum=0, maximum=120
    )
    every = int_field(
        form, "escalation_every_years", "递增周期", required=False, minimum=1, maximum=30
    )
    percent = _percent(form)
    escalation_kind = choice_field(
        form, "escalation_kind", "递增方式", ESCALATION_KINDS, default="compound"
    )
    price_reason = text_field(form, "price_reason", "定价说明", limit=500)
    permitted_use = text_field(form, "permitted_use", "用途要求", limit=500)
    lease_start = _lease_start(form)
    on_default = choice_field(
        form, "on_default", "竞得人违约的处理方式", ON_DEFAULT_ZH, default="relist"
    )
    variant = _read_variant(form)
    if price_unit == "per_mu_year":
        if area_unit != "mu" and "area_unit" not in form.errors:
            form.error("area_unit", "按“元/亩/年”计价时，面积单位须为亩", "terms.area_unit")
        if area is None and "area" not in form.errors:
            form.error("area", "按“元/亩/年”计价时须填写面积（亩）", "terms.area")
    if (every is None) != (percent is None) and not _any_error(
        form, "escalation_every_years", "escalation_percent"
    ):
        form.error(
            "escalation_percent" if every else "escalation_every_years",
            "租金递增须同时填写递增周期和递增比例",
            "terms.escalation",
        )
    if rent_free and term_years and rent_free >= term_years * 12 + (term_months or 0):
        form.error("rent_free_months", "免租期须短于流转期限", "terms.rent_free")
    resolution_body = read_resolution(form)
    site_visit = read_site_visit(form)
    field_faults = bool(form.errors)

    # The rules of the exchange and of the law, on every part that could be read.
    faults: list[DomainError] = []
    if term_years is not None and category is not None:
        faults += _broken(check_term_length, term_years, category, settings)
    if reserve is not None and price is not None:
        faults += _broken(check_reserve, reserve, price)
    if variant is not None:
        faults += _broken(
            check_auction_variant,
            variant["auction_mode"],
            duration_minutes=variant.get("duration_minutes"),
            extension_seconds=variant.get("extension_seconds"),
            hard_cap_minutes=variant.get("hard_cap_minutes"),
            free_bidding_minutes=variant.get("free_bidding_minutes"),
            countdown_seconds=variant.get("countdown_seconds"),
        )
    if (
        resolution_body is not None
        and category is not None
        and not _any_error(form, *RESOLUTION_FIELDS)
    ):
        try:
            facts = msgspec.convert(resolution_body, Resolution)
        except msgspec.ValidationError:  # no input left blank or out of range: cannot happen
            pass
        else:
            faults += resolution_rules.faults(facts, category=category, today=today)
    for fault in faults:
        form.fail(fault, SERVICE_FIELDS)
    if not form.ok:
        return Reading(None, 400 if field_faults or not faults else faults[0].status)

    assert price is not None and increment is not None and term_years is not None
    assert variant is not None
    terms: dict[str, Any] = {
        "listing_price_fen": price,
        "price_unit": price_unit,
        "term_years": term_years,
        "term_months": term_months or 0,
        "payment": payment,
        "increment_fen": increment,
        "rent_free_months": rent_free or 0,
        "on_default": on_default,
        **variant,
    }
    optional = {
        "max_steps": max_steps,
        "reserve_fen": reserve,
        "appraisal_fen": appraisal,
        "performance_deposit_fen": performance,
        "lease_start": lease_start,
        "price_reason": price_reason,
        "permitted_use": permitted_use,
    }
    terms.update({k: value for k, value in optional.items() if value is not None})
    if every is not None and percent is not None:
        terms["escalation"] = {"every_years": every, "percent": percent, "kind": escalation_kind}
    if price_unit == "per_mu_year":
        terms["area"] = area
    body: dict[str, Any] = {
        "title": title,
        "category": category,
        "location": location,
        "area": area,
        "area_unit": area_unit or None,
        "description": description or "",
        "terms": terms,
        "resolution": resolution_body,
        "site_visit": site_visit,
    }
    if deposit is None:  # the exchange's rule (economics.deposit_by_rule) on these terms
        try:
            provisional = msgspec.convert({**terms, "deposit_fen": 0}, Terms)
            terms["deposit_fen"] = economics.deposit_by_rule(settings.deposit_rule, provisional)
        except (msgspec.ValidationError, ValueError, ZeroDivisionError):
            terms["deposit_fen"] = 0  # the wire type's check below names the real problem
        v["deposit"] = yuan(terms["deposit_fen"], symbol=False)
    else:
        terms["deposit_fen"] = deposit
    try:  # every field was checked above; the wire type has the last word all the same
        msgspec.convert(body, ListingCreate)
    except msgspec.ValidationError as exc:
        name = validation_field(exc) or "title"
        name = WIRE_TO_FORM.get(name, name)
        form.error(name, FIELD_HINTS.get(name, "输入有误"), "request.invalid")
        return Reading(None)
    return Reading(body)


def _broken(check: Callable[..., None], *args: Any, **kwargs: Any) -> list[DomainError]:
    """The fault a rule finds, as a list (none when it holds)."""
    try:
        check(*args, **kwargs)
    except DomainError as exc:
        return [exc]
    return []


def _any_error(form: Form, *names: str) -> bool:
    return any(name in form.errors for name in names)


def _area(form: Form) -> str | None:
    raw = str(form.values.get("area") or "").strip()
    if raw and not re.fullmatch(r"\d{1,9}(\.\d{1,4})?", raw):
        form.error("area", FIELD_HINTS["area"], "request.invalid")
        return None
    return raw or None


def _percent(form: Form) -> str | None:
    raw = str(form.values.get("escalation_percent") or "").strip()
    if not raw:
        return None
    if not re.fullmatch(r"\d{1,3}(\.\d{1,2})?", raw) or Fraction(raw) > 100:
        form.error("escalation_percent", FIELD_HINTS["escalation_percent"], "request.invalid")
        return None
    return raw


def _lease_start(form: Form) -> str | None:
    raw = str(form.values.get("lease_start") or "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw).isoformat()
    except ValueError:
        form.error("lease_start", FIELD_HINTS["lease_start"], "request.invalid")
        return None


def _read_variant(form: Form) -> dict[str, Any] | None:
    """The 竞价方式 and its own fields: for the countdown, the optional free bidding and
    countdown lengths (empty: the exchange's); for a fixed end, its period, extension and
    cap. The other mode's fields are left out, so numbers typed before switching do not count.
    None when one of them is wrong."""
    mode = choice_field(form, "auction_mode", "竞价方式", AUCTION_MODES, default="countdown")
    if mode is None:
        return None
    if mode == "countdown":
        optional = {
            "free_bidding_minutes": int_field(
                form,
                "free_bidding_minutes",
                "自由竞价时长",
                required=False,
                minimum=0,
                maximum=1440,
            ),
            "countdown_seconds": int_field(
                form, "countdown_seconds", "倒计时时长", required=False, minimum=5, maximum=3600
            ),
        }
        required: dict[str, Any] = {}
    else:
        optional = {
            "hard_cap_minutes": int_field(
                form, "hard_cap_minutes", "最长延时", required=False, minimum=1, maximum=20160
            )
        }
        required = {
            "duration_minutes": int_field(
                form, "duration_minutes", "竞价期", minimum=1, maximum=10080
            ),
            "extension_seconds": int_field(
                form, "extension_seconds", "延时周期", minimum=5, maximum=3600
            ),
        }
    if _any_error(form, *optional, *required):
        return None
    return {
        "auction_mode": mode,
        **required,
        **{k: value for k, value in optional.items() if value is not None},
    }


def read_resolution(form: Form) -> dict[str, Any] | None:
    """The resolution's facts as the wire shape: none when every input is blank, else all of
    them (the abstentions and votes against may be left blank for 0)."""
    v = form.values
    if not any(str(v.get(name) or "").strip() for name in RESOLUTION_FIELDS):
        return None
    kind = v.get("resolution_meeting_kind")
    if kind not in MEETING_KINDS_ZH:
        form.error("resolution_meeting_kind", "请选择会议类型", "form.required")
    out: dict[str, Any] = {
        "meeting_kind": kind,
        "attendance_basis": "households"
        if v.get("resolution_attendance_basis") == "households"
        else "persons",
    }
    for wire, (name, label) in RESOLUTION_DATES.items():
        out[wire] = date_field(form, name, label)
    for wire, (name, label) in RESOLUTION_COUNTS.items():
        optional = wire in ("votes_against", "abstentions")
        least = 1 if wire == "entitled" else 0
        value = int_field(
            form, name, label, required=not optional, minimum=least, maximum=1_000_000
        )
        out[wire] = value or 0
    return out


def read_site_visit(form: Form) -> dict[str, str] | None:
    """Whom to call to see the asset: none when left blank, else a contact and a telephone
    (the note is optional); the telephone's form is checked by the wire type."""
    values = {
        wire: str(form.values.get(name) or "").strip() for name, wire in SITE_VISIT_FIELDS.items()
    }
    if not any(values.values()):
        return None
    if not values["contact"]:
        form.error(
            "site_visit_contact", "请填写看样联系人（或把看样联系信息全部留空）", "form.required"
        )
    if not values["phone"]:
        form.error("site_visit_phone", "请填写看样联系电话", "form.required")
    return values


def resolution_values(resolution: Resolution | None) -> dict[str, Any]:
    """The resolution's inputs filled from stored facts (blank when there are none)."""
    if resolution is None:
        return {name: "" for name in RESOLUTION_FIELDS}
    values: dict[str, Any] = {
        "resolution_meeting_kind": resolution.meeting_kind,
        "resolution_attendance_basis": resolution.attendance_basis,
    }
    for wire, (name, _) in RESOLUTION_DATES.items():
        values[name] = getattr(resolution, wire).isoformat()
    for wire, (name, _) in RESOLUTION_COUNTS.items():
        values[name] = getattr(resolution, wire)
    return values


def form_from_listing(listing: Listing) -> Form:
    t = listing.terms
    esc = t.escalation
    return Form(
        values={
            "title": listing.title,
            "category": listing.category,
            "location": listing.location,
            "area": listing.area or "",
            "area_unit": listing.area_unit or "",
            "description": listing.description,
            "listing_price": yuan(t.listing_price_fen, False),
            "price_unit": t.price_unit,
            "term_years": t.term_years,
            "term_months": t.term_months or "",
            "payment": t.payment,
            "increment": yuan(t.increment_fen, False),
            "max_steps": t.max_steps or "",
            "deposit": yuan(t.deposit_fen, False),
            "reserve": yuan(t.reserve_fen, False) if t.reserve_fen is not None else "",
            "appraisal": yuan(t.appraisal_fen, False) if t.appraisal_fen is not None else "",
            "price_reason": t.price_reason or "",
            "lease_start": t.lease_start.isoformat() if t.lease_start else "",
            "performance_deposit": (
                yuan(t.performance_deposit_fen, False) if t.performance_deposit_fen else ""
            ),
            "escalation_every_years": esc.every_years if esc else "",
            "escalation_percent": esc.percent if esc else "",
            "escalation_kind": esc.kind if esc else "compound",
            "rent_free_months": t.rent_free_months or "",
            "permitted_use": t.permitted_use or "",
            "on_default": t.on_default,
            "auction_mode": t.auction_mode,
            "duration_minutes": t.duration_minutes or "",
            "extension_seconds": t.extension_seconds or "",
            "hard_cap_minutes": t.hard_cap_minutes or "",
            "free_bidding_minutes": _blank_if_none(t.free_bidding_minutes),
            "countdown_seconds": _blank_if_none(t.countdown_seconds),
            **resolution_values(listing.resolution),
            **{
                name: getattr(listing.site_visit, wire) if listing.site_visit else ""
                for name, wire in SITE_VISIT_FIELDS.items()
            },
        }
    )


def _blank_if_none(value: int | None) -> int | str:
    return "" if value is None else value


def keep_formless_terms(body: dict[str, Any], stored: Terms) -> None:
    """Terms the form does not show keep their stored values (a form never drops them)."""
    for name in FORMLESS_TERMS:
        body["terms"][name] = msgspec.to_builtins(getattr(stored, name))
