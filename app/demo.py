"""`ruralx run --demo`: the reference case's village, one user per role and its listing.

Passwords are random, printed once at first seeding and kept in DATA_DIR/demo-credentials.txt
(readable by the owner only) so a newcomer can find them again.
"""

from __future__ import annotations

import os
import secrets
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import select

from core import settings as exchange_settings
from core.accounts import Actor, NewUser, Passwords, User, add_user, region_of
from core.clock import SystemClock, local_date
from core.config import Config
from core.db import Database
from core.ids import resident_id_check_char
from listings import service
from listings.documents import DocumentStore, checked_file
from listings.schemas import AnnounceBody, ListingCreate, Resolution, ReviewBody, Terms

XINGTIAN = "福建省/泉州市/泉州台商投资区/洛阳镇/杏田村"
REFERENCE_TERMS = Terms(
    listing_price_fen=1_200_000,
    price_unit="per_year",
    term_years=10,
    payment="annual",
    increment_fen=24_000,
    max_steps=10,
    deposit_fen=200_000,
)


#: Registration on the demo listing stays open this long after the first start.
DEMO_REGISTRATION = timedelta(minutes=30)
DEMO_RULES = {
    "notice_period_working_days": 0,
    "qualification_window_minutes": 0,
    "free_bidding_minutes": 2,
    "countdown_seconds": 60,
    # Straight from the hammer to signing; the result publicity of a real exchange is 5 days.
    "result_publicity_working_days": 0,
}


def demo_resolution(today: date) -> Resolution:
    """A representatives' meeting three weeks before the demo starts, and its week of publicity."""
    meeting = today - timedelta(days=21)
    return Resolution(
        meeting_kind="representatives_meeting",
        meeting_date=meeting,
        entitled=35,
        present=31,
        votes_for=29,
        votes_against=1,
        abstentions=1,
        publicity_start=meeting + timedelta(days=1),
        publicity_end=meeting + timedelta(days=7),
    )


def demo_pdf(text: str) -> bytes:
    """A one-page PDF saying `text` (ASCII), standing in for the scanned resolution."""
    stream = f"BT /F1 14 Tf 72 760 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def _demo_id(serial: int) -> str:
    first17 = f"35052119850101{serial:03d}"
    return first17 + resident_id_check_char(first17)


DEMO_USERS = [
    ("xingtian", "village", "杏田村经办人", XINGTIAN, None, None),
    ("reviewer", "reviewer", "交易中心审核员", None, None, None),
    ("regulator", "regulator", "农经站监管员", None, None, None),
    ("admin", "admin", "系统管理员", None, None, None),
    ("13800000001", "bidder", "竞买人甲", None, _demo_id(11), "13800000001"),
    ("13800000002", "bidder", "竞买人乙", None, _demo_id(12), "13800000002"),
]


async def seed(config: Config) -> None:
    db = Database(config.database_url)
    clock = SystemClock()
    passwords = Passwords(time_cost=config.argon2_time_cost, memory_kib=config.argon2_memory_kib)
    try:
        async with db.write() as session:
            if await session.scalar(select(User.id).where(User.username == "xingtian")):
                print(f"演示数据已存在；账号密码见 {_credentials_path(config)}")
                return
            now = clock.now()
            lines = []
            users: dict[str, User] = {}
            for username, role, name, region, id_number, phone in DEMO_USERS:
                password = secrets.token_urlsafe(9)
                users[username] = await add_user(
                    session,
                    NewUser(
                        username=username,
                        role=role,
                        password=password,
                        display_name=name,
                        region_path=region,
                        id_type="resident_id" if id_number else None,
                        id_number=id_number,
                        phone=phone,
                    ),
                    actor="demo",
                    now=now,
                    passwords=passwords,
                )
                lines.append(f"{role:<10} {username:<14} {password}")
            # Demo rules a newcomer can walk in one sitting: no notice period, a short free
            # phase and countdown. A real exchange sets its own (PUT /api/v1/settings).
            settings = await exchange_settings.update(session, DEMO_RULES, actor="demo", now=now)
            village = Actor(users["xingtian"], await region_of(session, users["xingtian"]))
            reviewer = Actor(users["reviewer"], None)
            listing = await service.create(
                session,
                village,
                ListingCreate(
                    title="杏田村杏秀路口水泥地面公开招租",
                    category="collective_operating_assets",
                    location="洛阳镇杏田村杏秀路口",
                    area="600",
                    area_unit="square_meter",
                    description="水泥硬化地面，可用于停车、仓储等合法用途。",
                    terms=REFERENCE_TERMS,
                    resolution=demo_resolution(local_date(now)),
                ),
                settings,
                now,
            )
            await service.add_document(
                session,
                village,
                listing.id,
                kind="village_resolution",
                file=checked_file(
                    demo_pdf("Demo: village representatives' meeting resolution (sample)"),
                    "村民代表会议决议（演示）.pdf",
                    "application/pdf",
                ),
                store=DocumentStore(config.data_dir),
                now=now,
            )
            await service.submit(session, village, listing.id, now)
            await service.review(
                session, reviewer, listing.id, ReviewBody(decision="accept", reason="材料齐全"), now
            )
            closes = now + DEMO_REGISTRATION
            await service.announce(
                session,
                reviewer,
                listing.id,
                AnnounceBody(
                    registration_closes_at=closes,
                    auction_starts_at=closes + timedelta(minutes=2),
                ),
                settings,
                now,
            )
        _announce_credentials(config, lines)
    finally:
        await db.dispose()


def _credentials_path(config: Config) -> Path:
    return Path(config.data_dir) / "demo-credentials.txt"


def _announce_credentials(config: Config, lines: list[str]) -> None:
    path = _credentials_path(config)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "角色       用户名          密码\n" + "\n".join(lines) + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    print(f"\n演示账号（仅显示一次，另存于 {path}）：\n{text}")
    print(
        "演示挂牌“杏田村杏秀路口水泥地面公开招租”报名 30 分钟后截止，随后 2 分钟开始竞价。\n"
        "竞买人登录后报名，审核员在“审核”页面手工确认保证金并审核资格，即可进入竞价页。"
    )
