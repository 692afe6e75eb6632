"""What every page shares: rendering, display formats, form CSRF, errors shown as pages.

Pages call the same service functions as the API; this module only turns their results and
`DomainError`s into HTML. Money is shown with `core.money`, times in Beijing time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import msgspec
from jinja2 import Environment, FileSystemLoader, select_autoescape
from litestar import Request, Response
from litestar.datastructures import Cookie
from litestar.enums import MediaType
from litestar.response import Redirect
from markupsafe import Markup

from core.accounts import Actor
from core.clock import CHINA_TZ
from core.errors import DomainError, NotAuthenticated, NotFound, PermissionDenied
from core.money import MoneyFormatError, format_yuan, parse_yuan, yuan_in_words
from core.sessions import csrf_token, form_csrf_ok
from core.web import actor_or_none, services, token_of
from listings.rules import STATE_NAMES_ZH, ListingState
from listings.schemas import AREA_UNIT_NAMES_ZH, CATEGORY_NAMES_ZH

APP_DIR = Path(__file__).resolve().parents[1]
TEMPLATES = APP_DIR / "templates"
STATIC = APP_DIR / "static"

#: The pre-session double-submit cookie of the anonymous forms (login, sign-up).
FORM_COOKIE = "ruralx_form"
#: Route option of page forms: the CSRF token travels in the form (`_csrf`), not a header.
FORM = {"csrf": "form"}

PRICE_UNITS_ZH = {"per_year": "元/年", "per_mu_year": "元/亩/年", "per_month": "元/月"}
PAYMENTS_ZH = {
    "annual": "按年支付",
    "semiannual": "按半年支付",
    "monthly": "按月支付",
    "lump_sum": "一次性支付",
}
AREA_UNITS_ZH = AREA_UNIT_NAMES_ZH
DOCUMENT_KINDS_ZH = {
    "village_resolution": "村民代表大会决议（四议两公开）",
    "ownership_proof": "权属证明",
    "appraisal": "评估报告",
    "priority_statement": "优先权人声明",
    "other": "其他材料",
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
}
LEDGER_TYPES_ZH = {
    "listing.created": "创建委托",
    "listing.updated": "修改委托",
    "listing.submitted": "提交审核",
    "listing.accepted": "受理",
    "listing.returned": "退回",
    "listing.announced": "发布挂牌公告",
    "listing.withdrawn": "撤回委托",
    "listing.relisted": "重新挂牌",
    "listing.document_added": "上传材料",
    "listing.concluded": "交易结束",
    "registration.applied": "竞买人报名",
    "deposit.paid": "保证金到账",
    "payment.rejected": "款项未入账",
    "registration.qualified": "资格审核通过",
    "registration.rejected": "资格审核未通过",
    "registration.closed": "报名截止",
    "deposit.refundable": "保证金待退还",
    "deposit.to_be_credited": "保证金转作租金",
    "auction.opened": "竞价场次建立",
    "auction.bid": "出价",
    "auction.phase": "竞价阶段变化",
    "auction.ended": "竞价结束",
    "auction.pause": "暂停竞价",
    "auction.resume": "恢复竞价",
    "bid.rejected": "出价被拒绝",
    "deal.recorded": "成交记录",
    "auction.bids": "网络竞价",
    "contract.drafted": "生成合同",
    "contract.signed_by_village": "村集体电子签署",
    "contract.signed": "竞得人电子签署",
    "contract.certified": "出具交易鉴证书",
    "deposit.refunded": "保证金已退还",
    "deposit.credited_to_rent": "保证金已转作租金",
    "deposit.forfeited": "保证金没收",
}

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


def iso_utc(value: datetime | str | None) -> str:
    at = _aware(value)
    return (
        ""
        if at is None
        else at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


def state_zh(state: str | None) -> str:
    try:
        return STATE_NAMES_ZH[ListingState(state or "")]
    except ValueError:
        return state or ""


def _static_version() -> str:
    digest = hashlib.sha256()
    for path in sorted(STATIC.glob("*")):
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


ENV = Environment(
    loader=FileSystemLoader(str(TEMPLATES)),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
ENV.filters.update(
    yuan=yuan,
    yuan_words=yuan_words,
    signed_yuan=signed_yuan,
    bj=bj,
    iso=iso_utc,
    state_zh=state_zh,
    category_zh=lambda c: CATEGORY_NAMES_ZH.get(c or "", c or ""),
    price_unit_zh=lambda u: PRICE_UNITS_ZH.get(u or "", u or ""),
    payment_zh=lambda p: PAYMENTS_ZH.get(p or "", p or ""),
    area_unit_zh=lambda u: AREA_UNITS_ZH.get(u or "", u or ""),
    doc_kind_zh=lambda k: DOCUMENT_KINDS_ZH.get(k or "", k or ""),
    auction_status_zh=lambda s: AUCTION_STATUS_ZH.get(s or "", s or ""),
    reg_state_zh=lambda s: REG_STATES_ZH.get(s or "", s or ""),
    priority_claim_zh=lambda s: PRIORITY_CLAIMS_ZH.get(s or "", s or ""),
    deposit_state_zh=lambda s: DEPOSIT_STATES_ZH.get(s or "", s or ""),
    role_zh=lambda r: ROLES_ZH.get(r or "", r or ""),
    outcome_zh=lambda o: OUTCOMES_ZH.get(o or "", o or ""),
    ledger_zh=lambda t: LEDGER_TYPES_ZH.get(t or "", t or ""),
    filesize=lambda n: f"{n / 1048576:.1f} MB" if n >= 1048576 else f"{max(1, n // 1024)} KB",
)
ENV.globals.update(
    CATEGORY_NAMES=CATEGORY_NAMES_ZH,
    PRICE_UNITS=PRICE_UNITS_ZH,
    PAYMENTS=PAYMENTS_ZH,
    AREA_UNITS=AREA_UNITS_ZH,
    DOCUMENT_KINDS=DOCUMENT_KINDS_ZH,
    STATE_NAMES=STATE_NAMES_ZH,
    static_version=_static_version(),
)

# ----- forms ---------------------------------------------------------------------------


@dataclass
class FieldError:
    message: str
    code: str


@dataclass
class Form:
    """What a form page needs to re-render: the values typed and the errors per field."""

    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, FieldError] = field(default_factory=dict)
    #: An error that belongs to no single field (shown above the form).
    general: FieldError | None = None

    def error(self, name: str, message: str, code: str) -> None:
        self.errors.setdefault(name, FieldError(message, code))

    def fail(self, exc: DomainError, fields: Mapping[str, str] | None = None) -> None:
        """Place a service error next to its field (by code prefix) or above the form."""
        for prefix, name in (fields or {}).items():
            if exc.code == prefix or exc.code.startswith(prefix + "."):
                self.error(name, exc.message, exc.code)
                return
        self.general = FieldError(exc.message, exc.code)

    @property
    def ok(self) -> bool:
        return not self.errors and self.general is None


_PATH_RE = re.compile(r"\$\.([a-z_]+)(?:\.([a-z_]+))?")


def validation_field(exc: msgspec.ValidationError) -> str | None:
    """The (innermost named) field a msgspec validation error is about: `$.terms.term_years`."""
    match = _PATH_RE.search(str(exc))
    if match is None:
        return None
    return match.group(2) or match.group(1)


def money_field(form: Form, name: str, label: str, *, required: bool = True) -> int | None:
    """Read a yuan amount typed into a form as fen; errors go next to the field."""
    raw = str(form.values.get(name, "") or "").strip()
    if not raw:
        if required:
            form.error(name, f"请填写{label}", "form.required")
        return None
    try:
        return parse_yuan(raw)
    except MoneyFormatError as exc:
        form.error(name, str(exc), "money.format")
        return None


def int_field(
    form: Form,
    name: str,
    label: str,
    *,
    required: bool = True,
    minimum: int | None = None,
    maximum: int | None = None,
) -> int | None:
    raw = str(form.values.get(name, "") or "").strip()
    if not raw:
        if required:
            form.error(name, f"请填写{label}", "form.required")
        return None
    if not re.fullmatch(r"[0-9]{1,9}", raw):
        form.error(name, f"{label}应为整数", "form.integer")
        return None
    value = int(raw)
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        form.error(name, f"{label}应在 {minimum} 至 {maximum} 之间", "form.range")
        return None
    return value


def local_datetime_field(form: Form, name: str, label: str) -> datetime | None:
    """A `datetime-local` input, read as Beijing time."""
    raw = str(form.values.get(name, "") or "").strip()
    if not raw:
        form.error(name, f"请填写{label}", "form.required")
        return None
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        form.error(name, f"{label}格式不正确", "form.datetime")
        return None
    return value.replace(tzinfo=CHINA_TZ) if value.tzinfo is None else value


async def form_values(request: Request[Any, Any, Any]) -> dict[str, Any]:
    data = await request.form()
    return {key: data.get(key) for key in data}


# ----- CSRF ------------------------------------------------------------------------------


def session_csrf(request: Request[Any, Any, Any]) -> str | None:
    token = token_of(request)
    return csrf_token(services(request).config.secret_key, token) if token else None


def check_form_csrf(request: Request[Any, Any, Any], values: Mapping[str, Any]) -> None:
    """Page forms of signed-in users carry the session's CSRF token in `_csrf`."""
    if not form_csrf_ok(request, values.get("_csrf")):
        raise PermissionDenied("auth.csrf", "页面已过期，请刷新页面后重试")


