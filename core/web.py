"""HTTP plumbing shared by every domain's controllers: who is calling, may they, and errors.

Every route declares who may call it: `guards=[allow("village")]` or `opt=PUBLIC`; the app
refuses to start if a route declares neither. Errors leave as RFC 9457 problem JSON with the
stable `code` of the `DomainError`.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections import OrderedDict, defaultdict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import msgspec
from litestar import Request, Response
from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie
from litestar.enums import RequestEncodingType, ScopeType
from litestar.exceptions import HTTPException, ValidationException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

from core import hygiene
from core.accounts import (
    Actor,
    Passwords,
    User,
    change_password,
    login,
    logout,
    signed_in,
    token_hash,
)
from core.accounts.throttle import Throttle
from core.clock import Clock
from core.config import Config
from core.db import Database
from core.errors import (
    DomainError,
    NotAuthenticated,
    PermissionDenied,
    TooManyRequests,
    UnsupportedMediaType,
)

log = logging.getLogger("ruralx.web")

PUBLIC = {"public": True}
SESSION_COOKIE = "ruralx_session"
_SESSION_COOKIE_BYTES = SESSION_COOKIE.encode()
CSRF_COOKIE = "ruralx_csrf"
CSRF_HEADER = "x-csrf-token"
PROBLEM = "application/problem+json"
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_ACTOR = "ruralx.actor"
_TOKEN = "ruralx.token"


@dataclass(frozen=True, slots=True)
class Services:
    """What the composition root hands to controllers through `app.state.services`."""

    config: Config
    db: Database
    clock: Clock
    throttle: Throttle
    passwords: Passwords
    sign_ins: SignInCache

    async def actor_for(self, token: str) -> Actor:
        """The actor a token signs in: from this worker's cache, else one query (then cached)."""
        now = self.now()
        if (cached := self.sign_ins.get(token, now)) is not None:
            return cached
        async with self.db.read() as session:
            found, expires_at = await signed_in(session, token, now=now)
        self.sign_ins.put(token, found, now, expires_at)
        return found

    async def sign_out(self, token: str) -> None:
        """Revoke the session; this worker forgets it at once, others within the cache's TTL."""
        self.sign_ins.forget(token)
        async with self.db.write() as session:
            await logout(session, token, now=self.now())

    def now(self) -> datetime:
        return self.clock.now()


class SignInCache:
    """Actors by token for a few seconds, so most requests skip the session lookup.

    Bounded (oldest dropped first) and keyed by the token's hash. An entry never outlives
    its session; a sign-out here is forgotten at once, on other workers within `seconds`.
    Bids do not depend on it: the bid transaction re-checks that the bidder is active.
    """

    def __init__(self, seconds: int, size: int = 10_000) -> None:
        self.ttl, self.size = timedelta(seconds=seconds), size
        self._entries: OrderedDict[str, tuple[Actor, datetime]] = OrderedDict()
        #: Tells the other workers that a user's sessions ended (wired to the live hub's
        #: control channel by the app); they call `forget_user` at once.
        self.broadcast: Callable[[int], Awaitable[None]] | None = None

    def get(self, token: str, now: datetime) -> Actor | None:
        key = token_hash(token)
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[1] <= now:
            del self._entries[key]
            return None
        return entry[0]

    def put(self, token: str, actor: Actor, now: datetime, session_expires: datetime) -> None:
        if self.ttl <= timedelta(0):
            return
        self._entries[token_hash(token)] = (actor, min(now + self.ttl, session_expires))
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)

    def forget(self, token: str) -> None:
        self._entries.pop(token_hash(token), None)

    def forget_user(self, user_id: int) -> None:
        for key in [k for k, (actor, _) in self._entries.items() if actor.id == user_id]:
            del self._entries[key]

    async def sessions_ended(self, user_id: int) -> None:
        """A user's sessions were ended in the database: no worker serves them from memory."""
        self.forget_user(user_id)
        if self.broadcast is not None:
            await self.broadcast(user_id)


def services(connection: ASGIConnection[Any, Any, Any, Any]) -> Services:
    return connection.app.state.services  # type: ignore[no-any-return]


def actor_or_none(connection: ASGIConnection[Any, Any, Any, Any]) -> Actor | None:
    return connection.scope.get(_ACTOR)  # type: ignore[return-value]


