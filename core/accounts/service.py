"""Use cases of accounts: regions, users, passwords, logins and sessions."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Literal

import msgspec
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from core import ledger
from core.accounts.actor import Actor
from core.accounts.models import REGION_LEVELS, ROLES, Region, Session, User
from core.accounts.passwords import DEFAULT_PASSWORDS, Passwords
from core.errors import Conflict, InvalidInput, NotAuthenticated, NotFound, PermissionDenied
from core.ids import IdType, InvalidIdNumber, validate_id
from core.ledger import LedgerEntry

#: The code of a sign-in refused because the password is a temporary one (the login page then
#: asks for a new password: `replace_temporary_password`).
PASSWORD_CHANGE_REQUIRED = "auth.password_change_required"


def user_subject(user_id: int) -> str:
    return f"user:{user_id}"


async def ensure_region(session: AsyncSession, path: str) -> Region:
    """Find or create every level of a "/"-separated region path, province first."""
    names = [n.strip() for n in path.strip("/").split("/") if n.strip()]
    if not names or len(names) > len(REGION_LEVELS):
        raise InvalidInput("region.path", "地区路径应为 省/市/县(区)/乡镇/村，至多五级")
    parent: Region | None = None
    for depth, name in enumerate(names):
        full = "/".join(names[: depth + 1])
        region = await session.scalar(select(Region).where(Region.path == full))
        if region is None:
            region = Region(
                name=name,
                level=REGION_LEVELS[depth],
                path=full,
                parent_id=parent.id if parent else None,
            )
            session.add(region)
            await session.flush()
        parent = region
    assert parent is not None
    return parent


def within(region: Region | None, jurisdiction: Region | None) -> bool:
    """Whether `region` lies inside `jurisdiction` (None jurisdiction = the whole exchange)."""
    if jurisdiction is None:
        return True
    if region is None:
        return False
    return region.path == jurisdiction.path or region.path.startswith(jurisdiction.path + "/")


@dataclass(frozen=True, slots=True)
class NewUser:
    username: str
    role: str
    password: str
    display_name: str = ""
    region_path: str | None = None
    id_type: IdType | None = None
    id_number: str | None = None
    phone: str | None = None


async def add_user(
    session: AsyncSession,
    new: NewUser,
    *,
    actor: str,
    now: datetime,
    passwords: Passwords = DEFAULT_PASSWORDS,
    temporary: bool = False,
) -> User:
    """Create an account. `temporary`: its password was made up for it (by an administrator's
    page) and must be replaced at the first sign-in (`password_must_change`)."""
    if new.role not in ROLES:
        raise InvalidInput("user.role", f"未知角色：{new.role}")
    if new.role == "village" and not new.region_path:
        raise InvalidInput("user.region_required", "村集体经办人必须指定所属村")
    region = await ensure_region(session, new.region_path) if new.region_path else None
    if new.role == "village" and region is not None and region.level != "village":
        raise InvalidInput("user.region_not_village", "村集体经办人的地区必须是村一级")
    id_number = None
    if new.id_type and new.id_number:
        try:
            id_number = validate_id(new.id_type, new.id_number)
        except InvalidIdNumber as exc:
            raise InvalidInput(exc.code, exc.message) from exc
    if await session.scalar(select(User.id).where(User.username == new.username)):
        raise Conflict("user.exists", "该用户名已被注册")
    if id_number is not None and await _id_taken(session, new.id_type, id_number):
        raise Conflict("user.id_number_taken", "该证件号码已注册账号，请使用原账号登录")
    user = User(
        username=new.username,
        role=new.role,
        display_name=new.display_name or new.username,
        region_id=region.id if region else None,
        id_type=new.id_type,
        id_number=id_number,
        phone=new.phone,
        password_hash=await asyncio.to_thread(passwords.hash, new.password),
        active=True,
        created_at=now,
    )
    session.add(user)
    try:
        await session.flush()
    except IntegrityError as exc:  # a concurrent sign-up with the same name or ID number
        raise Conflict("user.exists", "该用户名已被注册") from exc
    await ledger.append(
        session,
        subject=user_subject(user.id),
        type="user.created",
        actor=actor,
        payload={
            "role": user.role,
            "region": region.path if region else None,
            **({"temporary": True} if temporary else {}),
        },
        at=now,
    )
    return user


async def _id_taken(session: AsyncSession, id_type: str | None, id_number: str) -> bool:
    """One account per person (docs/security.md §4): a second account with the same ID number
    could claim the first one's priority right, or bid against them as someone else."""
    found = await session.scalar(
        select(User.id).where(User.id_type == id_type, User.id_number == id_number)
    )
    return found is not None


