"""The administrator's settings page: the exchange rules (core.settings), every mistake shown
next to its field at once."""

from __future__ import annotations

import re
from typing import Any

from litestar import Response, get, post

from app.pages.admin_calendar import day_list, festival_lines, read_calendar
from app.pages.common import FORM, Pages, Req, posted_form, redirect, render
from app.pages.forms import Form, int_field, money_field
from app.pages.labels import yuan
from core import settings as exchange_settings
from core.errors import DomainError
from core.web import actor, allow, services
from core.workdays import published_years
from listings.schemas import CATEGORY_NAMES_ZH

INTEGERS = {  # field: (label, minimum, maximum) — the settings' own bounds decide; these guide
    "notice_period_working_days": ("公告期（工作日）", 0, 60),
    "min_qualified_bidders": ("最少合格竞买人数", 1, 20),
    "single_bidder_extension_working_days": ("单人报名延长（工作日）", 1, 30),
    "free_bidding_minutes": ("自由竞价时长（分钟）", 0, 1440),
    "countdown_seconds": ("限时竞价倒计时（秒）", 5, 3600),
    "max_steps": ("每次最多加价档数", 1, 100),
    "result_publicity_working_days": ("结果公示期（工作日）", 0, 30),
    "refund_deadline_working_days": ("保证金退还期限（工作日）", 0, 30),
    "contract_sign_deadline_working_days": ("签约期限（工作日）", 1, 60),
    "runner_up_answer_working_days": ("候补递补答复期限（工作日）", 1, 30),
    "arrears_yellow_days": ("租金逾期黄色预警（天）", 1, 365),
    "arrears_red_days": ("租金逾期红色预警（天）", 1, 730),
    "qualification_window_minutes": ("资格确认期（报名截止至竞价开始，分钟）", 0, 7 * 24 * 60),
}
FLAGS = {
    "self_outbid_allowed": "允许领先者自行加价",
    "first_bid_may_equal_start": "首次出价可以等于起始价",
    "reserve_used": "启用保留价",
}
#: Free-text settings: the exchange as its documents name it (name, label, longest).
TEXTS = {
    "exchange_name": ("交易中心名称", 100),
    "exchange_address": ("交易中心地址", 200),
    "arbitration_commission": ("仲裁委员会（非农村土地类资产的合同争议）", 100),
    "seal_text": ("电子签章文字", 100),
    "deposit_bank_name": ("保证金专户开户银行", 100),
    "deposit_account_name": ("保证金专户户名", 100),
    "deposit_account_number": ("保证金专户账号", 40),
    "service_phone": ("咨询电话", 40),
}
POLICIES = {
    "agreement": "按挂牌价协议成交",
    "fail": "流拍",
    "extend": "延长报名期一次，仍只有一名的流拍",
    "extend_then_agreement": "延长报名期一次，仍只有一名的按挂牌价协商成交",
}


#: The longest term an administrator may set for a category, in years (the settings take any
#: positive number; 70 years is the longest land-use term the law knows).
LONGEST_TERM = 70
#: The field of the term that applies to every category without its own ("*").
DEFAULT_TERM = "max_term_default"


def _optional(category: str) -> str:
    """The checkbox of a category exempt from the resolution requirement."""
    return f"resolution_optional_{category}"


def _term(category: str) -> str:
    """The longest term's field of a category."""
    return f"max_term_{category}"


def _settings_form(s: exchange_settings.ExchangeSettings) -> Form:
    values: dict[str, Any] = {k: getattr(s, k) for k in INTEGERS}
    values |= {k: getattr(s, k) for k in FLAGS}
    values |= {_optional(c): c in s.resolution_optional_categories for c in CATEGORY_NAMES_ZH}
    values |= {_term(c): s.max_term_years.get(c, "") for c in CATEGORY_NAMES_ZH}
    values |= {k: getattr(s, k) for k in TEXTS}
    values |= {
        "single_bidder_policy": s.single_bidder_policy,
        "deposit_kind": s.deposit_rule.kind,
        "deposit_fixed": yuan(s.deposit_rule.fixed_fen, symbol=False),
        "deposit_percent": f"{s.deposit_rule.basis_points / 100:.2f}",
        DEFAULT_TERM: s.max_term_years.get("*", 30),
        "holidays": "\n".join(d.isoformat() for d in s.holidays),
        "makeup_workdays": "\n".join(d.isoformat() for d in s.makeup_workdays),
        "business_day_ends": s.business_day_ends.strftime("%H:%M") if s.business_day_ends else "",
    }
    return Form(values=values)


def _max_terms(form: Form) -> dict[str, int]:
    """One number per category (empty: as every other category) and one for the rest."""
    terms: dict[str, int] = {}
    default = int_field(form, DEFAULT_TERM, "其他类别的最长期限", minimum=1, maximum=LONGEST_TERM)
    if default is not None:
        terms["*"] = default
    for code, name in CATEGORY_NAMES_ZH.items():
        years = int_field(
            form, _term(code), f"{name}的最长期限", required=False, minimum=1, maximum=LONGEST_TERM
        )
        if years is not None:
            terms[code] = years
    return terms


#: Bank account numbers: digits, grouped by spaces or hyphens as printed on the bank's papers.
_ACCOUNT = re.compile(r"[0-9][0-9 -]*[0-9]")
#: Telephone numbers: 0595-12345678, 400 123 4567, (0595)12345678, +86 …
_PHONE = re.compile(r"[+(（]?[0-9][0-9 ()（）-]*[0-9]")


