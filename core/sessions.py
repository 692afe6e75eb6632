"""Sessions over HTTP: the actor of a request (bearer token or cookie), CSRF, the session
cookies, and the sign-in, password and sign-up use cases the API and the pages share."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from litestar import Request
from litestar.datastructures import Cookie
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

from core.accounts import (
    PASSWORD_CHANGE_REQUIRED,
    Actor,
    BidderSignUp,
    User,
    change_password,
    login,
    replace_temporary_password,
    sign_up_bidder,
)
from core.config import Config
from core.errors import (
    NotAuthenticated,
    PermissionDenied,
)
from core.web import _ACTOR, _TOKEN, Services, actor, client_ip, services, token_of

SESSION_COOKIE = "ruralx_session"
_SESSION_COOKIE_BYTES = SESSION_COOKIE.encode()
CSRF_COOKIE = "ruralx_csrf"
CSRF_HEADER = "x-csrf-token"
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def same_secret(sent: object, expected: str) -> bool:
    """A constant-time comparison that any input (non-ASCII text, an uploaded file) fails
    rather than raises."""
    return isinstance(sent, str) and hmac.compare_digest(sent.encode(), expected.encode())


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


async def authenticate(scope: Scope, svc: Services) -> tuple[Actor | None, str | None, bool]:
    """The request's actor, token, and whether the token came from the cookie; the actor and
    token are also kept in the scope (`actor_or_none`, `token_of`). A stale cookie just means
    "anonymous"; a bad bearer token raises `NotAuthenticated`.

    The one way a request is signed in: the middleware below, and the snapshot `GET` answered
    before Litestar's stack (app.fast_snapshot)."""
    token, by_cookie = _credentials(scope)
    if not token:
        return None, None, False
    try:
        current = await svc.actor_for(token)
    except NotAuthenticated:
        if not by_cookie:
            raise
        return None, None, False
    scope[_ACTOR] = current  # type: ignore[literal-required]
    scope[_TOKEN] = token  # type: ignore[literal-required]
    return current, token, by_cookie


class AuthMiddleware(ASGIMiddleware):
    """Resolve the actor from a bearer token or the session cookie; check CSRF for cookies."""

    scopes = (ScopeType.HTTP, ScopeType.WEBSOCKET)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        svc: Services = scope["litestar_app"].state.services
        current, token, by_cookie = await authenticate(scope, svc)
        if current is not None and by_cookie and scope.get("method") in UNSAFE:
            assert token is not None  # websockets have no method
            _check_csrf(scope, Request(scope), svc.config.secret_key, token)
        await next_app(scope, receive, send)


def _check_csrf(scope: Scope, request: Request[Any, Any, Any], secret: str, token: str) -> None:
    """Cookie-authenticated writes must prove they come from our pages (double submit)."""
    handler = scope.get("route_handler")
    if handler is not None and (handler.opt.get("public") or handler.opt.get("csrf") == "form"):
        return  # public writes do not act as the user; form pages check their own field
    sent = request.headers.get(CSRF_HEADER, "")
    if not same_secret(sent, csrf_token(secret, token)):
        raise PermissionDenied("auth.csrf", "页面已过期，请刷新后重试")


async def sign_up(request: Request[Any, Any, Any], form: BidderSignUp) -> User:
    """A bidder signs up (API and page alike). Every sign-up from an address counts: whether a
    phone number already has an account (409) can be learnt only at the pace the throttle
    allows, accounts made only as fast."""
    svc = services(request)
    await svc.throttle.attempt(f"signup:{client_ip(request) or '-'}")
    async with svc.db.write() as session:
        return await sign_up_bidder(session, form, now=svc.now(), passwords=svc.passwords)


async def change_own_password(request: Request[Any, Any, Any], old: str, new: str) -> None:
    """The signed-in user's password (API and page alike): the current one is checked under
    the same throttle as a sign-in; every other session of the account ends, on every worker."""
    svc, who = services(request), actor(request)
    key = f"password:{who.id}"
    await svc.throttle.attempt(key)
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

    Every attempt counts against both keys before the password is compared (so parallel
    guesses cannot all pass one check); a success clears the account's count at that address
    and takes its own attempt back from the address's, so a guesser's successes elsewhere buy
    no more tries from the same address.
    """
    svc = services(request)
    ip = client_ip(request) or "-"
    account, address = f"login:{username.lower()[:64]}@{ip}", f"login-ip:{ip}"
    await svc.throttle.attempt(account, address)
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
        raise  # the attempt is counted already
    except PermissionDenied as exc:
        if exc.code == PASSWORD_CHANGE_REQUIRED:  # the right password, a temporary one
            await svc.throttle.cleared(account)
            await svc.throttle.forgive(address)
        raise
    await svc.throttle.cleared(account)
    await svc.throttle.forgive(address)
    return token, user


async def replace_temporary(
    request: Request[Any, Any, Any], username: str, temporary: str, new: str
) -> User:
    """The first sign-in with a password an administrator made up: the temporary password is
    checked under the sign-in's throttle, then replaced by the person's own (the login page;
    the API's sign-in answers 403 `auth.password_change_required` instead)."""
    svc = services(request)
    ip = client_ip(request) or "-"
    account, address = f"login:{username.lower()[:64]}@{ip}", f"login-ip:{ip}"
    await svc.throttle.attempt(account, address)
    async with svc.db.write() as session:
        user = await replace_temporary_password(
            session, username, temporary, new, now=svc.now(), passwords=svc.passwords
        )
    await svc.throttle.cleared(account)
    await svc.throttle.forgive(address)
    await svc.sign_ins.sessions_ended(user.id)
    return user


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
    return same_secret(sent, csrf_token(services(request).config.secret_key, token))
