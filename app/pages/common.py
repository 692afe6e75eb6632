"""What every page shares: rendering, display formats, form CSRF, errors shown as pages.

Pages call the same service functions as the API; this module only turns their results and
`DomainError`s into HTML. Money is shown with `core.money`, times in Beijing time.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import msgspec
from jinja2 import Environment, FileSystemLoader, select_autoescape
from litestar import Controller, Request, Response
from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie
from litestar.enums import MediaType
from litestar.middleware import ASGIMiddleware
from litestar.response import Redirect
from litestar.types import ASGIApp, Receive, Scope, Send
from markupsafe import Markup

from app.pages.forms import Form
from app.pages.labels import (
    AUCTION_STATUS_ZH,
    DEAL_DEFAULT_REASONS_ZH,
    DEAL_STATES_ZH,
    DEAL_VOID_REASONS_ZH,
    DEPOSIT_STATES_ZH,
    DOCUMENT_KINDS_ZH,
    LEDGER_TYPES_ZH,
    OBJECTION_STATES_ZH,
    ON_DEFAULT_ZH,
    OUTCOMES_ZH,
    PAYMENTS_ZH,
    PRIORITY_CLAIMS_ZH,
    REG_STATES_ZH,
    ROLES_ZH,
    auction_phase_zh,
    auction_variant_zh,
    bj,
    bj_end,
    deadline,
    iso_utc,
    signed_yuan,
    state_zh,
    yuan,
    yuan_words,
    zh_date,
    zh_deadline,
)
from contracts.clauses import PERFORMANCE_DEPOSIT_DAYS
from core.errors import DomainError, NotAuthenticated, NotFound, PermissionDenied
from core.notices import inbox
from core.sessions import csrf_token, form_csrf_ok, same_secret
from core.web import actor_or_none, services, token_of
from listings.resolution import describe as describe_resolution
from listings.rules import STATE_NAMES_ZH
from listings.schemas import AREA_UNIT_NAMES_ZH, CATEGORY_NAMES_ZH, PRICE_UNIT_NAMES_ZH

APP_DIR = Path(__file__).resolve().parents[1]
TEMPLATES = APP_DIR / "templates"
STATIC = APP_DIR / "static"

#: The pre-session double-submit cookie of the anonymous forms (login, sign-up).
FORM_COOKIE = "ruralx_form"
#: Route option of page forms: the CSRF token travels in the form (`_csrf`), not a header.
FORM = {"csrf": "form"}


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
    bj_end=bj_end,
    deadline=deadline,
    iso=iso_utc,
    zh_date=zh_date,
    zh_deadline=zh_deadline,
    state_zh=state_zh,
    category_zh=lambda c: CATEGORY_NAMES_ZH.get(c or "", c or ""),
    price_unit_zh=lambda u: PRICE_UNIT_NAMES_ZH.get(u or "", u or ""),
    payment_zh=lambda p: PAYMENTS_ZH.get(p or "", p or ""),
    area_unit_zh=lambda u: AREA_UNIT_NAMES_ZH.get(u or "", u or ""),
    doc_kind_zh=lambda k: DOCUMENT_KINDS_ZH.get(k or "", k or ""),
    auction_status_zh=lambda s: AUCTION_STATUS_ZH.get(s or "", s or ""),
    phase_zh=auction_phase_zh,
    reg_state_zh=lambda s: REG_STATES_ZH.get(s or "", s or ""),
    priority_claim_zh=lambda s: PRIORITY_CLAIMS_ZH.get(s or "", s or ""),
    deposit_state_zh=lambda s: DEPOSIT_STATES_ZH.get(s or "", s or ""),
    role_zh=lambda r: ROLES_ZH.get(r or "", r or ""),
    outcome_zh=lambda o: OUTCOMES_ZH.get(o or "", o or ""),
    ledger_zh=lambda t: LEDGER_TYPES_ZH.get(t or "", t or ""),
    resolution_zh=describe_resolution,
    deal_state_zh=lambda s: DEAL_STATES_ZH.get(s or "", ""),
    void_reason_zh=lambda r: DEAL_VOID_REASONS_ZH.get(r or "", ""),
    objection_state_zh=lambda s: OBJECTION_STATES_ZH.get(s or "", ""),
    filesize=lambda n: f"{n / 1048576:.1f} MB" if n >= 1048576 else f"{max(1, n // 1024)} KB",
)
ENV.globals.update(
    CATEGORY_NAMES=CATEGORY_NAMES_ZH,
    PRICE_UNITS=PRICE_UNIT_NAMES_ZH,
    PAYMENTS=PAYMENTS_ZH,
    AREA_UNITS=AREA_UNIT_NAMES_ZH,
    DOCUMENT_KINDS=DOCUMENT_KINDS_ZH,
    STATE_NAMES=STATE_NAMES_ZH,
    PERFORMANCE_DEPOSIT_DAYS=PERFORMANCE_DEPOSIT_DAYS,
    ON_DEFAULT=ON_DEFAULT_ZH,
    DEFAULT_REASONS=DEAL_DEFAULT_REASONS_ZH,
    auction_variant=auction_variant_zh,
    static_version=_static_version(),
    # A fresh, empty form for a template's form shown without errors (e.g. _rent.html).
    new_form=Form,
)


#: What every page handler takes.
Req = Request[Any, Any, Any]


async def form_values(request: Req) -> dict[str, Any]:
    data = await request.form()
    return {key: data.get(key) for key in data}


async def posted_form(request: Req) -> dict[str, Any]:
    """A signed-in user's form, its CSRF token checked (`check_form_csrf`)."""
    values = await form_values(request)
    check_form_csrf(request, values)
    return values


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
    return bool(cookie and same_secret(sent, cookie))