#: A new password: at least 8 characters (argon2 takes the rest; 256 keeps hashing bounded).
Password = Annotated[str, msgspec.Meta(min_length=8, max_length=256)]


class BidderSignUp(msgspec.Struct, forbid_unknown_fields=True):
    """A bidder's sign-up, as the API's body and the page's form both give it."""

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    id_type: Literal["resident_id", "uscc"]
    id_number: Annotated[str, msgspec.Meta(min_length=18, max_length=18)]
    #: ASCII digits only (\d would take full-width ones), and exactly 11 of them ($ alone would
    #: also let a trailing newline through).
    phone: Annotated[str, msgspec.Meta(pattern=r"^1[3-9][0-9]{9}$", min_length=11, max_length=11)]
    password: Password


async def sign_up_bidder(
    session: AsyncSession,
    form: BidderSignUp,
    *,
    now: datetime,
    passwords: Passwords = DEFAULT_PASSWORDS,
) -> User:
    """A bidder registers themselves; their phone number is their username."""
    return await add_user(
        session,
        NewUser(
            username=form.phone,
            role="bidder",
            password=form.password,
            display_name=form.name,
            id_type=form.id_type,
            id_number=form.id_number,
            phone=form.phone,
        ),
        actor="public",
        now=now,
        passwords=passwords,
    )


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def login(
    session: AsyncSession,
    username: str,
    password: str,
    *,
    now: datetime,
    ttl: timedelta,
    ip: str | None = None,
    user_agent: str | None = None,
    passwords: Passwords = DEFAULT_PASSWORDS,
) -> tuple[str, User]:
    user = await session.scalar(select(User).where(User.username == username))
    # argon2 takes tens of milliseconds on purpose: off the event loop, which serves rooms.
    ok = await asyncio.to_thread(passwords.check, user.password_hash if user else None, password)
    if not ok or user is None or not user.active:
        raise NotAuthenticated("auth.invalid_credentials", "用户名或密码错误")
    assert user is not None
    if await password_must_change(session, user.id):
        raise PermissionDenied(
            PASSWORD_CHANGE_REQUIRED, "管理员为您设置了临时密码，请先设置自己的新密码"
        )
    token = secrets.token_urlsafe(32)
    session.add(
        Session(
            token_hash=token_hash(token),
            user_id=user.id,
            created_at=now,
            expires_at=now + ttl,
            ip=ip,
            user_agent=(user_agent or "")[:256] or None,
        )
    )
    await ledger.append(
        session,
        subject=user_subject(user.id),
        type="user.logged_in",
        actor=user_subject(user.id),
        payload={"ip": ip},
        at=now,
    )
    return token, user


async def signed_in(session: AsyncSession, token: str, *, now: datetime) -> tuple[Actor, datetime]:
    """The actor a token signs in and when that sign-in expires (for caches to respect)."""
    row = (
        await session.execute(
            select(Session, User, Region)
            .join(User, User.id == Session.user_id)
            .outerjoin(Region, Region.id == User.region_id)
            .where(Session.token_hash == token_hash(token))
        )
    ).first()
    if row is None:
        raise NotAuthenticated("auth.token_invalid", "登录已失效，请重新登录")
    login_session, user, region = row
    if login_session.revoked_at is not None or login_session.expires_at <= now or not user.active:
        raise NotAuthenticated("auth.token_invalid", "登录已失效，请重新登录")
    return Actor(user, region), login_session.expires_at


async def logout(session: AsyncSession, token: str, *, now: datetime) -> None:
    row = await session.scalar(
        select(Session).where(Session.token_hash == token_hash(token)).with_for_update()
    )
    if row is not None and row.revoked_at is None:
        row.revoked_at = now