def anonymous_form_token(request: Request[Any, Any, Any]) -> tuple[str, Cookie | None]:
    """The pre-session double-submit token: reuse the cookie's, or make one (and its cookie)."""
    current = request.cookies.get(FORM_COOKIE)
    if current and re.fullmatch(r"[A-Za-z0-9_-]{20,64}", current):
        return current, None
    token = secrets.token_urlsafe(24)
    return token, Cookie(
        key=FORM_COOKIE,
        value=token,
        httponly=True,
        samesite="strict",
        secure=services(request).config.secure_cookies,
        path="/",
    )


def anonymous_form_ok(request: Request[Any, Any, Any], sent: Any) -> bool:
    cookie = request.cookies.get(FORM_COOKIE)
    return bool(cookie and isinstance(sent, str) and hmac.compare_digest(cookie, sent))


# ----- responses -------------------------------------------------------------------------

NAV: dict[str | None, list[tuple[str, str]]] = {
    None: [("/", "首页"), ("/listings", "交易公告")],
    "bidder": [
        ("/", "首页"),
        ("/listings", "交易公告"),
        ("/me/registrations", "我的报名"),
        ("/me/deals", "我的成交"),
    ],
    "village": [
        ("/", "首页"),
        ("/village", "本村委托"),
        ("/village/listings/new", "新建委托"),
        ("/listings", "交易公告"),
    ],
    "reviewer": [("/", "首页"), ("/review", "审核工作台"), ("/listings", "交易公告")],
    "regulator": [("/", "首页"), ("/oversight", "监管看板"), ("/listings", "交易公告")],
    "admin": [
        ("/", "首页"),
        ("/admin/settings", "交易规则"),
        ("/admin/users", "用户"),
        ("/listings", "交易公告"),
    ],
}

