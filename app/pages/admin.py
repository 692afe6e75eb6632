"""Administrators' pages: the exchange rules (core.settings) and the users list."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from litestar import Response, get, post
from litestar.params import FromPath
from sqlalchemy import select

from app.pages import queries
from app.pages.common import FORM, Pages, Req, posted_form, redirect, render
from app.pages.forms import Form, int_field, money_field
from app.pages.labels import yuan
from core import accounts
from core import settings as exchange_settings
from core.accounts import Region, User
from core.errors import DomainError
from core.ids import mask_id_number, mask_phone
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


def _optional(category: str) -> str:
    """The checkbox of a category exempt from the resolution requirement."""
    return f"resolution_optional_{category}"


def _settings_form(s: exchange_settings.ExchangeSettings) -> Form:
    values: dict[str, Any] = {k: getattr(s, k) for k in INTEGERS}
    values |= {k: getattr(s, k) for k in FLAGS}
    values |= {_optional(c): c in s.resolution_optional_categories for c in CATEGORY_NAMES_ZH}
    values |= {k: getattr(s, k) for k in TEXTS}
    values |= {
        "single_bidder_policy": s.single_bidder_policy,
        "deposit_kind": s.deposit_rule.kind,
        "deposit_fixed": yuan(s.deposit_rule.fixed_fen, symbol=False),
        "deposit_percent": f"{s.deposit_rule.basis_points / 100:.2f}",
        "max_term_years": "\n".join(f"{k}={v}" for k, v in s.max_term_years.items()),
        "holidays": "\n".join(d.isoformat() for d in s.holidays),
        "makeup_workdays": "\n".join(d.isoformat() for d in s.makeup_workdays),
        "business_day_ends": s.business_day_ends.strftime("%H:%M") if s.business_day_ends else "",
    }
    return Form(values=values)


def _dates(form: Form, name: str) -> list[str]:
    out = []
    for line in str(form.values.get(name) or "").split():
        try:
            out.append(date.fromisoformat(line.strip()).isoformat())
        except ValueError:
            form.error(name, f"日期格式应为 2026-10-01：{line[:20]}", "form.date")
    return out


def _patch(form: Form) -> dict[str, Any] | None:
    v = form.values
    patch: dict[str, Any] = {}
    for name, (label, lo, hi) in INTEGERS.items():
        value = int_field(form, name, label, minimum=lo, maximum=hi)
        if value is not None:
            patch[name] = value
    for name in FLAGS:
        patch[name] = v.get(name) in ("1", "on", "true", True)
    patch["resolution_optional_categories"] = [
        c for c in CATEGORY_NAMES_ZH if v.get(_optional(c)) in ("1", "on", "true", True)
    ]
    for name, (label, longest) in TEXTS.items():
        text = str(v.get(name) or "").strip()
        if len(text) > longest or (name == "exchange_name" and not text):
            form.error(name, f"{label}应为 1–{longest} 字", "form.text")
        patch[name] = text
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
    terms: dict[str, int] = {}
    for line in str(v.get("max_term_years") or "").splitlines():
        if not line.strip():
            continue
        key, _, years = line.partition("=")
        key = key.strip()
        if (key != "*" and key not in CATEGORY_NAMES_ZH) or not years.strip().isdigit():
            form.error(
                "max_term_years", f"每行写“类别代码=年数”，例如 *=30：{line[:40]}", "form.max_term"
            )
            continue
        terms[key] = int(years.strip())
    patch["max_term_years"] = terms
    ends = str(v.get("business_day_ends") or "").strip()
    if ends and not re.fullmatch(r"([01][0-9]|2[0-3]):[0-5][0-9]", ends):
        form.error("business_day_ends", "时间格式应为 17:00，或留空（至 24:00）", "form.time")
    patch["business_day_ends"] = f"{ends}:00" if ends and form.ok else None
    patch["holidays"] = _dates(form, "holidays")
    patch["makeup_workdays"] = _dates(form, "makeup_workdays")
    return patch if form.ok else None


_SETTING_PATH = re.compile(r"\$\.([a-z_]+)")


class AdminPages(Pages):
    path = "/admin"
    guards = (allow("admin"),)

    @get("/settings")
    async def settings(self, request: Req) -> Response[Any]:
        async with services(request).db.read() as session:
            current = await exchange_settings.load(session)
        return self._page(request, _settings_form(current))

    def _page(self, request: Req, form: Form, status: int = 200) -> Response[Any]:
        return render(
            request,
            "admin_settings.html",
            status=status,
            title="交易规则设置",
            form=form,
            published="、".join(f"{y.year} 年" for y in published_years()),
            integers=INTEGERS,
            flags=FLAGS,
            policies=POLICIES,
            categories=CATEGORY_NAMES_ZH,
            optional_field=_optional,
        )

    @post("/settings", opt=FORM)
    async def update(self, request: Req) -> Response[Any]:
        values = await posted_form(request)
        form = Form(values=dict(values))
        patch = _patch(form)
        if patch is None:
            return self._page(request, form, 400)
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
            return self._page(request, form, exc.status)
        return redirect("/admin/settings", "settings")

    @get("/users")
    async def users(self, request: Req) -> Response[Any]:
        return await _users(request)

    @post("/users/{user_id:int}/active", opt=FORM)
    async def set_active(self, request: Req, user_id: FromPath[int]) -> Response[Any]:
        """Deactivate (every session ends at once) or reactivate, with a reason."""
        values = await posted_form(request)
        svc = services(request)
        active = values.get("active") == "1"
        try:
            async with svc.db.write() as session:
                await accounts.set_active(
                    session,
                    actor(request),
                    user_id,
                    active,
                    str(values.get("reason") or ""),
                    now=svc.now(),
                )
        except DomainError as exc:
            return await _users(request, (user_id, exc.message), exc.status)
        if not active:
            await svc.sign_ins.sessions_ended(user_id)
        return redirect(f"/admin/users#user-{user_id}", "user_updated")

    @post("/users/{user_id:int}/password", opt=FORM)
    async def reset_password(self, request: Req, user_id: FromPath[int]) -> Response[Any]:
        """A new password, to be given to its owner in person; every session ends."""
        values = await posted_form(request)
        svc = services(request)
        new = str(values.get("new_password") or "")
        if len(new) < 8:
            return await _users(request, (user_id, "新密码至少 8 位"), 400)
        try:
            async with svc.db.write() as session:
                await accounts.reset_password(
                    session, actor(request), user_id, new, now=svc.now(), passwords=svc.passwords
                )
        except DomainError as exc:
            return await _users(request, (user_id, exc.message), exc.status)
        await svc.sign_ins.sessions_ended(user_id)
        return redirect(f"/admin/users#user-{user_id}", "user_updated")


async def _users(
    request: Req, error: tuple[int, str] | None = None, status: int = 200
) -> Response[Any]:
    async with services(request).db.read() as session:
        rows = (
            await session.execute(
                select(User, Region.path)
                .outerjoin(Region, Region.id == User.region_id)
                .order_by(User.role, User.id)
            )
        ).all()
        counts = await queries.user_counts(session)
    return render(
        request,
        "admin_users.html",
        status=status,
        title="用户",
        rows=rows,
        counts=counts,
        error=error,
        mask_id=mask_id_number,
        mask_phone=mask_phone,
    )