async def region_of(session: AsyncSession, user: User) -> Region | None:
    return await session.get(Region, user.region_id) if user.region_id else None


async def get_user(session: AsyncSession, user_id: int) -> User:
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound("user.not_found", "用户不存在")
    return user


async def users_by_id(session: AsyncSession, ids: Iterable[int]) -> dict[int, User]:
    """Users by id, in one query (none asked, none read)."""
    wanted = set(ids)
    if not wanted:
        return {}
    return {u.id: u for u in await session.scalars(select(User).where(User.id.in_(wanted)))}


async def end_sessions(
    session: AsyncSession, user_id: int, now: datetime, *, keep: str | None = None
) -> int:
    """Revoke the user's open sessions (all but the token `keep`); how many were open."""
    rows = await session.scalars(
        select(Session)
        .where(Session.user_id == user_id, Session.revoked_at.is_(None), Session.expires_at > now)
        .with_for_update()
    )
    ended = 0
    for row in rows:
        if keep is None or row.token_hash != token_hash(keep):
            row.revoked_at = now
            ended += 1
    return ended


async def change_password(
    session: AsyncSession,
    actor: Actor,
    old: str,
    new: str,
    *,
    token: str | None,
    now: datetime,
    passwords: Passwords = DEFAULT_PASSWORDS,
) -> None:
    """Anyone changes their own password by giving the current one; their other sessions end
    (a thief who had the old password is signed out), this one stays."""
    user = await session.get(User, actor.id, with_for_update=True)
    assert user is not None
    if not await asyncio.to_thread(passwords.check, user.password_hash, old):
        raise PermissionDenied("auth.password_incorrect", "当前密码不正确")
    if old == new:
        raise InvalidInput("user.password_unchanged", "新密码不能与当前密码相同")
    await _own_password(session, user, new, now=now, passwords=passwords, keep=token)


async def replace_temporary_password(
    session: AsyncSession,
    username: str,
    temporary: str,
    new: str,
    *,
    now: datetime,
    passwords: Passwords = DEFAULT_PASSWORDS,
) -> User:
    """The first sign-in after an administrator made up the password: the temporary password
    given once more and the person's own one set in its place. No session is ever opened with
    the temporary password."""
    user = await session.scalar(select(User).where(User.username == username).with_for_update())
    ok = await asyncio.to_thread(passwords.check, user.password_hash if user else None, temporary)
    if not ok or user is None or not user.active:
        raise NotAuthenticated("auth.invalid_credentials", "用户名或密码错误")
    if not await password_must_change(session, user.id):
        raise Conflict("user.password_not_temporary", "该账号的密码无需更换，请直接登录")
    if new == temporary:
        raise InvalidInput("user.password_unchanged", "新密码不能与临时密码相同")
    await _own_password(session, user, new, now=now, passwords=passwords)
    return user


async def _own_password(
    session: AsyncSession,
    user: User,
    new: str,
    *,
    now: datetime,
    passwords: Passwords,
    keep: str | None = None,
) -> None:
    """A password its owner chose: stored, their other sessions ended, the change logged."""
    user.password_hash = await asyncio.to_thread(passwords.hash, new)
    ended = await end_sessions(session, user.id, now, keep=keep)
    await ledger.append(
        session,
        subject=user_subject(user.id),
        type="user.password_changed",
        actor=user_subject(user.id),
        payload={"sessions_ended": ended},
        at=now,
    )


#: The log entries that set a password; the latest says whether it is a temporary one.
_PASSWORD_SET = ("user.created", "user.password_reset", "user.password_changed")


async def password_must_change(session: AsyncSession, user_id: int) -> bool:
    """Whether the account's password was made up by an administrator's page (a new account,
    or a reset) and not yet replaced by its owner. The log is the record: the latest entry
    that set the password says `temporary` (one indexed read, at sign-in only)."""
    payload = await session.scalar(
        select(LedgerEntry.payload)
        .where(LedgerEntry.subject == user_subject(user_id), LedgerEntry.type.in_(_PASSWORD_SET))
        .order_by(LedgerEntry.subject_seq.desc())
        .limit(1)
    )
    return bool(payload and payload.get("temporary") is True)
