"""`ruralx demo --listings N`: a synthetic county to measure statistics and warnings on.

One county (惠安县 of 泉州市) of 15 towns × 20 villages, village officials, bidders (one in
five an organisation), and N listings over the last five years with realistic categories,
prices, terms and outcomes: most sold (by auction, some by agreement with a single bidder),
some failed and relisted, the most recent still open. Registrations carry addresses and
devices, with a few planted anomalies (shared phone / IP / device) for the warnings.

Rows are written in bulk with explicit ids (one transaction; PostgreSQL sequences are moved
past them afterwards) — not through the use cases: the data is synthetic and says so in the
ledger (one `demo.generated` entry), and its listings have no per-listing ledger history.
The listing facts are computed on the way (the same function the oversight job uses) and
the warnings detected once at the end.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final

from sqlalchemy import func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from auction.models import Deal
from core import ledger
from core import settings as exchange_settings
from core.accounts import Region, User, ensure_region
from core.clock import SystemClock
from core.config import Config
from core.db import Database
from core.ids import resident_id_check_char, uscc_check_char
from core.ledger import keys, sequencer
from listings import Listing, Registration
from listings.schemas import CATEGORY_NAMES_ZH
from oversight.stats import listing_facts
from oversight.warnings import scan

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
_SYLLABLES: Final = "东西南北前后上下新大山水田林溪湖塘坑岭峰港埔厝洋沙龙凤霞美兴安福"
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
_CHUNK: Final = 5000


def _villages(rng: random.Random) -> list[str]:
    paths = []
    for town in TOWNS:
        names: set[str] = set()
        while len(names) < 20:
            names.add(rng.choice(_SYLLABLES) + rng.choice(_SYLLABLES) + "村")
        paths += [f"{COUNTY}/{town}/{name}" for name in sorted(names)]
    return paths


def _resident_id(user_id: int) -> str:
    """Valid and, like every account's, unique (one account per ID number): drawn from the id."""
    birth = date(1950, 1, 1) + timedelta(days=(user_id // 1000) % 18_000)
    first17 = f"350521{birth:%Y%m%d}{user_id % 1000:03d}"
    return first17 + resident_id_check_char(first17)


_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def _uscc(user_id: int) -> str:
    body, n = "", user_id
    for _ in range(9):
        n, digit = divmod(n, len(_USCC_ALPHABET))
        body = _USCC_ALPHABET[digit] + body
    first17 = f"93350521{body}"
    return first17 + uscc_check_char(first17)


def _device(rng: random.Random) -> str:
    return rng.choice(USER_AGENTS).format(
        a=rng.randint(10, 17),
        b=rng.randint(1000, 9999),
        c=rng.randint(100, 130),
        d=rng.randint(1000, 99999),
    )


def _terms(rng: random.Random, category: tuple[Any, ...]) -> dict[str, Any]:
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
    return terms


async def _regions(session: AsyncSession, paths: list[str]) -> dict[str, Region]:
    """The villages (and their towns, via the use case), villages inserted in bulk."""
    towns = {path.rsplit("/", 1)[0] for path in paths}
    parents = {town: await ensure_region(session, town) for town in sorted(towns)}
    existing = set(await session.scalars(select(Region.path).where(Region.path.in_(paths))))
    await _bulk(
        session,
        Region,
        [
            {
                "parent_id": parents[p.rsplit("/", 1)[0]].id,
                "name": p.rsplit("/", 1)[1],
                "level": "village",
                "path": p,
            }
            for p in paths
            if p not in existing
        ],
    )
    rows = await session.scalars(select(Region).where(Region.path.in_(paths)))
    return {r.path: r for r in rows}


async def _reserve_ids(session: AsyncSession, model: Any) -> int:
    return int(await session.scalar(select(func.max(model.id))) or 0)


async def _bump_sequences(session: AsyncSession, tables: Sequence[str]) -> None:
    if session.get_bind().dialect.name != "postgresql":
        return
    for table in tables:
        await session.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT COALESCE(MAX(id), 1) FROM {table}))"
            )
        )