def _texts(form: Form, patch: dict[str, Any]) -> None:
    v = form.values
    for name, (label, longest) in TEXTS.items():
        text = str(v.get(name) or "").strip()
        if len(text) > longest or (name == "exchange_name" and not text):
            form.error(name, f"{label}应为 1–{longest} 字", "form.text")
        patch[name] = text
    account = patch["deposit_account_number"]
    digits = sum(c.isdigit() for c in account)
    if account and (not _ACCOUNT.fullmatch(account) or not 6 <= digits <= 32):
        form.error(
            "deposit_account_number", "账号应为 6–32 位数字，可用空格或“-”分组", "form.account"
        )
    bank = ("deposit_bank_name", "deposit_account_name", "deposit_account_number")
    if any(patch[n] for n in bank):
        for name in bank:
            if not patch[name]:
                form.error(
                    name, f"请填写{TEXTS[name][0]}：开户银行、户名和账号应一并填写", "form.required"
                )
    phone = patch["service_phone"]
    digits = sum(c.isdigit() for c in phone)
    if phone and (not _PHONE.fullmatch(phone) or not 7 <= digits <= 20):
        form.error("service_phone", "咨询电话应为 7–20 位数字，如 0595-87654321", "form.phone")


def _patch(form: Form) -> dict[str, Any] | None:
    v = form.values
    patch: dict[str, Any] = {}
    for name, (label, lo, hi) in INTEGERS.items():
        value = int_field(form, name, label, minimum=lo, maximum=hi)
        if value is not None:
            patch[name] = value
    yellow, red = patch.get("arrears_yellow_days"), patch.get("arrears_red_days")
    if yellow is not None and red is not None and red <= yellow:
        form.error("arrears_red_days", "红色预警天数应多于黄色预警天数", "form.range")
    for name in FLAGS:
        patch[name] = v.get(name) in ("1", "on", "true", True)
    patch["resolution_optional_categories"] = [
        c for c in CATEGORY_NAMES_ZH if v.get(_optional(c)) in ("1", "on", "true", True)
    ]
    _texts(form, patch)
    patch["single_bidder_policy"] = v.get("single_bidder_policy")
    fixed = money_field(form, "deposit_fixed", "固定保证金", required=False) or 0
    percent = str(v.get("deposit_percent") or "0").strip()
    if not re.fullmatch(r"[0-9]{1,3}(\.[0-9]{1,2})?", percent):
        form.error("deposit_percent", "比例应为数字，最多两位小数", "form.percent")
        percent = "0"
    whole, _, frac = percent.partition(".")
    patch["deposit_rule"] = {
        "kind": v.get("deposit_kind") or "percent_of_total",
        "fixed_fen": fixed,
        "basis_points": int(whole) * 100 + int((frac + "00")[:2]),
    }
    patch["max_term_years"] = _max_terms(form)
    ends = str(v.get("business_day_ends") or "").strip()
    if ends and not re.fullmatch(r"([01][0-9]|2[0-3]):[0-5][0-9]", ends):
        form.error("business_day_ends", "时间格式应为 17:00，或留空（至 24:00）", "form.time")
    patch["business_day_ends"] = f"{ends}:00" if ends and form.ok else None
    calendar = read_calendar(str(v.get("holidays") or ""), str(v.get("makeup_workdays") or ""))
    for name, lines in calendar.errors.items():
        form.error(name, "\n".join(lines), "form.calendar")
    patch["holidays"] = [d.isoformat() for d in calendar.holidays]
    patch["makeup_workdays"] = [d.isoformat() for d in calendar.makeup_workdays]
    return patch if form.ok else None


_SETTING_PATH = re.compile(r"\$\.([a-z_]+)")


class AdminPages(Pages):
    path = "/admin"
    guards = (allow("admin"),)

    @get("/settings")
    async def settings(self, request: Req) -> Response[Any]:
        async with services(request).db.read() as session:
            current = await exchange_settings.load(session)
        return await self._page(request, _settings_form(current), current)

    async def _page(
        self,
        request: Req,
        form: Form,
        saved: exchange_settings.ExchangeSettings | None = None,
        status: int = 200,
    ) -> Response[Any]:
        """The form, and beside the calendar boxes the days as saved, in words."""
        if saved is None:
            async with services(request).db.read() as session:
                saved = await exchange_settings.load(session)
        return render(
            request,
            "admin_settings.html",
            status=status,
            title="交易规则设置",
            form=form,
            published=[(y, festival_lines(y)) for y in published_years()],
            saved_holidays=day_list(saved.holidays),
            saved_makeup_workdays=day_list(saved.makeup_workdays),
            integers=INTEGERS,
            flags=FLAGS,
            policies=POLICIES,
            categories=CATEGORY_NAMES_ZH,
            optional_field=_optional,
            term_field=_term,
            longest_term=LONGEST_TERM,
        )

    @post("/settings", opt=FORM)
    async def update(self, request: Req) -> Response[Any]:
        values = await posted_form(request)
        form = Form(values=dict(values))
        patch = _patch(form)
        if patch is None:
            return await self._page(request, form, status=400)
        svc = services(request)
        try:
            async with svc.db.write() as session:
                await exchange_settings.update(
                    session, patch, actor=actor(request).name, now=svc.now()
                )
        except DomainError as exc:
            match = _SETTING_PATH.search(exc.message)
            name = match.group(1) if match else None
            name = {"deposit_rule": "deposit_percent"}.get(name or "", name)
            if name and name in form.values:
                form.error(name, exc.message, exc.code)
            else:
                form.fail(exc)
            return await self._page(request, form, status=exc.status)
        return redirect("/admin/settings", "settings")
