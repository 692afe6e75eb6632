"""Controllers of the kernel: sign-in, bidder sign-up, exchange settings."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post, put
from litestar.params import FromPath, JSONBody
from msgspec import Meta

from core import accounts
from core import settings as exchange_settings
from core.accounts import BidderSignUp, Password, User, region_of
from core.ids import mask_id_number, mask_phone
from core.sessions import (
    change_own_password,
    cleared_session_cookies,
    csrf_token,
    require_same_origin,
    session_cookies,
    sign_in,
    sign_up,
)
from core.web import PUBLIC, actor, allow, services, token_of


class PasswordChange(msgspec.Struct, forbid_unknown_fields=True):
    old_password: Annotated[str, Meta(min_length=1, max_length=256)]
    new_password: Password


class PasswordReset(msgspec.Struct, forbid_unknown_fields=True):
    new_password: Password


class Reason(msgspec.Struct, forbid_unknown_fields=True):
    reason: Annotated[str, Meta(min_length=1, max_length=500)]


class LoginBody(msgspec.Struct, forbid_unknown_fields=True):
    username: Annotated[str, Meta(min_length=1, max_length=64)]
    password: Annotated[str, Meta(min_length=1, max_length=256)]


class UserOut(msgspec.Struct, kw_only=True):
    """A user as they and staff see them: ID and phone masked even so (no need to echo them)."""

    id: int
    username: str
    role: str
    display_name: str
    #: The `/`-separated region path of staff and village accounts; none for bidders.
    region: str | None
    id_type: str | None
    id_number: str | None
    phone: str | None
    active: bool


class SignedIn(msgspec.Struct, kw_only=True):
    """A new session: the token (also set as a cookie) and the CSRF token writes must send."""

    token: str
    csrf_token: str
    user: UserOut


class Done(msgspec.Struct):
    """An action with nothing more to report."""

    ok: bool = True


def user_view(user: User, *, region_path: str | None = None) -> UserOut:
    return UserOut(
        id=user.id,
        username=user.username,
        role=user.role,
        display_name=user.display_name,
        region=region_path,
        id_type=user.id_type,
        id_number=mask_id_number(user.id_number) if user.id_number else None,
        phone=mask_phone(user.phone) if user.phone else None,
        active=user.active,
    )


class AuthController(Controller):
    path = "/api/v1/auth"

    @post("/login", opt=PUBLIC, status_code=200)
    async def login(
        self, request: Request[Any, Any, Any], data: JSONBody[LoginBody]
    ) -> Response[SignedIn]:
        svc = services(request)
        require_same_origin(request)
        token, user = await sign_in(request, data.username, data.password)
        async with svc.db.read() as session:
            region = await region_of(session, user)
        return Response(
            SignedIn(
                token=token,
                csrf_token=csrf_token(svc.config.secret_key, token),
                user=user_view(user, region_path=region.path if region else None),
            ),
            cookies=session_cookies(svc.config, token),
        )

    @post("/logout", guards=[allow()], status_code=200)
    async def logout(self, request: Request[Any, Any, Any]) -> Response[Done]:
        svc = services(request)
        token = token_of(request)
        assert token is not None
        await svc.sign_out(token)
        return Response(Done(), cookies=cleared_session_cookies())

    @get("/me", guards=[allow()])
    async def me(self, request: Request[Any, Any, Any]) -> UserOut:
        current = actor(request)
        return user_view(current.user, region_path=current.region.path if current.region else None)

    @post("/password", guards=[allow()], status_code=200)
    async def change_password(
        self, request: Request[Any, Any, Any], data: JSONBody[PasswordChange]
    ) -> Done:
        """One's own password, given the current one (throttled like a sign-in); every other
        session of the account ends."""
        await change_own_password(request, data.old_password, data.new_password)
        return Done()


class UserController(Controller):
    """An administrator's care of accounts: reset a password, deactivate, reactivate."""

    path = "/api/v1/users"
    guards = (allow("admin"),)

    @post("/{user_id:int}/password", status_code=200)
    async def reset_password(
        self, request: Request[Any, Any, Any], user_id: FromPath[int], data: JSONBody[PasswordReset]
    ) -> UserOut:
        svc = services(request)
        async with svc.db.write() as session:
            user = await accounts.reset_password(
                session,
                actor(request),
                user_id,
                data.new_password,
                now=svc.now(),
                passwords=svc.passwords,
            )
        await svc.sign_ins.sessions_ended(user.id)
        return user_view(user)

    @post("/{user_id:int}/deactivate", status_code=200)
    async def deactivate(
        self, request: Request[Any, Any, Any], user_id: FromPath[int], data: JSONBody[Reason]
    ) -> UserOut:
        return await _set_active(request, user_id, False, data.reason)

    @post("/{user_id:int}/activate", status_code=200)
    async def activate(
        self, request: Request[Any, Any, Any], user_id: FromPath[int], data: JSONBody[Reason]
    ) -> UserOut:
        return await _set_active(request, user_id, True, data.reason)


async def _set_active(
    request: Request[Any, Any, Any], user_id: int, active: bool, reason: str
) -> UserOut:
    svc = services(request)
    async with svc.db.write() as session:
        user = await accounts.set_active(
            session, actor(request), user_id, active, reason, now=svc.now()
        )
    if not active:
        await svc.sign_ins.sessions_ended(user.id)
    return user_view(user)


class BidderController(Controller):
    path = "/api/v1/bidders"

    @post("/", opt=PUBLIC, status_code=201)
    async def sign_up(
        self, request: Request[Any, Any, Any], data: JSONBody[BidderSignUp]
    ) -> UserOut:
        return user_view(await sign_up(request, data))


class SettingsController(Controller):
    path = "/api/v1/settings"

    @get("/", guards=[allow("admin", "reviewer", "regulator")])
    async def show(self, request: Request[Any, Any, Any]) -> exchange_settings.ExchangeSettings:
        async with services(request).db.read() as session:
            return await exchange_settings.load(session)

    @put("/", guards=[allow("admin")])
    async def update(
        self, request: Request[Any, Any, Any], data: JSONBody[dict[str, Any]]
    ) -> exchange_settings.ExchangeSettings:
        svc = services(request)
        async with svc.db.write() as session:
            return await exchange_settings.update(
                session, data, actor=actor(request).name, now=svc.now()
            )
