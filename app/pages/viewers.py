"""Counting 围观人数 from the announcement page (listings.viewers): a signed-in person counts
as their account, anyone else as their browser (a cookie, first derived from the address and
the browser's name, so a client that drops cookies is still one viewer). A browser records a
listing at most once a day: a second cookie lists the listings it was counted for today, and
the page then writes nothing."""

from __future__ import annotations

import hashlib
import hmac
import re

from litestar.datastructures import Cookie

from app.pages.common import Req
from core.clock import local_date
from core.web import actor_or_none, client_ip, services
from listings import reading, viewers

VISITOR_COOKIE = "ruralx_visitor"
SEEN_COOKIE = "ruralx_seen"
#: The listings a browser remembers having been counted for today (the latest ones).
SEEN_LIMIT = 40
_VISITOR = re.compile(r"[0-9a-f]{24}")
_SEEN = re.compile(r"(\d{8}):([0-9.]*)")


def _cookie(request: Req, key: str, value: str, max_age: int) -> Cookie:
    return Cookie(
        key=key,
        value=value,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="lax",
        secure=services(request).config.secure_cookies,
    )


def _seen_today(raw: str | None, today: str) -> list[str]:
    match = _SEEN.fullmatch(raw or "")
    if match is None or match.group(1) != today:
        return []
    return [i for i in match.group(2).split(".") if i.isdigit()]


async def count_view(request: Req, listing_id: int) -> list[Cookie]:
    """Record this person or browser as a viewer of the listing unless done today; the cookies
    to set. Raises NotFound (and records nothing) for a listing the viewer may not see."""
    svc = services(request)
    who = actor_or_none(request)
    now = svc.now()
    today = local_date(now).strftime("%Y%m%d")
    cookies = []
    if who is not None:
        subject = f"user:{who.id}"
    else:
        visitor = request.cookies.get(VISITOR_COOKIE) or ""
        if not _VISITOR.fullmatch(visitor):
            device = f"{client_ip(request)}|{request.headers.get('user-agent', '')}"
            secret = svc.config.secret_key.encode()
            visitor = hmac.new(secret, device.encode(), hashlib.sha256).hexdigest()[:24]
            cookies.append(_cookie(request, VISITOR_COOKIE, visitor, 365 * 86400))
        subject = f"browser:{visitor}"
    seen = _seen_today(request.cookies.get(SEEN_COOKIE), today)
    if str(listing_id) in seen:
        return cookies
    async with svc.db.write() as session:
        await reading.load(session, who, listing_id)
        key = viewers.viewer_key(svc.config.secret_key, subject)
        await viewers.record_view(session, listing_id, key, now)
    seen = [*seen, str(listing_id)][-SEEN_LIMIT:]
    cookies.append(_cookie(request, SEEN_COOKIE, f"{today}:{'.'.join(seen)}", 2 * 86400))
    return cookies
