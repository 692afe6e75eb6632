"""Headers every dynamic response carries (docs/security.md §7).

- `Cache-Control: no-store`: answers name people and money; no browser or proxy keeps them.
  Static files are the only cacheable responses (nginx serves them in production).
- `X-Content-Type-Options: nosniff` and `Referrer-Policy: same-origin`.
- `Strict-Transport-Security` when the exchange is served over TLS (`secure_cookies`).
"""

from __future__ import annotations

from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

_ALWAYS = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
)
_HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")


class SecurityHeaders(ASGIMiddleware):
    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        static = scope["path"].startswith("/static/")
        tls = scope["litestar_app"].state.services.config.secure_cookies

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                extra = [h for h in _ALWAYS if h[0] not in present]
                if not static and b"cache-control" not in present:
                    extra.append((b"cache-control", b"no-store"))
                if tls:
                    extra.append(_HSTS)
                message = {**message, "headers": headers + extra}
            await send(message)

        await next_app(scope, receive, send_with_headers)
