"""The synthetic county: its towns and villages, categories with their price ranges and
terms, and the values a demo row is made of (valid ID numbers, devices, listing terms)."""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any, Final

import msgspec

from core.ids import resident_id_check_char, uscc_check_char
from listings import resolution
from listings.schemas import MeetingKind, Resolution, Terms

COUNTY: Final = "福建省/泉州市/惠安县"
TOWNS: Final = (
    "螺城镇",
    "螺阳镇",
    "黄塘镇",
    "紫山镇",
    "东岭镇",
    "涂寨镇",
    "东桥镇",
    "净峰镇",
    "小岞镇",
    "山霞镇",
    "辋川镇",
    "崇武镇",
    "张坂镇",
    "百崎回族乡",
    "洛江镇",
)
SYLLABLES: Final = "东西南北前后上下新大山水田林溪湖塘坑岭峰港埔厝洋沙龙凤霞美兴安福"
#: (category, weight, price unit, yearly price range in yuan (per mu for land), term years)
CATEGORIES: Final = (
    ("land_management_rights", 34, "per_mu_year", (300, 1500), (5, 25)),
    ("collective_operating_assets", 24, "per_year", (5_000, 200_000), (3, 10)),
    ("wasteland", 8, "per_mu_year", (50, 400), (10, 30)),
    ("forest_rights", 8, "per_mu_year", (30, 300), (10, 30)),
    ("aquaculture_water", 8, "per_mu_year", (500, 3000), (5, 15)),
    ("farm_facilities", 6, "per_year", (3_000, 80_000), (3, 10)),
    ("collective_construction_land", 4, "per_year", (50_000, 800_000), (10, 20)),
    ("water_works", 3, "per_year", (2_000, 30_000), (3, 10)),
    ("sea_areas", 3, "per_mu_year", (200, 1200), (5, 15)),
    ("other", 2, "per_month", (500, 8_000), (1, 5)),
)
USER_AGENTS: Final = (
    "Mozilla/5.0 (Linux; Android {a}; V{b}A) AppleWebKit/537.36 Chrome/{c}.0.{d}",
    "Mozilla/5.0 (iPhone; CPU iPhone OS {a}_{b} like Mac OS X) Mobile/{d}",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/{c}.0.{d}.{b}",
)


def villages(rng: random.Random) -> list[str]:
    paths = []
    for town in TOWNS:
        names: set[str] = set()
        while len(names) < 20:
            names.add(rng.choice(SYLLABLES) + rng.choice(SYLLABLES) + "村")
        paths += [f"{COUNTY}/{town}/{name}" for name in sorted(names)]
    return paths


def resident_id(user_id: int) -> str:
    """Valid and, like every account's, unique (one account per ID number): drawn from the id."""
    birth = date(1950, 1, 1) + timedelta(days=(user_id // 1000) % 18_000)
    first17 = f"350521{birth:%Y%m%d}{user_id % 1000:03d}"
    return first17 + resident_id_check_char(first17)


_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def uscc(user_id: int) -> str:
    body, n = "", user_id
    for _ in range(9):
        n, digit = divmod(n, len(_USCC_ALPHABET))
        body = _USCC_ALPHABET[digit] + body
    first17 = f"93350521{body}"
    return first17 + uscc_check_char(first17)


def device(rng: random.Random) -> str:
    return rng.choice(USER_AGENTS).format(
        a=rng.randint(10, 17),
        b=rng.randint(1000, 9999),
        c=rng.randint(100, 130),
        d=rng.randint(1000, 99999),
    )


def terms_of(rng: random.Random, category: tuple[Any, ...]) -> Terms:
    _, _, unit, (low, high), (short, long) = category
    yuan = rng.randint(low, high)
    price = yuan * 100 // 10 * 10 if unit != "per_month" else yuan * 100
    terms: dict[str, Any] = {
        "listing_price_fen": price,
        "price_unit": unit,
        "term_years": rng.randint(short, long),
        "payment": rng.choices(["annual", "semiannual", "monthly", "lump_sum"], [70, 15, 10, 5])[0],
        "increment_fen": max(100, price // 50 // 100 * 100),
        "max_steps": 10,
        "deposit_fen": price // 10 // 100 * 100,
        "rent_free_months": 0,
        "priority_holders": [],
    }
    if unit == "per_mu_year":
        terms["area"] = str(rng.randint(5, 400)) + rng.choice(["", ".5", ".25"])
    if rng.random() < 0.15 and terms["term_years"] >= 6:
        terms["escalation"] = {"every_years": rng.choice([3, 5]), "percent": rng.choice([5, 3])}
    if rng.random() < 0.1:
        terms["rent_free_months"] = rng.choice([3, 6])
    return msgspec.convert(terms, Terms)


def resolution_of(rng: random.Random, category: str, before: date) -> Resolution:
    """A resolution the law accepts (`listings.resolution.check`): mostly representatives'
    meetings, some villagers' meetings, held weeks before `before` and published for a week."""
    meeting = before - timedelta(days=rng.randint(20, 60))
    kind: MeetingKind = "villagers_meeting" if rng.random() < 0.1 else "representatives_meeting"
    entitled = rng.randint(300, 900) if kind == "villagers_meeting" else rng.randint(25, 45)
    draft = Resolution(
        meeting_kind=kind,
        meeting_date=meeting,
        entitled=entitled,
        present=entitled,
        votes_for=entitled,
        publicity_start=meeting + timedelta(days=1),
        publicity_end=meeting + timedelta(days=rng.randint(5, 7)),
    )
    least = max(resolution.quorum(draft), resolution.votes_needed(draft, category))
    draft = msgspec.structs.replace(draft, present=rng.randint(least, entitled))
    present = draft.present
    votes_for = rng.randint(resolution.votes_needed(draft, category), present)
    against = rng.randint(0, present - votes_for)
    return msgspec.structs.replace(
        draft,
        votes_for=votes_for,
        votes_against=against,
        abstentions=rng.randint(0, present - votes_for - against),
    )
