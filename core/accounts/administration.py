"""An administrator's care of accounts: create a staff account, reset a password, deactivate
and reactivate. The pages, the API and the command line call these; `core.accounts.policy`
decides who may and what is refused; each change is a ledger entry of the account."""

from __future__ import annotations

import asyncio
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core import ledger
from core.accounts import policy
from core.accounts.actor import Actor
from core.accounts.models import Region, User
from core.accounts.passwords import DEFAULT_PASSWORDS, Passwords
from core.accounts.service import NewUser, add_user, end_sessions, user_subject
from core.errors import InvalidInput, NotFound

#: Letters and digits nobody confuses when reading them out (no 0/O, 1/l/I).
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
#: A staff username: letters, digits and . _ - (a bidder's is their phone, so never all digits).
USERNAME = re.compile(r"[A-Za-z0-9._-]{3,32}")
MOBILE = re.compile(r"1[3-9][0-9]{9}")


def temporary_password() -> str:
    """A made-up password to be read out to its owner: three groups of four, ~59 bits."""
    return "-".join("".join(secrets.choice(_ALPHABET) for _ in range(4)) for _ in range(3))


@dataclass(frozen=True, slots=True)
class NewStaff:
    """An account an administrator creates on the users page."""

    role: str
    username: str
    display_name: str
    region_id: int | None = None
    phone: str | None = None


def staff_errors(new: NewStaff) -> dict[str, tuple[str, str]]:
    """Every mistake of the form at once: field → (code, message)."""
    errors: dict[str, tuple[str, str]] = {}
    if new.role not in policy.ADMINISTERED_ROLES:
        errors["role"] = ("user.role", "请选择角色")
    if not USERNAME.fullmatch(new.username):
        errors["username"] = (
            "user.username",
            "用户名应为 3–32 位英文字母、数字或 . _ -",
        )
    elif new.username.isdigit():
        errors["username"] = (
            "user.username_digits",
            "用户名不能全是数字（手机号是竞买人的用户名）",
        )
    if not new.display_name.strip() or len(new.display_name.strip()) > 64:
        errors["display_name"] = ("user.display_name", "请填写姓名（1–64 字）")
    if new.phone and not MOBILE.fullmatch(new.phone):
        errors["phone"] = ("user.phone", "手机号码应为 11 位数字，以 1 开头")
    return errors


async def add_staff(
    session: AsyncSession,
    actor: Actor | None,
    new: NewStaff,
    *,
    now: datetime,
    passwords: Passwords = DEFAULT_PASSWORDS,
) -> tuple[User, str]:
    """Create the account with a made-up password, returned once to be handed over; its owner
    must replace it at their first sign-in."""
    by = policy.administrator(actor)
    if errors := staff_errors(new):
        code, message = next(iter(errors.values()))
        raise InvalidInput(code, message)
    region = await session.get(Region, new.region_id) if new.region_id is not None else None
    if new.region_id is not None and region is None:
        raise NotFound("region.not_found", "地区不存在")
    policy.check_new_account(new.role, region)
    password = temporary_password()
    user = await add_user(
        session,
        NewUser(
            username=new.username,
            role=new.role,
            password=password,
            display_name=new.display_name.strip(),
            region_path=region.path if region else None,
            phone=new.phone or None,
        ),
        actor=by,
        now=now,
        passwords=passwords,
        temporary=True,
    )
    return user, password


async def reset_password(
    session: AsyncSession,
    actor: Actor | None,
    user_id: int,
    new: str,
    *,
    now: datetime,
    passwords: Passwords = DEFAULT_PASSWORDS,
    temporary: bool = False,
) -> User:
    """An administrator sets a new password (told to its owner in person); every session of
    the account ends. `temporary`: its owner must replace it at their next sign-in."""
    by = policy.administrator(actor)
    user = await session.get(User, user_id, with_for_update=True)
    if user is None:
        raise NotFound("user.not_found", "用户不存在")
    policy.check_reset(actor, user)
    user.password_hash = await asyncio.to_thread(passwords.hash, new)
    ended = await end_sessions(session, user.id, now)
    await ledger.append(
        session,
        subject=user_subject(user.id),
        type="user.password_reset",
        actor=by,
        payload={"sessions_ended": ended, **({"temporary": True} if temporary else {})},
        at=now,
    )
    return user


async def set_active(
    session: AsyncSession,
    actor: Actor | None,
    user_id: int,
    active: bool,
    reason: str,
    *,
    now: datetime,
) -> User:
    """An administrator deactivates (every session ends, sign-in refused, bids refused) or
    reactivates an account. Nobody deactivates themselves, nor the last active administrator
    (`policy.check_deactivation`)."""
    by = policy.administrator(actor)
    target = await session.get(User, user_id)
    if target is None:
        raise NotFound("user.not_found", "用户不存在")
    admins: list[User] = []
    if not active and target.role == "admin":
        # Every active administrator's row locked, in id order: two administrators
        # deactivating each other wait for one another instead of both succeeding.
        admins = list(
            await session.scalars(
                select(User)
                .where(User.role == "admin", User.active.is_(True))
                .order_by(User.id)
                .with_for_update()
                .execution_options(populate_existing=True)
            )
        )
    user = await session.scalar(
        select(User)
        .where(User.id == user_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    assert user is not None
    if not active:
        policy.check_deactivation(actor, user, sum(1 for a in admins if a.id != user.id))
    if not reason.strip():
        raise InvalidInput("user.reason_required", "请说明停用或启用的理由")
    if user.active == active:
        return user
    user.active = active
    ended = await end_sessions(session, user.id, now) if not active else 0
    await ledger.append(
        session,
        subject=user_subject(user.id),
        type="user.activated" if active else "user.deactivated",
        actor=by,
        payload={"reason": reason, "sessions_ended": ended},
        at=now,
    )
    return user