async def _bulk(session: AsyncSession, model: Any, rows: list[dict[str, Any]]) -> None:
    """COPY on PostgreSQL; Core executemany (batched multi-row VALUES) elsewhere."""
    if not rows:
        return
    connection = await session.connection()
    table = model.__table__
    if session.get_bind().dialect.name == "postgresql":
        raw = (await connection.get_raw_connection()).driver_connection
        assert raw is not None  # an open asyncpg connection
        names = list(rows[0])
        json_columns = {
            c.name
            for c in table.columns
            if c.name in names and c.type.__class__.__name__ in ("JSON", "JSONB")
        }
        records = [
            tuple(
                json.dumps(r[n], ensure_ascii=False) if n in json_columns else r[n] for n in names
            )
            for r in rows
        ]
        await raw.copy_records_to_table(table.name, records=records, columns=names)
        return
    statement = insert(table)
    for start in range(0, len(rows), _CHUNK):
        await connection.execute(statement, rows[start : start + _CHUNK])


async def populate(db: Database, count: int, *, seed: int, now: datetime) -> dict[str, Any]:
    rng = random.Random(seed)
    started = time.perf_counter()
    summary: dict[str, Any] = {}
    async with db.write() as session:
        tag = f"{seed % 10000:04d}{int(await _reserve_ids(session, User)):x}"
        regions = await _regions(session, _villages(rng))
        index = listing_facts.RegionIndex()
        ancestors = {p: await index.ancestors(session, r) for p, r in regions.items()}
        village_paths = list(regions)

        user_id = await _reserve_ids(session, User)
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
                    "display_name": (rng.choice(_SYLLABLES) + rng.choice(_SYLLABLES) + "农业合作社")
                    if organisation
                    else rng.choice("陈林黄张李王吴刘蔡杨郑")
                    + rng.choice("建国志明丽华春梅金水阿福秀英"),
                    "id_type": id_type,
                    "id_number": _uscc(user_id) if organisation else _resident_id(user_id),
                    "phone": f"1{rng.choice('3589')}{rng.randint(0, 999_999_999):09d}",
                    "password_hash": "!",
                    "active": False,
                    "created_at": now,
                }
            )
            bidders.append((user_id, id_type))
        id_types = dict(bidders)
        phones = {u["id"]: u.get("phone") for u in users}

        listing_id = await _reserve_ids(session, Listing)
        registration_id = await _reserve_ids(session, Registration)
        listings, registrations, deals, fact_rows = [], [], [], []
        weights = [c[1] for c in CATEGORIES]
        relist: dict[str, Any] | None = None
        span = timedelta(days=5 * 365)
        for _ in range(count):
            listing_id += 1
            if relist is not None:
                path, category, terms, previous = (
                    relist["path"],
                    relist["category"],
                    relist["terms"],
                    relist["id"],
                )
                announced = relist["announced"] + timedelta(days=rng.randint(30, 60))
                relist = None
            else:
                path = rng.choice(village_paths)
                category = rng.choices(CATEGORIES, weights)[0]
                terms = _terms(rng, category)
                previous = None
                announced = (
                    now - span + timedelta(seconds=rng.randint(0, int(span.total_seconds())))
                )
            category_code = category[0]
            announced = min(announced, now - timedelta(hours=1))
            closes = announced + timedelta(days=10)
            open_ = closes > now
            roll = rng.random()
            if open_:
                state, outcome, bidders_n = "announced", None, rng.randint(0, 3)
            elif roll < 0.72:
                state, outcome, bidders_n = "sold", "auction", rng.randint(2, 6)
            elif roll < 0.80:
                state, outcome, bidders_n = "sold", "agreement", 1
            else:
                state, bidders_n = "failed", 0
                outcome = rng.choices(["no_bidders", "too_few_bidders"], [3, 1])[0]
                if outcome == "too_few_bidders":
                    bidders_n = 1
                if rng.random() < 0.35:
                    relist = {
                        "path": path,
                        "category": category,
                        "terms": terms,
                        "id": listing_id,
                        "announced": announced,
                    }
            listings.append(
                {
                    "id": listing_id,
                    "village_id": regions[path].id,
                    "created_by": officials[path],
                    "title": f"{path.rsplit('/', 1)[1]}{CATEGORY_NAMES_ZH[category_code]}流转",
                    "category": category_code,
                    "location": path.rsplit("/", 2)[1],
                    "area": terms.get("area"),
                    "area_unit": "mu" if terms.get("area") else None,
                    "description": "演示数据",
                    "terms": terms,
                    "state": state,
                    "announced_at": announced,
                    "registration_closes_at": closes,
                    "auction_starts_at": closes + timedelta(days=1),
                    "registration_extended": False,
                    "outcome": outcome,
                    "relist_of": previous,
                    "created_at": announced - timedelta(days=3),
                    "updated_at": min(now, closes),
                }
            )
            chosen = rng.sample(bidders, bidders_n)
            shared_ip = f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
            plant = rng.random() if bidders_n >= 2 else 1.0
            regs = []
            for number, (bidder_id, _) in enumerate(chosen, start=1):
                registration_id += 1
                ip = (
                    shared_ip
                    if plant < 0.01
                    else f"{rng.randint(27, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}."
                    f"{rng.randint(1, 254)}"
                )
                regs.append(
                    {
                        "id": registration_id,
                        "listing_id": listing_id,
                        "bidder_id": bidder_id,
                        "state": "qualified",
                        "deposit_fen": terms["deposit_fen"],
                        "deposit_state": "refunded",
                        "payment_reference": f"DM{tag}{registration_id:010d}",
                        "bidder_number": f"{number:03d}",
                        "priority_holder": False,
                        "reason": None,
                        "ip": ip,
                        "user_agent": _device(rng),
                        "created_at": announced + timedelta(days=2),
                        "decided_at": announced + timedelta(days=3),
                        "decided_by": None,
                    }
                )
            if 0.01 <= plant < 0.015:
                regs[1]["user_agent"] = regs[0]["user_agent"]
            if 0.015 <= plant < 0.018:
                phones[regs[1]["bidder_id"]] = phones[regs[0]["bidder_id"]]  # one family
            registrations += regs
            deal = None
            if state == "sold":
                winner = regs[-1]
                winner["deposit_state"] = "credited_to_rent"
                steps = 0 if outcome == "agreement" else max(1, int(rng.expovariate(1 / 12)))
                final = terms["listing_price_fen"] + steps * terms["increment_fen"]
                decided = closes + timedelta(days=1, hours=rng.randint(0, 3))
                deal = (terms["listing_price_fen"], final, decided)
                deals.append(
                    {
                        "listing_id": listing_id,
                        "kind": outcome,
                        "registration_id": winner["id"],
                        "winner_number": winner["bidder_number"],
                        "listing_fen": terms["listing_price_fen"],
                        "final_fen": final,
                        "rounds": steps,
                        "decided_at": decided,
                        "contract_id": None,
                    }
                )
            fact_rows.append(
                listing_facts.fact_values(
                    listing_id=listing_id,
                    state=state,
                    category=category_code,
                    terms=terms,
                    announced_at=announced,
                    village_id=regions[path].id,
                    village_path=path,
                    ancestors=ancestors[path],
                    deal=deal,
                    buyer_id_type=id_types[regs[-1]["bidder_id"]] if deal else None,
                    now=now,
                )
            )
        for user in users:  # the planted families share a phone
            user["phone"] = phones[user["id"]]
        await _bulk(session, User, users)
        await _bulk(session, Listing, listings)
        await _bulk(session, Registration, registrations)
        await _bulk(session, Deal, deals)
        await listing_facts.upsert_facts(session, fact_rows)
        await _bump_sequences(session, ["users", "listings", "registrations"])
        await ledger.append(
            session,
            subject="demo",
            type="demo.generated",
            actor="cli",
            payload={
                "listings": count,
                "seed": seed,
                "tag": tag,
                "county": COUNTY,
                "synthetic": True,
            },
            at=now,
        )
        summary.update(
            {
                "listings": count,
                "registrations": len(registrations),
                "deals": len(deals),
                "bidders": len(bidders),
                "villages": len(village_paths),
            }
        )
    summary["insert_seconds"] = round(time.perf_counter() - started, 1)
    started = time.perf_counter()
    async with db.read() as session:
        settings = await exchange_settings.load(session)
        found = await scan.detect(session, settings, now)
    async with db.write() as session:
        summary["warnings"] = await scan.store(session, found.findings, now)
    summary["warnings_seconds"] = round(time.perf_counter() - started, 1)
    return summary


async def generate(config: Config, count: int, *, seed: int) -> dict[str, Any]:
    db = Database(config.database_url)
    now = SystemClock().now()
    try:
        summary = await populate(db, count, seed=seed, now=now)
        signer = keys.load_signer(config.data_dir, config.secret_key)
        summary["log_size"] = await sequencer.run(
            db, lambda: signer, lambda: datetime.now(UTC), wait=True, checkpoint="interval"
        )
    finally:
        await db.dispose()
    return summary
