"""Headers every dynamic response carries (docs/security.md §7), error answers included.

- `Cache-Control: no-store`: answers name people and money; no browser or proxy keeps them.
  Static files are the only cacheable responses (nginx serves them in production).
- `X-Content-Type-Options: nosniff` and `Referrer-Policy: same-origin`.
- `Strict-Transport-Security` when the exchange is served over TLS (`secure_cookies`).

A `before_send` hook rather than a middleware: it sees every response the app sends, also
those of errors raised before a handler (the door, authentication).
"""

from __future__ import annotations

from litestar.types import Message, Scope

_ALWAYS = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
)
_HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")


async def security_headers(message: Message, scope: Scope) -> None:
    if message["type"] != "http.response.start":
        return
    headers = list(message.get("headers", []))
    present = {bytes(name).lower() for name, _ in headers}
    extra = [h for h in _ALWAYS if h[0] not in present]
    if not scope["path"].startswith("/static/") and b"cache-control" not in present:
        extra.append((b"cache-control", b"no-store"))
    if scope["litestar_app"].state.services.config.secure_cookies:
        extra.append(_HSTS)
    message["headers"] = headers + extra
