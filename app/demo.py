"""`ruralx run --demo`: the reference case's village, one user per role and its listing, and
on every start a listing whose live auction a newcomer can watch within five minutes.

The first start creates the users (random passwords, printed and kept in
DATA_DIR/demo-credentials.txt, readable by the owner only), sets the demo's short rules and
announces the reference listing, its registration open for 30 minutes. Every start (the first
included) announces a quick listing whose registration closes 3 minutes later, with the two
demo bidders registered and their deposits paid by the bank's callback, so that the demo
reviewer qualifies both with one click and the auction starts a minute or so after the close.
Everything goes through the services and the rules a real exchange uses: a rule that forbids
the quick listing (an administrator lengthened the notice period) leaves it out and says why.
"""

from __future__ import annotations

import os
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core import settings as exchange_settings
from core.accounts import Actor, NewUser, Passwords, User, add_user, region_of
from core.clock import CHINA_TZ, Clock, local_date
from core.config import Config
from core.db import Database
from core.errors import Conflict, DomainError, NotFound
from core.ids import resident_id_check_char
from listings import payments, registration, service
from listings.documents import DocumentStore, checked_file
from listings.models import Listing
from listings.schemas import (
    AnnounceBody,
    ListingCreate,
    PaymentCallback,
    Resolution,
    ReviewBody,
    Terms,
)

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


#: Registration on the reference listing stays open this long after the first start.
DEMO_REGISTRATION = timedelta(minutes=30)
DEMO_RULES = {
    "notice_period_working_days": 0,
    "qualification_window_minutes": 0,
    "free_bidding_minutes": 2,
    "countdown_seconds": 60,
    # Straight from the hammer to signing; the result publicity of a real exchange is 5 days.
    "result_publicity_working_days": 0,
}

#: Registration on the quick listing closes this long after the server starts.
QUICK_REGISTRATION = timedelta(minutes=3)
#: The quick listing's auction: two minutes of free bidding, then a countdown of half a
#: minute that every bid restarts, so it ends soon after the bids stop.
QUICK_TERMS = msgspec.structs.replace(REFERENCE_TERMS, free_bidding_minutes=2, countdown_seconds=30)
QUICK_TITLE = "杏田村村委会旁闲置仓库公开招租（五分钟演示）"
#: The demo bidders registered for every quick listing (their usernames are their phones).
DEMO_BIDDERS = ("13800000001", "13800000002")


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


def quick_timetable(now: datetime) -> tuple[datetime, datetime]:
    """Registration closes QUICK_REGISTRATION after `now`; the auction starts on the first
    whole minute at least half a minute after that (so the guide can say 16:04), within five
    minutes of `now`."""
    closes = now + QUICK_REGISTRATION
    earliest = closes + timedelta(seconds=30)
    starts = earliest.replace(second=0, microsecond=0)
    if starts < earliest:
        starts += timedelta(minutes=1)
    return closes, starts


@dataclass(frozen=True, slots=True)
class QuickListing:
    id: int
    closes: datetime
    starts: datetime


@dataclass(frozen=True, slots=True)
class Demo:
    """What `--demo` did on this start, for the guide it prints."""

    credentials: Path
    #: username → password as first issued (from the credentials file on later starts;
    #: empty if that file is gone).
    passwords: dict[str, str]
    first_start: bool
    quick: QuickListing | None
    #: Why the quick listing was not announced (a rule forbade it), in Chinese.
    refused: str | None = None


async def seed(config: Config, clock: Clock) -> Demo:
    """Seed on the first start, then announce this start's quick listing."""
    db = Database(config.database_url)
    passwords = Passwords(time_cost=config.argon2_time_cost, memory_kib=config.argon2_memory_kib)
    try:
        issued = await _first_start(db, config, clock, passwords)
        if issued is not None:
            _keep_credentials(config, issued)
        quick, refused = None, None
        try:
            quick = await quick_listing(db, config, clock)
        except DomainError as exc:
            refused = exc.message
            if exc.code.startswith("announce."):
                refused += (
                    "。交易规则可能已被修改：管理员可在“交易规则”页把“公告期（工作日）”设为 0、"
                    "“资格确认期（报名截止至竞价开始，分钟）”设为 0，然后重新启动"
                )
    finally:
        await db.dispose()
    return Demo(
        credentials=credentials_path(config),
        passwords={name: password for _, name, password in issued}
        if issued is not None
        else _read_credentials(config),
        first_start=issued is not None,
        quick=quick,
        refused=refused,
    )


