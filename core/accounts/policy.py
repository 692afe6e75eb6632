"""Who may administer accounts and regions, and the rules that keep the exchange administrable:
the one place the pages, the API and the command line ask (docs/security.md §8). Pure: no IO.
"""

from __future__ import annotations

from core.accounts.actor import Actor
from core.accounts.models import REGION_LEVELS, Region, User
from core.errors import Conflict, InvalidInput

#: The roles an administrator gives to the accounts they create. Bidders sign up themselves:
#: their account rests on their own identity document (docs/security.md §4).
ADMINISTERED_ROLES = ("village", "reviewer", "regulator", "admin")


def administrator(actor: Actor | None) -> str:
    """Who acts on accounts and regions, as the ledger names them: an administrator, or
    (None) the operator at the command line. Anyone else is refused."""
    if actor is None:
        return "cli"
    actor.require("admin")
    return actor.name


def check_new_account(role: str, region: Region | None) -> None:
    """An account an administrator creates: a staff role or a village official of a village."""
    if role not in ADMINISTERED_ROLES:
        raise InvalidInput("user.role", "只能创建村集体经办人、审核员、监管人员或系统管理员账号")
    if role == "village" and region is None:
        raise InvalidInput("user.region_required", "村集体经办人必须指定所属村")
    if role == "village" and region is not None and region.level != "village":
        raise InvalidInput("user.region_not_village", "村集体经办人的地区必须是村一级")


def check_deactivation(actor: Actor | None, user: User, other_active_admins: int) -> None:
    """Nobody deactivates themselves, and the last active administrator stays: otherwise
    nobody could sign in to take care of the exchange."""
    if actor is not None and user.id == actor.id:
        raise Conflict("user.self", "不能停用自己的账号")
    if user.role == "admin" and other_active_admins == 0:
        raise Conflict("user.last_admin", "这是最后一个启用的系统管理员账号，不能停用")


def check_reset(actor: Actor | None, user: User) -> None:
    """An administrator resets other people's passwords; their own they change themselves."""
    if actor is not None and user.id == actor.id:
        raise Conflict("user.self_reset", "不能在这里重置自己的密码，请使用“修改密码”")


def child_level(parent: Region | None) -> str:
    """The level of a region added under `parent` (a province at the top)."""
    if parent is None:
        return REGION_LEVELS[0]
    depth = REGION_LEVELS.index(parent.level)
    if depth + 1 >= len(REGION_LEVELS):
        raise InvalidInput("region.too_deep", "村是最末一级，不能在村下再设地区")
    return REGION_LEVELS[depth + 1]


def region_name(raw: str) -> str:
    """A region's name as typed: 1–32 characters, no "/" (it separates the path's names)."""
    name = raw.strip()
    if not name or len(name) > 32:
        raise InvalidInput("region.name", "地区名称应为 1–32 个字")
    if "/" in name or any(not c.isprintable() for c in name):
        raise InvalidInput("region.name", "地区名称不能含有“/”或换行等特殊字符")
    return name