FLASH = {
    "created": "委托已保存为草稿。请上传材料并提交审核。",
    "updated": "委托内容已保存。",
    "uploaded": "材料已上传。",
    "password_changed": "密码已修改，其他设备上的登录已失效。",
    "user_updated": "用户已更新，其登录已全部失效。",
    "submitted": "委托已提交，等待交易中心审核。",
    "withdrawn": "委托已撤回。",
    "relisted": "已按原委托生成新的草稿，请修改后重新提交。",
    "accepted": "已受理该委托。",
    "returned": "已退回该委托。",
    "announced": "挂牌公告已发布。",
    "registered": "报名成功。请按下方说明缴纳保证金。",
    "qualified": "已通过资格审核，已分配竞买号。",
    "rejected": "已作出不予通过的决定。",
    "deposit": "保证金已登记到账。",
    "paused": "竞价已暂停。",
    "resumed": "竞价已恢复。",
    "settings": "交易规则已更新。",
    "welcome": "注册成功，已为您登录。",
}


def home_of(actor: Actor | None) -> str:
    if actor is None:
        return "/"
    return {
        "bidder": "/me/registrations",
        "village": "/village",
        "reviewer": "/review",
        "regulator": "/oversight",
        "admin": "/admin/settings",
    }.get(actor.role, "/")