def actor(connection: ASGIConnection[Any, Any, Any, Any]) -> Actor:
    current = actor_or_none(connection)
    if current is None:
        raise NotAuthenticated("auth.required", "请先登录")
    return current


def token_of(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    return connection.scope.get(_TOKEN)  # type: ignore[return-value]


def allow(
    *roles: str,
) -> Callable[[ASGIConnection[Any, Any, Any, Any], BaseRouteHandler], Awaitable[None]]:
    """A guard admitting signed-in users of the given roles (any role if none given). Async,
    because Litestar runs a synchronous guard in a worker thread on every request."""

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        current = actor(connection)
        if roles and current.role not in roles:
            raise PermissionDenied("auth.forbidden", "当前角色无权执行此操作")

    guard.ruralx_roles = roles  # type: ignore[attr-defined]
    return guard


def declares_access(handler: BaseRouteHandler) -> bool:
    """Whether a route says who may call it (public, or an `allow` guard on some layer)."""
    if set(getattr(handler, "http_methods", ())) == {"OPTIONS"}:
        return True  # generated by the framework for CORS pre-flight
    handler.resolve_opts()
    if handler.opt.get("public"):
        return True
    return any(
        hasattr(g, "ruralx_roles")
        for layer in handler.ownership_layers
        for g in (layer.guards or ())
    )


def csrf_token(secret: str, session_token: str) -> str:
    """Bound to the session, so a token from another session is worthless."""
    return hmac.new(secret.encode(), b"csrf:" + session_token.encode(), hashlib.sha256).hexdigest()


def _credentials(scope: Scope) -> tuple[str | None, bool]:
    """The bearer token, else the session cookie's; and whether it came from the cookie.

    Read straight from the raw headers: most requests (watchers, the public) carry neither,
    and building a Request to parse cookies is a large part of a cheap request's cost.
    """
    found = None
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return (token.strip() if scheme.lower() == "bearer" and token.strip() else None), False
        if name == b"cookie" and _SESSION_COOKIE_BYTES in value:
            for pair in value.decode("latin-1").split(";"):
                key, _, cookie = pair.strip().partition("=")
                if key == SESSION_COOKIE and cookie:
                    found = cookie.strip('"')
    return found, found is not None


class AuthMiddleware(ASGIMiddleware):
    """Resolve the actor from a bearer token or the session cookie; check CSRF for cookies."""

    scopes = (ScopeType.HTTP, ScopeType.WEBSOCKET)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        token, by_cookie = _credentials(scope)
        if token:
            request: Request[Any, Any, Any] = Request(scope)
            svc = services(request)
            try:
                current = await svc.actor_for(token)
            except NotAuthenticated:
                if not by_cookie:  # a stale cookie just means "anonymous"; a bad bearer is an error
                    raise
            else:
                scope[_ACTOR] = current  # type: ignore[literal-required]
                scope[_TOKEN] = token  # type: ignore[literal-required]
                if by_cookie and scope["type"] == "http" and scope["method"] in UNSAFE:
                    _check_csrf(scope, request, svc.config.secret_key, token)
        await next_app(scope, receive, send)


def _check_csrf(scope: Scope, request: Request[Any, Any, Any], secret: str, token: str) -> None:
    """Cookie-authenticated writes must prove they come from our pages (double submit)."""
    handler = scope.get("route_handler")
    if handler is not None and (handler.opt.get("public") or handler.opt.get("csrf") == "form"):
        return  # public writes do not act as the user; form pages check their own field
    sent = request.headers.get(CSRF_HEADER, "")
    if not hmac.compare_digest(sent, csrf_token(secret, token)):
        raise PermissionDenied("auth.csrf", "页面已过期，请刷新后重试")


async def checked_body(request: Request[Any, Any, Any]) -> None:
    """The app's `before_request` hook: no control characters in any body's text
    (core/hygiene.py), and exact JSON for typed bodies (`strict_json_body`)."""
    await hygiene.check_body(request)
    await strict_json_body(request)


async def strict_json_body(request: Request[Any, Any, Any]) -> None:
    """Decode a Struct-typed JSON body strictly before Litestar does.

    Litestar converts request data leniently ("1200000" → 1200000, 1200000.0 → 1200000,
    a unix number → datetime); money and counts on the wire must be exact JSON integers.
    Runs after the guards, so an anonymous caller still gets 401 rather than 400.
    """
    field = request.route_handler.parsed_fn_signature.parameters.get("data")
    if field is None:
        return
    expected = getattr(field.kwarg_definition, "media_type", RequestEncodingType.JSON)
    if expected != RequestEncodingType.JSON:
        return  # a multipart upload or a form
    # A JSON endpoint takes JSON only: a cross-site form can send text/plain or form encodings
    # without a preflight, never application/json (login CSRF, docs/security.md §7).
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/json":
        raise UnsupportedMediaType(
            "request.unsupported_media_type", "请以 application/json 格式提交数据"
        )
    target = field.annotation
    if not (isinstance(target, type) and issubclass(target, msgspec.Struct)):
        return
    try:
        msgspec.json.decode(await request.body(), type=target)
    except msgspec.ValidationError as exc:
        raise ValidationException(
            detail="请求数据格式有误", extra=[{"message": str(exc), "source": "body"}]
        ) from None
    except msgspec.DecodeError:
        return  # malformed JSON: Litestar's own decoding answers it


async def count_sign_up(request: Request[Any, Any, Any]) -> None:
    """Every sign-up from an address counts: whether a phone number already has an account
    (409) can be learnt only at the pace the throttle allows, accounts made only as fast."""
    svc = services(request)
    key = f"signup:{client_ip(request) or '-'}"
    await svc.throttle.check(key)
    await svc.throttle.failed(key)


async def change_own_password(request: Request[Any, Any, Any], old: str, new: str) -> None:
    """The signed-in user's password (API and page alike): the current one is checked under
    the same throttle as a sign-in; every other session of the account ends, on every worker."""
    svc, who = services(request), actor(request)
    key = f"password:{who.id}"
    await svc.throttle.check(key)
    try:
        async with svc.db.write() as session:
            await change_password(
                session,
                who,
                old,
                new,
                token=token_of(request),
                now=svc.now(),
                passwords=svc.passwords,
            )
    except PermissionDenied:
        await svc.throttle.failed(key)
        raise
    await svc.throttle.cleared(key)
    await svc.sign_ins.sessions_ended(who.id)


def require_same_origin(request: Request[Any, Any, Any]) -> None:
    """A browser names the page a request comes from (`Origin`); a sign-in sent from another
    site's page is refused. Clients that are not browsers send no `Origin`."""
    origin = request.headers.get("origin")
    if origin is None:
        return
    host = request.headers.get("host", "")
    if origin == "null" or urlsplit(origin).netloc.lower() != host.lower():
        raise PermissionDenied("auth.cross_origin", "请从本站页面登录")


async def sign_in(
    request: Request[Any, Any, Any], username: str, password: str
) -> tuple[str, User]:
    """Log in (API and login page alike), slowed down per account and address and per
    address (core/accounts/throttle.py): never locked, so a stranger's failures cannot keep
    the owner out.

    Failures count against both keys; success clears the account's count at that address
    only, so a guesser's successes elsewhere buy no more tries from the same address.
    """
    svc = services(request)
    ip = client_ip(request) or "-"
    account = f"login:{username.lower()[:64]}@{ip}"
    keys = (account, f"login-ip:{ip}")
    await svc.throttle.check(*keys)
    try:
        async with svc.db.write() as session:
            token, user = await login(
                session,
                username,
                password,
                now=svc.now(),
                ttl=timedelta(seconds=svc.config.token_ttl_seconds),
                ip=ip,
                user_agent=request.headers.get("user-agent"),
                passwords=svc.passwords,
            )
    except NotAuthenticated:
        await svc.throttle.failed(*keys)
        raise
    await svc.throttle.cleared(account)
    return token, user


def session_cookies(config: Config, token: str) -> list[Cookie]:
    """The HttpOnly session cookie and the readable CSRF cookie (double submit)."""
    common: dict[str, Any] = {
        "secure": config.secure_cookies,
        "max_age": config.token_ttl_seconds,
        "path": "/",
    }
    return [
        Cookie(key=SESSION_COOKIE, value=token, httponly=True, samesite="lax", **common),
        Cookie(
            key=CSRF_COOKIE,
            value=csrf_token(config.secret_key, token),
            httponly=False,
            samesite="strict",
            **common,
        ),
    ]


def cleared_session_cookies() -> list[Cookie]:
    return [
        Cookie(key=name, value="", max_age=0, path="/") for name in (SESSION_COOKIE, CSRF_COOKIE)
    ]


def form_csrf_ok(request: Request[Any, Any, Any], sent: str | None) -> bool:
    """For page forms (opt csrf="form"): the hidden `_csrf` field matches the session."""
    token = token_of(request)
    if not token or not sent:
        return False
    return hmac.compare_digest(sent, csrf_token(services(request).config.secret_key, token))


def problem(status: int, code: str, detail: str, title: str = "", **extra: Any) -> Response[Any]:
    body = {
        "type": "about:blank",
        "title": title or detail,
        "status": status,
        "code": code,
        "detail": detail,
        **extra,
    }
    return Response(body, status_code=status, media_type=PROBLEM)


def _problem_response(exc: DomainError) -> Response[Any]:
    response = problem(exc.status, exc.code, exc.message, exc.title, **exc.extra)
    if "retry_after" in exc.extra:  # what a client or proxy acts on (RFC 9110 §10.2.3)
        response.headers["Retry-After"] = str(exc.extra["retry_after"])
    return response


def domain_error_handler(_: Request[Any, Any, Any], exc: DomainError) -> Response[Any]:
    return _problem_response(exc)


def validation_handler(_: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    errors = exc.extra if isinstance(exc.extra, list) else []
    detail = "请求数据格式有误"
    if errors:
        first = errors[0]
        detail += f"：{first.get('message', '')}" if isinstance(first, dict) else ""
    return problem(400, "request.invalid", detail, "输入有误", errors=errors)


_HTTP_CODES = {
    400: ("request.invalid", "请求无效"),
    401: ("auth.required", "请先登录"),
    403: ("auth.forbidden", "无权访问"),
    404: ("not_found", "未找到"),
    405: ("request.method_not_allowed", "不支持的请求方法"),
    413: ("request.too_large", "上传内容过大"),
    415: ("request.unsupported_media_type", "不支持的内容类型"),
    429: ("rate_limited", "操作过于频繁，请稍后再试"),
}


def http_error_handler(_: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    code, detail = _HTTP_CODES.get(exc.status_code, ("http.error", str(exc.detail)))
    return problem(exc.status_code, code, detail)


def internal_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem(500, "internal", "系统繁忙，请稍后重试；您的操作未被保存")


EXCEPTION_HANDLERS: dict[Any, Any] = {
    DomainError: domain_error_handler,
    ValidationException: validation_handler,
    HTTPException: http_error_handler,
    Exception: internal_error_handler,
}


class RateLimiter:
    """Sliding-window counts per key within one process (login attempts, bids)."""

    def __init__(
        self, limit: int, window_seconds: int, *, ticks: Callable[[], int] = time.monotonic_ns
    ) -> None:
        self.limit, self.window = limit, window_seconds * 1_000_000_000
        self._hits: dict[str, deque[int]] = defaultdict(deque)
        self._ticks = ticks

    def hit(self, *keys: str) -> None:
        """Count one attempt against every key; refuse when any key is over its limit."""
        self.check(*keys)
        self.record(*keys)

    def check(self, *keys: str) -> None:
        """Refuse (TooManyRequests) if any key has used up its attempts in the window."""
        now = self._ticks()
        for key in keys:
            hits = self._hits.get(key)
            if hits is None:
                continue
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if not hits:
                del self._hits[key]  # forget idle keys: guessed usernames must not pile up
                continue
            if len(hits) >= self.limit:
                raise TooManyRequests(
                    "rate_limited",
                    "操作过于频繁，请稍后再试",
                    retry_after=(hits[0] + self.window - now) // 10**9 + 1,
                )

    def record(self, *keys: str) -> None:
        now = self._ticks()
        for key in keys:
            self._hits[key].append(now)

    def reset(self, key: str) -> None:
        self._hits.pop(key, None)


def client_ip(request: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    return request.client.host if request.client else None