async def _first_start(
    db: Database, config: Config, clock: Clock, passwords: Passwords
) -> list[tuple[str, str, str]] | None:
    """The users, the demo's rules and the reference listing, once; (role, username,
    password) of each user, or None if they were seeded before."""
    async with db.write() as session:
        if await session.scalar(select(User.id).where(User.username == "xingtian")):
            return None
        now = clock.now()
        issued = []
        for username, role, name, region, id_number, phone in DEMO_USERS:
            password = secrets.token_urlsafe(9)
            await add_user(
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
            issued.append((role, username, password))
        # Demo rules a newcomer can walk in one sitting: no notice period, a short free
        # phase and countdown. A real exchange sets its own (PUT /api/v1/settings).
        settings = await exchange_settings.update(session, DEMO_RULES, actor="demo", now=now)
        closes = now + DEMO_REGISTRATION
        await _entrust_and_announce(
            session,
            config,
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
            AnnounceBody(
                registration_closes_at=closes, auction_starts_at=closes + timedelta(minutes=2)
            ),
            settings,
            now,
        )
        return issued


async def quick_listing(db: Database, config: Config, clock: Clock) -> QuickListing:
    """This start's quick listing: announced with registration closing QUICK_REGISTRATION
    from now, the demo bidders registered, their deposits paid through the bank's callback
    (each bank transaction applied once, in the ledger like any other)."""
    now = clock.now()
    closes, starts = quick_timetable(now)
    async with db.write() as session:
        listing = await _entrust_and_announce(
            session,
            config,
            ListingCreate(
                title=QUICK_TITLE,
                category="collective_operating_assets",
                location="洛阳镇杏田村村委会旁",
                area="300",
                area_unit="square_meter",
                description="砖混结构仓库一间，可用于仓储等合法用途。本项目供演示网络竞价。",
                terms=QUICK_TERMS,
                resolution=demo_resolution(local_date(now)),
            ),
            AnnounceBody(registration_closes_at=closes, auction_starts_at=starts),
            await exchange_settings.load(session),
            now,
        )
        applied = [
            await registration.apply(session, await _actor(session, name), listing.id, now)
            for name in DEMO_BIDDERS
        ]
        due = [(r.id, r.payment_reference, r.deposit_fen) for r in applied]
    for registration_id, reference, amount in due:
        answer = await payments.receive_callback(
            db,
            PaymentCallback(
                reference=reference,
                amount_fen=amount,
                bank_txn_id=f"DEMO-{registration_id}",
                paid_at=now,
            ),
            now=clock.now(),
            secret=config.secret_key,
        )
        if answer.status != 200:
            detail = answer.body.get("detail")
            raise Conflict(str(answer.body.get("code")), f"演示竞买人的保证金未能入账：{detail}")
    return QuickListing(listing.id, closes, starts)


async def _actor(session: AsyncSession, username: str) -> Actor:
    user = await session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound("user.not_found", f"演示账号 {username} 不存在")
    return Actor(user, await region_of(session, user))


async def _entrust_and_announce(
    session: AsyncSession,
    config: Config,
    entrustment: ListingCreate,
    timetable: AnnounceBody,
    settings: exchange_settings.ExchangeSettings,
    now: datetime,
) -> Listing:
    """The village entrusts (with its resolution's document), the reviewer accepts and
    announces: the services and rule checks of every listing."""
    village, reviewer = await _actor(session, "xingtian"), await _actor(session, "reviewer")
    listing = await service.create(session, village, entrustment, settings, now)
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
    return await service.announce(session, reviewer, listing.id, timetable, settings, now)


def credentials_path(config: Config) -> Path:
    return Path(config.data_dir) / "demo-credentials.txt"


_HEADER = "角色       用户名          密码"


def _keep_credentials(config: Config, issued: list[tuple[str, str, str]]) -> None:
    path = credentials_path(config)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"{role:<10} {username:<14} {password}" for role, username, password in issued]
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(_HEADER + "\n" + "\n".join(lines) + "\n")