def security_headers(request: Request[Any, Any, Any]) -> dict[str, str]:
    host = request.headers.get("host", "")
    sockets = f" ws://{host} wss://{host}" if re.fullmatch(r"[A-Za-z0-9.:\[\]-]+", host) else ""
    return {
        "Content-Security-Policy": (
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            f"connect-src 'self'{sockets}; frame-ancestors 'none'; form-action 'self'; "
            "base-uri 'self'; object-src 'none'"
        ),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "Cache-Control": "no-store",
    }


def render(
    request: Request[Any, Any, Any],
    template: str,
    *,
    status: int = 200,
    cookies: Iterable[Cookie | None] = (),
    title: str = "",
    **context: Any,
) -> Response[Any]:
    viewer = actor_or_none(request)
    flash = FLASH.get(request.query_params.get("done", ""))
    html = ENV.get_template(template).render(
        request_path=request.url.path,
        viewer=viewer,
        csrf=session_csrf(request),
        nav=NAV.get(viewer.role if viewer else None, NAV[None]),
        flash=flash,
        title=title,
        **context,
    )
    return Response(
        html,
        status_code=status,
        media_type=MediaType.HTML,
        headers=security_headers(request),
        cookies=[c for c in cookies if c is not None],
    )


def redirect(path: str, done: str | None = None, **query: str) -> Redirect:
    params = {**({"done": done} if done else {}), **query}
    return Redirect(path + (f"?{urlencode(params)}" if params else ""), status_code=303)


def safe_next(value: Any) -> str | None:
    """A local path to go back to after signing in (never another site)."""
    if (
        isinstance(value, str)
        and value.startswith("/")
        and not value.startswith("//")
        and "\\" not in value
        and "\n" not in value
        and "\r" not in value
    ):
        return value
    return None


def _error_page(
    request: Request[Any, Any, Any], status: int, heading: str, message: str, code: str
) -> Response[Any]:
    return render(
        request,
        "error.html",
        status=status,
        title=heading,
        heading=heading,
        message=message,
        code=code,
    )


def not_authenticated(request: Request[Any, Any, Any], exc: NotAuthenticated) -> Response[Any]:
    if request.method == "GET":
        return Redirect(f"/login?next={quote(request.url.path)}", status_code=303)
    return _error_page(request, 401, "请先登录", exc.message, exc.code)


def permission_denied(request: Request[Any, Any, Any], exc: PermissionDenied) -> Response[Any]:
    return _error_page(request, 403, "无权访问", exc.message, exc.code)


def not_found(request: Request[Any, Any, Any], exc: NotFound) -> Response[Any]:
    return _error_page(request, 404, "未找到", exc.message, exc.code)


def domain_error(request: Request[Any, Any, Any], exc: DomainError) -> Response[Any]:
    return _error_page(request, exc.status, exc.title, exc.message, exc.code)


#: Set on every page controller: errors become pages, not problem JSON.
PAGE_ERRORS: dict[Any, Any] = {
    NotAuthenticated: not_authenticated,
    PermissionDenied: permission_denied,
    NotFound: not_found,
    DomainError: domain_error,
}


def json_script(data: Any) -> Markup:
    """Data for page scripts, safe inside <script type="application/json">."""
    text = msgspec.json.encode(data).decode()
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


ENV.filters["json_script"] = json_script