# ----- responses -------------------------------------------------------------------------

NAV: dict[str | None, list[tuple[str, str]]] = {
    None: [("/", "首页"), ("/listings", "交易公告"), ("/disclosure", "村务公开")],
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
        ("/admin/regions", "地区"),
        ("/oversight", "监管看板"),
        ("/listings", "交易公告"),
    ],
}

FLASH = {
    "notices_read": "通知已全部标为已读。",
    "notice_preferences": "通知设置已保存。",
    "created": "委托已保存为草稿。请上传材料并提交审核。",
    "updated": "委托内容已保存。",
    "uploaded": "材料已上传。",
    "password_changed": "密码已修改，其他设备上的登录已失效。",
    "password_set": "新密码已设置，请妥善保管。",
    "user_deactivated": "账号已停用，该用户的登录已全部失效。",
    "user_activated": "账号已启用，该用户可以重新登录。",
    "region_added": "地区已新增。",
    "region_renamed": "地区已更名。",
    "submitted": "委托已提交，等待交易中心审核。",
    "withdrawn": "委托已撤回。",
    "relisted": "已按原委托生成新的草稿，请修改后重新提交。",
    "accepted": "已受理该委托。",
    "returned": "已退回该委托。",
    "announced": "挂牌公告已发布。",
    "registered": "报名成功。请按本页“缴纳保证金”的说明转账缴纳保证金。",
    "qualified": "已通过资格审核，已分配竞买号。",
    "rejected": "已作出不予通过的决定。",
    "qualified_all": "已确认全部保证金已到账、无预警报名的竞买资格，并分别分配了竞买号。",
    "qualified_none": "没有可一次确认的报名：保证金已到账的报名都需要逐一审核。",
    "deposit": "保证金已登记到账。",
    "paused": "竞价已暂停。",
    "resumed": "竞价已恢复。",
    "settings": "交易规则已更新。",
    "welcome": "注册成功，已为您登录。",
    "rent_recorded": "收款已登记，租金台账已更新。",
    "rent_waived": "减免已登记，该期租金不再催收。",
    "objection_filed": "异议已提交。交易中心将审查并作出处理决定，结果在本页显示。",
    "objection_upheld": "已维持异议：原成交无效。",
    "objection_dismissed": "已驳回异议。",
    "offer_accepted": "您已接受递补成交。成交结果将重新公示，公示期满无异议后生成合同。",
    "offer_declined": "您已放弃递补成交，您的保证金将按规定退还。",
    "defaulted": "已认定竞得人违约，其竞买保证金不予退还，原成交及合同作废。",
    "warning_acknowledged": "预警已标记为已处理，处理意见已记入交易日志。",
}


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
        unread=request.scope.get(UNREAD),
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


#: The signed-in person's unread notices, counted for the page's header.
UNREAD = "ruralx.unread"


class UnreadNotices(ASGIMiddleware):
    """Every page a signed-in person opens shows their unread count in its header: one
    count over the (user_id, read_at) index per page, taken before the handler renders."""

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        if scope.get("method") in ("GET", "HEAD"):
            connection: ASGIConnection[Any, Any, Any, Any] = ASGIConnection(scope)
            who = actor_or_none(connection)
            if who is not None:
                async with services(connection).db.read() as session:
                    count = await inbox.unread_count(session, who.id)
                scope[UNREAD] = count  # type: ignore[literal-required]
        await next_app(scope, receive, send)


class Pages(Controller):
    """A controller of HTML pages: errors are shown as pages, and none is in the API schema."""

    exception_handlers = PAGE_ERRORS
    include_in_schema = False
    middleware = [UnreadNotices()]  # noqa: RUF012 (Litestar reads the class attribute)


def json_script(data: Any) -> Markup:
    """Data for page scripts, safe inside <script type="application/json">."""
    text = msgspec.json.encode(data).decode()
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


ENV.filters["json_script"] = json_script