def _read_credentials(config: Config) -> dict[str, str]:
    try:
        text = credentials_path(config).read_text(encoding="utf-8")
    except OSError:
        return {}
    rows = (line.split() for line in text.splitlines()[1:])
    return {row[1]: row[2] for row in rows if len(row) == 3}


# ----- the guide printed at start -----------------------------------------------------------

#: The accounts in the order the guide uses them.
GUIDE_ACCOUNTS = ("reviewer", *DEMO_BIDDERS, "xingtian", "regulator", "admin")
_NAMES = {username: name for username, _, name, *_ in DEMO_USERS}


def _pad(text: str, width: int) -> str:
    """`text` padded to `width` terminal columns (a Chinese character takes two)."""
    shown = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
    return text + " " * max(width - shown, 1)


def _clock_time(moment: datetime, seconds: bool = False) -> str:
    return moment.astimezone(CHINA_TZ).strftime("%H:%M:%S" if seconds else "%H:%M")


def guide(demo: Demo, base_url: str) -> str:
    """How to see a live auction within five minutes: the address, the accounts, the steps,
    in plain Chinese, times in Beijing time."""
    rule = "=" * 64
    out = [rule, "五分钟看一场网络竞价（时间均为北京时间）", rule, f"网址：{base_url}", ""]
    issued = "本次启动时生成" if demo.first_start else "首次启动时生成，改过的请用新密码"
    out.append(f"演示账号（密码为{issued}；另存于 {demo.credentials}）：")
    out.append("  " + _pad("角色", 16) + _pad("用户名", 15) + "密码")
    for username in GUIDE_ACCOUNTS:
        password = demo.passwords.get(username, "（见上面的文件）")
        out.append("  " + _pad(_NAMES[username], 16) + _pad(username, 15) + password)
    out.append("")
    quick = demo.quick
    if quick is None:
        out.append(f"本次未能发布五分钟演示项目：{(demo.refused or '').rstrip('。')}。")
    else:
        closes, starts = _clock_time(quick.closes, seconds=True), _clock_time(quick.starts)
        bidders = "、".join(DEMO_BIDDERS)
        out += [
            f"演示项目“{QUICK_TITLE}”已发布，竞买人甲、乙已报名并缴纳保证金。",
            f"  1. {closes} 报名截止前，用审核员账号 reviewer 登录，打开",
            f"     {base_url}/review/listings/{quick.id}",
            "     点“确认全部已缴款竞买人资格”，两位竞买人即取得竞买号。",
            "     （不点也可以：报名截止时，尚未审核的已缴款报名由系统自动确认。）",
            f"  2. 在两个浏览器里（或一个普通窗口、一个无痕窗口）分别用 {bidders} 登录，打开",
            f"     {base_url}/auctions/{quick.id}",
            f"  3. {starts} 竞价开始，两人轮流出价：前 {QUICK_TERMS.free_bidding_minutes} 分钟"
            f"自由出价，之后倒计时 {QUICK_TERMS.countdown_seconds} 秒，",
            f"     每次出价重新计时，{QUICK_TERMS.countdown_seconds} 秒内无人加价即成交。",
        ]
    if demo.first_start:
        out += [
            "",
            "另一个演示项目“杏田村杏秀路口水泥地面公开招租”报名开放 30 分钟，",
            "可用竞买人账号报名，再由审核员确认保证金到账、审核资格，完整走一遍。",
        ]
    out += [
        "",
        "每次用演示模式启动都会新发布一个五分钟演示项目；之前的演示项目照常按规则办理",
        "（服务停止期间错过的竞价，无人出价即流拍）。",
        "使用说明见 README.md，各页面的说明见 docs/ui.md。",
        rule,
    ]
    return "\n".join(out)
