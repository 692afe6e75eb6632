"""The demo's people: one official per village, and bidders (one in five an organisation)
with valid ID numbers and phones; accounts inactive, passwords unusable."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.accounts import Region
from oversight.demo.county import SYLLABLES, resident_id, uscc


@dataclass
class People:
    users: list[dict[str, Any]]
    officials: dict[str, int]  # village path → the official's user id
    bidders: list[tuple[int, str]]  # (user id, id_type)
    phones: dict[int, str | None]  # user id → phone; planted families share one


def people(
    rng: random.Random,
    tag: str,
    user_id: int,
    village_paths: list[str],
    regions: dict[str, Region],
    count: int,
    now: datetime,
) -> People:
    """Users with ids after `user_id`: the officials, then about count/15 bidders."""
    users: list[dict[str, Any]] = []
    officials: dict[str, int] = {}
    for path in village_paths:
        user_id += 1
        officials[path] = user_id
        users.append(
            {
                "id": user_id,
                "username": f"demo{tag}-v{user_id}",
                "role": "village",
                "display_name": path.rsplit("/", 1)[1] + "经办人",
                "region_id": regions[path].id,
                "password_hash": "!",
                "active": False,
                "id_type": None,
                "id_number": None,
                "phone": None,
                "created_at": now,
            }
        )
    bidders: list[tuple[int, str]] = []  # (id, id_type)
    for _ in range(max(20, count // 15)):
        user_id += 1
        organisation = rng.random() < 0.2
        id_type = "uscc" if organisation else "resident_id"
        users.append(
            {
                "id": user_id,
                "username": f"demo{tag}-b{user_id}",
                "role": "bidder",
                "region_id": None,
                "display_name": (rng.choice(SYLLABLES) + rng.choice(SYLLABLES) + "农业合作社")
                if organisation
                else rng.choice("陈林黄张李王吴刘蔡杨郑")
                + rng.choice("建国志明丽华春梅金水阿福秀英"),
                "id_type": id_type,
                "id_number": uscc(user_id) if organisation else resident_id(user_id),
                "phone": f"1{rng.choice('3589')}{rng.randint(0, 999_999_999):09d}",
                "password_hash": "!",
                "active": False,
                "created_at": now,
            }
        )
        bidders.append((user_id, id_type))
    return People(users, officials, bidders, {u["id"]: u.get("phone") for u in users})
