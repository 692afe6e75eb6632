"""The accounts policy (core/accounts/policy.py): who administers, and the rules that keep
the exchange administrable."""

from __future__ import annotations

import pytest

from core.accounts import Actor, Region, User
from core.accounts.policy import (
    administrator,
    check_deactivation,
    check_new_account,
    check_reset,
    child_level,
    region_name,
)
from core.errors import Conflict, InvalidInput, PermissionDenied

VILLAGE = Region(id=5, path="福建省/泉州市/惠安县/洛阳镇/杏田村", name="杏田村", level="village")
TOWN = Region(id=4, path="福建省/泉州市/惠安县/洛阳镇", name="洛阳镇", level="town")


def person(user_id: int, role: str) -> User:
    return User(id=user_id, username=f"u{user_id}", role=role, display_name=role)


def actor(user_id: int, role: str) -> Actor:
    return Actor(person(user_id, role), None)


@pytest.mark.parametrize("role", ["bidder", "village", "reviewer", "regulator"])
def test_only_an_administrator_or_the_command_line_administers(role: str) -> None:
    with pytest.raises(PermissionDenied):
        administrator(actor(1, role))
    assert administrator(actor(7, "admin")) == "user:7"
    assert administrator(None) == "cli"


def test_nobody_deactivates_themselves_nor_the_last_administrator() -> None:
    admin = actor(1, "admin")
    with pytest.raises(Conflict, match="不能停用自己的账号"):
        check_deactivation(admin, person(1, "admin"), other_active_admins=3)
    with pytest.raises(Conflict) as last:
        check_deactivation(None, person(2, "admin"), other_active_admins=0)
    assert last.value.code == "user.last_admin"
    check_deactivation(admin, person(2, "admin"), other_active_admins=1)
    check_deactivation(admin, person(3, "reviewer"), other_active_admins=0)
    with pytest.raises(Conflict):
        check_reset(admin, person(1, "admin"))
    check_reset(admin, person(2, "admin"))


def test_accounts_an_administrator_creates() -> None:
    check_new_account("village", VILLAGE)
    check_new_account("regulator", TOWN)
    check_new_account("admin", None)
    for role, region, code in (
        ("bidder", None, "user.role"),
        ("village", None, "user.region_required"),
        ("village", TOWN, "user.region_not_village"),
    ):
        with pytest.raises(InvalidInput) as refused:
            check_new_account(role, region)
        assert refused.value.code == code


def test_regions_go_one_level_down_to_the_village() -> None:
    assert child_level(None) == "province"
    assert child_level(TOWN) == "village"
    with pytest.raises(InvalidInput, match="村是最末一级"):
        child_level(VILLAGE)
    assert region_name("  前亭村 ") == "前亭村"
    for bad in ("", "   ", "前/亭", "前\n亭", "村" * 33):
        with pytest.raises(InvalidInput):
            region_name(bad)
