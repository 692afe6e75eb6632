"""The entrustment form (委托挂牌): read into a `ListingCreate` body with each error next to
its input, and filled back from a listing for editing. The rules themselves are the
service's and the wire types'; this module only maps fields and words."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import msgspec

from app.pages.forms import Form, date_field, int_field, money_field, validation_field
from app.pages.labels import ON_DEFAULT_ZH, yuan
from core.money import format_percent
from core.settings import ExchangeSettings
from listings import economics
from listings.models import Listing
from listings.schemas import MEETING_KINDS_ZH, ListingCreate, Resolution, Terms

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
DOCUMENT_INPUTS = ("village_resolution", "ownership_proof", "appraisal")
#: The photo input of the new entrustment (its own fieldset; more photos on the listing page).
PHOTO_INPUT = "photo"
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


def read_entrustment(form: Form, settings: ExchangeSettings) -> dict[str, Any] | None:
    """The form as a ListingCreate body (wire shape), or None with errors placed."""
    v = form.values
    price = money_field(form, "listing_price", "挂牌价")
    increment = money_field(form, "increment", "加价幅度")
    deposit = money_field(form, "deposit", "保证金", required=False)
    reserve = money_field(form, "reserve", "保留价", required=False)
    appraisal = money_field(form, "appraisal", "评估价", required=False)
    performance = money_field(form, "performance_deposit", "履约保证金", required=False)
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
    percent = str(v.get("escalation_percent") or "").strip()
    variant = _read_variant(form)
    on_default = v.get("on_default") or "relist"
    if on_default not in ON_DEFAULT_ZH:
        form.error("on_default", FIELD_HINTS["on_default"], "request.invalid")
    area = str(v.get("area") or "").strip() or None
    if v.get("price_unit") == "per_mu_year" and v.get("area_unit") != "mu":
        form.error("area_unit", "按“元/亩/年”计价时，面积单位须为亩", "terms.area_unit")
    if bool(every) != bool(percent):
        form.error(
            "escalation_percent" if every else "escalation_every_years",
            "租金递增须同时填写递增周期和递增比例",
            "terms.escalation",
        )
    resolution = read_resolution(form)
    site_visit = read_site_visit(form)
    if not form.ok:
        return None
    terms: dict[str, Any] = {
        "listing_price_fen": price,
        "price_unit": v.get("price_unit") or "per_year",
        "term_years": term_years,
        "term_months": term_months or 0,
        "payment": v.get("payment") or "annual",
        "increment_fen": increment,
        "rent_free_months": rent_free or 0,
        "on_default": on_default,
    }
    if max_steps is not None:
        terms["max_steps"] = max_steps
    if reserve is not None:
        terms["reserve_fen"] = reserve
    if appraisal is not None:
        terms["appraisal_fen"] = appraisal
    if performance is not None:
        terms["performance_deposit_fen"] = performance
    if str(v.get("lease_start") or "").strip():
        terms["lease_start"] = str(v["lease_start"]).strip()  # checked as a date below
    if str(v.get("price_reason") or "").strip():
        terms["price_reason"] = str(v["price_reason"]).strip()
    if every and percent:
        kind = "simple" if v.get("escalation_kind") == "simple" else "compound"
        terms["escalation"] = {"every_years": every, "percent": percent, "kind": kind}
    if terms["price_unit"] == "per_mu_year":
        terms["area"] = area
    if str(v.get("permitted_use") or "").strip():
        terms["permitted_use"] = str(v["permitted_use"]).strip()
    terms.update(variant)
    body: dict[str, Any] = {
        "title": str(v.get("title") or "").strip(),
        "category": v.get("category") or "",
        "location": str(v.get("location") or "").strip(),
        "area": area,
        "area_unit": v.get("area_unit") or None,
        "description": str(v.get("description") or "").strip(),
        "terms": terms,
        "resolution": resolution,
        "site_visit": site_visit,
    }
    if deposit is None:
        try:  # the exchange's rule, on the terms as read so far (economics.deposit_by_rule)
            provisional = msgspec.convert({**terms, "deposit_fen": 0}, Terms)
            terms["deposit_fen"] = economics.deposit_by_rule(settings.deposit_rule, provisional)
        except (msgspec.ValidationError, ValueError, ZeroDivisionError):
            terms["deposit_fen"] = 0  # the validation below names the real problem
        form.values["deposit"] = yuan(terms["deposit_fen"], symbol=False)
    else:
        terms["deposit_fen"] = deposit
    try:
        msgspec.convert(body, ListingCreate)
    except msgspec.ValidationError as exc:
        text = str(exc)
        if "per_mu_year" in text:
            form.error("area", "按“元/亩/年”计价时须填写面积（亩）", "terms.area")
        elif "rent_free_months" in text:
            form.error("rent_free_months", "免租期须短于流转期限", "terms.rent_free")
        else:
            name = validation_field(exc) or "title"
            name = WIRE_TO_FORM.get(name, name)
            form.error(name, FIELD_HINTS.get(name, "输入有误"), "request.invalid")
        return None
    return body


def _read_variant(form: Form) -> dict[str, Any]:
    """The 竞价方式 and, for a fixed end, its three fields (left out for the countdown, so
    numbers typed before switching back do not count)."""
    mode = form.values.get("auction_mode") or "countdown"
    if mode not in AUCTION_MODES:
        form.error("auction_mode", FIELD_HINTS["auction_mode"], "request.invalid")
        return {}
    if mode == "countdown":
        return {"auction_mode": mode}
    duration = int_field(form, "duration_minutes", "竞价期", minimum=1, maximum=10080)
    extension = int_field(form, "extension_seconds", "延时周期", minimum=5, maximum=3600)
    cap = int_field(form, "hard_cap_minutes", "最长延时", required=False, minimum=1, maximum=20160)
    variant: dict[str, Any] = {
        "auction_mode": mode,
        "duration_minutes": duration,
        "extension_seconds": extension,
    }
    if cap is not None:
        variant["hard_cap_minutes"] = cap
    return variant


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
            **resolution_values(listing.resolution),
            **{
                name: getattr(listing.site_visit, wire) if listing.site_visit else ""
                for name, wire in SITE_VISIT_FIELDS.items()
            },
        }
    )
