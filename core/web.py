"""HTTP plumbing shared by every domain's controllers: the services of a worker, who is
calling, and may they.

Every route declares who may call it: `guards=[allow("village")]` or `opt=PUBLIC`; the app
refuses to start if a route declares neither. Sessions and CSRF are in `core.sessions`, errors
in `core.problems`, request bodies in `core.bodies`.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from core.accounts import (
    Actor,
    Passwords,
    logout,
    signed_in,
    token_hash,
)
from core.accounts.throttle import Throttle
from core.clock import Clock
from core.config import Config
from core.db import Database
from core.errors import (
    NotAuthenticated,
    PermissionDenied,
)

log = logging.getLogger("ruralx.web")

PUBLIC = {"public": True}
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
    return connection.app.state.services


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


def client_ip(request: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    return request.client.host if request.client else None
