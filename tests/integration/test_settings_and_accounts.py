"""Exchange settings (admin, ledgered, validated), bidder sign-up, and `ruralx user add`."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from app.main import build_services, create_app
from core import ledger
from core.accounts import Region, User
from core.clock import FakeClock
from core.config import Config
from core.ids import resident_id_check_char, uscc_check_char
from core.ledger import LedgerEntry
from tests.integration.conftest import START, Exchange
from tests.support import (
    PASSWORD,
    XINGTIAN,
    Http,
    entrust_review_announce,
    phone,
    resident_id,
)

PROBLEM = "application/problem+json"
SETTINGS = "/api/v1/settings"
BIDDERS = "/api/v1/bidders"


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].split(";")[0].strip() == PROBLEM, response.headers
    body = response.json()
    assert body["code"] == code, body
    return body


async def size(exchange: Exchange) -> tuple[int, int]:
    """(users, ledger entries)."""
    async with exchange.services.db.read() as session:
        return (
            await session.scalar(select(func.count()).select_from(User)) or 0,
            await session.scalar(select(func.count()).select_from(LedgerEntry)) or 0,
        )


# --- settings --------------------------------------------------------------------------------


async def test_admin_reads_the_defaults(exchange: Exchange) -> None:
    admin = await exchange.http.login("admin")
    settings = await admin.ok("GET", SETTINGS)
    assert settings["notice_period_working_days"] == 7
    assert settings["single_bidder_policy"] == "agreement"
    assert settings["min_qualified_bidders"] == 2
    assert settings["countdown_seconds"] == 300
    assert settings["max_term_years"]["collective_construction_land"] == 20


async def test_admin_updates_part_of_the_settings_and_it_is_ledgered(exchange: Exchange) -> None:
    admin = await exchange.http.login("admin")
    me = await admin.ok("GET", "/api/v1/auth/me")
    before = await admin.ok("GET", SETTINGS)
    patch = {"notice_period_working_days": 0, "free_bidding_minutes": 0, "countdown_seconds": 8}
    after = await admin.ok("PUT", SETTINGS, patch)
    assert after == {**before, **patch}
    assert await admin.ok("GET", SETTINGS) == after
    await admin.ok("PUT", SETTINGS, {"single_bidder_policy": "extend", "holidays": ["2027-01-01"]})
    final = await admin.ok("GET", SETTINGS)
    assert final["countdown_seconds"] == 8  # the earlier change survives a later partial one
    assert final["holidays"] == ["2027-01-01"]
    async with exchange.services.db.read() as session:
        chain = await ledger.entries_of(session, "settings")
        assert await ledger.verify_subject(session, "settings") is None
    assert [e.type for e in chain] == ["settings.updated", "settings.updated"]
    assert chain[0].payload == {"changed": patch}
    assert chain[1].payload == {
        "changed": {"single_bidder_policy": "extend", "holidays": ["2027-01-01"]}
    }
    assert {e.actor for e in chain} == {f"user:{me['id']}"}
    # other staff read the rules too
    reviewer = await exchange.http.login("reviewer")
    assert (await reviewer.ok("GET", SETTINGS))["countdown_seconds"] == 8


INVALID: list[tuple[str, Any]] = [
    ("negative notice", {"notice_period_working_days": -1}),
    ("notice too long", {"notice_period_working_days": 61}),
    ("countdown too short", {"countdown_seconds": 1}),
    ("unknown policy", {"single_bidder_policy": "lottery"}),
    ("unknown key", {"notice_period_days": 7}),
    ("string number", {"notice_period_working_days": "7"}),
    ("float number", {"notice_period_working_days": 7.0}),
    ("bool number", {"notice_period_working_days": True}),
    ("zero term limit", {"max_term_years": {"*": 0}}),
    ("bad date", {"holidays": ["2027-02-30"]}),
    ("holiday and makeup day", {"holidays": ["2027-01-02"], "makeup_workdays": ["2027-01-02"]}),
    ("makeup on a weekday", {"makeup_workdays": ["2027-01-04"]}),
    ("bad deposit rule", {"deposit_rule": {"kind": "half"}}),
    ("minimum of zero bidders", {"min_qualified_bidders": 0}),
]


async def test_invalid_settings_are_refused_and_nothing_changes(exchange: Exchange) -> None:
    admin = await exchange.http.login("admin")
    settings = await admin.ok("GET", SETTINGS)
    before = await size(exchange)
    for case, patch in INVALID:
        response = await admin.call("PUT", SETTINGS, patch)
        assert response.status_code == 400, (case, response.text)
        assert_problem(response, 400, "settings.invalid")
    for raw in (b"[]", b"7", b"{", b'"x"'):
        response = await admin.call(
            "PUT", SETTINGS, content=raw, headers={"Content-Type": "application/json"}
        )
        assert_problem(response, 400, "request.invalid")
    assert await admin.ok("GET", SETTINGS) == settings
    assert await size(exchange) == before


async def test_an_accepted_calendar_does_not_break_announcements(exchange: Exchange) -> None:
    """Settings that got in must be usable: the next announcement still works."""
    admin = await exchange.http.login("admin")
    await admin.ok("PUT", SETTINGS, {"holidays": ["2026-12-04"], "makeup_workdays": ["2026-12-05"]})
    listing_id, _, _ = await entrust_review_announce(
        exchange.http,
        exchange.clock.now(),
        closes_in=timedelta(days=10),
        starts_in=timedelta(days=11),
    )
    assert listing_id


async def test_only_admins_change_settings(exchange: Exchange) -> None:
    before = await size(exchange)
    for username in ("reviewer", "regulator", "xingtian"):
        http = await exchange.http.login(username)
        assert_problem(
            await http.call("PUT", SETTINGS, {"countdown_seconds": 8}), 403, "auth.forbidden"
        )
    village = await exchange.http.login("xingtian")
    assert_problem(await village.call("GET", SETTINGS), 403, "auth.forbidden")
    assert_problem(
        await exchange.http.call("PUT", SETTINGS, {"countdown_seconds": 8}), 401, "auth.required"
    )
    assert_problem(await exchange.http.call("GET", SETTINGS), 401, "auth.required")
    admin = await exchange.http.login("admin")
    assert (await admin.ok("GET", SETTINGS))["countdown_seconds"] == 300
    assert (await size(exchange))[0] == before[0]
    async with exchange.services.db.read() as session:
        assert await ledger.entries_of(session, "settings") == []


# --- bidder sign-up --------------------------------------------------------------------------


def sign_up(**overrides: Any) -> dict[str, Any]:
    return {
        "name": "张三",
        "id_type": "resident_id",
        "id_number": resident_id(),
        "phone": phone(),
        "password": PASSWORD,
        **overrides,
    }


def with_check(first17: str) -> str:
    return first17 + resident_id_check_char(first17)


def wrong_check(first17: str) -> str:
    right = resident_id_check_char(first17)
    return first17 + ("0" if right != "0" else "1")


def uscc(first17: str = "91350521MA2Y00000") -> str:
    return first17 + uscc_check_char(first17)


async def test_a_bidder_signs_up_and_logs_in_with_the_phone(exchange: Exchange) -> None:
    body = sign_up()
    created = await exchange.http.ok("POST", BIDDERS, body, status=201)
    assert created["id"] and created["role"] == "bidder"
    assert created["username"] == body["phone"]
    assert created["id_number"] != body["id_number"] and "*" in created["id_number"]
    assert created["phone"] != body["phone"] and "*" in created["phone"]
    assert "password" not in created and "password_hash" not in created
    bidder = await exchange.http.login(body["phone"])
    me = await bidder.ok("GET", "/api/v1/auth/me")
    assert me["id"] == created["id"] and me["region"] is None
    async with exchange.services.db.read() as session:
        user = await session.get(User, created["id"])
        assert user is not None and user.id_number == body["id_number"]
        assert user.password_hash != PASSWORD
        chain = await ledger.entries_of(session, f"user:{created['id']}")
    assert [e.type for e in chain] == ["user.created", "user.logged_in"]


async def test_organisations_sign_up_with_a_uscc(exchange: Exchange) -> None:
    created = await exchange.http.ok(
        "POST",
        BIDDERS,
        sign_up(name="泉州市某某农业专业合作社", id_type="uscc", id_number=uscc()),
        status=201,
    )
    assert created["id_type"] == "uscc"


async def test_a_lowercase_x_is_normalised(exchange: Exchange) -> None:
    first17 = next(
        f
        for f in (f"35052119800101{n:03d}" for n in range(1000))
        if resident_id_check_char(f) == "X"
    )
    created = await exchange.http.ok("POST", BIDDERS, sign_up(id_number=first17 + "x"), status=201)
    async with exchange.services.db.read() as session:
        user = await session.get(User, created["id"])
        assert user is not None and user.id_number == first17 + "X"


async def test_id_numbers_are_checked(exchange: Exchange) -> None:
    before = await size(exchange)
    first17 = "35052119800101123"
    cases = [
        (wrong_check(first17), "resident_id", "id.checksum"),
        (first17 + "Y", "resident_id", "id.format"),
        ("3505211980010112３X"[:18], "resident_id", "id.format"),
        (with_check("35052119801301123"), "resident_id", "id.birthdate"),
        (with_check("35052118991231123"), "resident_id", "id.birthdate"),
        (with_check("05052119800101123"), "resident_id", "id.region"),
        (uscc()[:-1] + ("0" if uscc()[-1] != "0" else "1"), "uscc", "id.checksum"),
        ("91350521MA2Y0000OI", "uscc", "id.format"),
    ]
    for number, id_type, code in cases:
        response = await exchange.http.call(
            "POST", BIDDERS, sign_up(id_type=id_type, id_number=number)
        )
        assert response.status_code == 400, (number, response.text)
        assert_problem(response, 400, code)
    assert await size(exchange) == before


async def test_malformed_sign_ups_are_refused(exchange: Exchange) -> None:
    before = await size(exchange)
    cases: list[tuple[str, dict[str, Any]]] = [
        ("phone with 2nd digit 2", sign_up(phone="12900000000")),
        ("phone with 10 digits", sign_up(phone="1390000000")),
        ("phone with 12 digits", sign_up(phone="139000000001")),
        ("phone with a country code", sign_up(phone="+8613900000000")),
        ("phone with a newline", sign_up(phone="13900000000\n")),
        ("phone with full-width digits", sign_up(phone="139" + "０" * 8)),
        ("phone with Arabic-Indic digits", sign_up(phone="139" + "٠" * 8)),
        ("phone with spaces", sign_up(phone="139 0000 0000")),
        ("short password", sign_up(password="short")),
        ("empty name", sign_up(name="")),
        ("unknown id type", sign_up(id_type="passport")),
        ("id too short", sign_up(id_number="35052119800101")),
        ("unknown field", sign_up(role="admin")),
        ("missing phone", {k: v for k, v in sign_up().items() if k != "phone"}),
    ]
    for case, body in cases:
        response = await exchange.http.call("POST", BIDDERS, body)
        assert response.status_code == 400, (case, response.text)
        assert_problem(response, 400, "request.invalid")
    assert await size(exchange) == before


async def test_a_phone_signs_up_once(exchange: Exchange) -> None:
    body = sign_up()
    await exchange.http.ok("POST", BIDDERS, body, status=201)
    before = await size(exchange)
    again = await exchange.http.call("POST", BIDDERS, sign_up(phone=body["phone"], name="李四"))
    assert_problem(again, 409, "user.exists")
    # a staff name cannot be taken either way: usernames are phones for bidders
    assert await size(exchange) == before
    # concurrent sign-ups with the same phone: exactly one wins
    mobile = phone()
    answers = await asyncio.gather(
        *[exchange.http.call("POST", BIDDERS, sign_up(phone=mobile)) for _ in range(3)]
    )
    assert sorted(a.status_code for a in answers) == [201, 409, 409], [a.text for a in answers]
    for answer in answers:
        if answer.status_code == 409:
            assert_problem(answer, 409, "user.exists")


async def test_a_bidder_cannot_use_staff_endpoints(exchange: Exchange) -> None:
    body = sign_up()
    await exchange.http.ok("POST", BIDDERS, body, status=201)
    bidder = await exchange.http.login(body["phone"])
    assert_problem(await bidder.call("GET", SETTINGS), 403, "auth.forbidden")
    assert_problem(await bidder.call("POST", "/api/v1/listings", {}), 403, "auth.forbidden")


# --- ruralx user add -------------------------------------------------------------------------


def ruralx(
    args: list[str], env: dict[str, str], stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    executable = Path(sys.executable).with_name("ruralx")
    return subprocess.run(
        [str(executable), *args],
        input=stdin,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[2],
        check=False,
    )


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RURALX_")}
    env.update(
        RURALX_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}",
        RURALX_DATA_DIR=str(tmp_path / "data"),
        PYTHONUTF8="1",
    )
    return env


async def test_ruralx_user_add_creates_the_region_and_the_user_can_log_in(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    migrate = await asyncio.to_thread(ruralx, ["migrate"], cli_env)
    assert migrate.returncode == 0, migrate.stderr
    added = await asyncio.to_thread(
        ruralx,
        [
            "user",
            "add",
            "杏田村经办人",
            "--role",
            "village",
            "--region",
            XINGTIAN,
            "--password-stdin",
        ],
        cli_env,
        PASSWORD + "\n",
    )
    assert added.returncode == 0, added.stderr
    staff = await asyncio.to_thread(
        ruralx,
        [
            "user",
            "add",
            "county-reviewer",
            "--role",
            "reviewer",
            "--region",
            "福建省/泉州市/泉州台商投资区",
            "--password-stdin",
        ],
        cli_env,
        PASSWORD + "\n",
    )
    assert staff.returncode == 0, staff.stderr
    # refusals leave with a code on stderr and exit status 2
    refusals = [
        (
            [
                "user",
                "add",
                "杏田村经办人",
                "--role",
                "village",
                "--region",
                XINGTIAN,
                "--password-stdin",
            ],
            PASSWORD + "\n",
            "user.exists",
        ),
        (
            ["user", "add", "no-region", "--role", "village", "--password-stdin"],
            PASSWORD + "\n",
            "user.region_required",
        ),
        (
            [
                "user",
                "add",
                "town-official",
                "--role",
                "village",
                "--region",
                "福建省/泉州市/泉州台商投资区/洛阳镇",
                "--password-stdin",
            ],
            PASSWORD + "\n",
            "user.region_not_village",
        ),
        (
            ["user", "add", "short", "--role", "admin", "--password-stdin"],
            "short\n",
            "password.too_short",
        ),
        (
            [
                "user",
                "add",
                "deep",
                "--role",
                "reviewer",
                "--region",
                "a/b/c/d/e/f",
                "--password-stdin",
            ],
            PASSWORD + "\n",
            "region.path",
        ),
    ]
    # Independent of each other: one process each, all at once.
    *answers, unknown_role = await asyncio.gather(
        *(asyncio.to_thread(ruralx, args, cli_env, stdin) for args, stdin, _ in refusals),
        asyncio.to_thread(
            ruralx, ["user", "add", "x", "--role", "king", "--password-stdin"], cli_env, PASSWORD
        ),
    )
    for (args, _, code), refused in zip(refusals, answers, strict=True):
        assert refused.returncode == 2, (args, refused.stdout, refused.stderr)
        assert code in refused.stderr, (args, refused.stderr)
    assert unknown_role.returncode != 0

    config = Config(
        database_url=cli_env["RURALX_DATABASE_URL"],
        data_dir=str(tmp_path / "d"),
        secret_key="cli-test",
        login_free_failures=1000,
    )
    services = build_services(config, FakeClock(START))
    app = create_app(services=services, run_scheduler=False)
    try:
        async with services.db.read() as session:
            regions = list(await session.scalars(select(Region).order_by(Region.id)))
            users = list(await session.scalars(select(User).order_by(User.id)))
        assert [(r.path, r.level) for r in regions] == [
            ("福建省", "province"),
            ("福建省/泉州市", "city"),
            ("福建省/泉州市/泉州台商投资区", "county"),
            ("福建省/泉州市/泉州台商投资区/洛阳镇", "town"),
            (XINGTIAN, "village"),
        ]
        parents = {r.id: r.parent_id for r in regions}
        assert [parents[r.id] for r in regions] == [None] + [r.id for r in regions[:-1]]
        assert [u.username for u in users] == ["杏田村经办人", "county-reviewer"]
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://cli.local") as client:
            http = Http(client)
            village = await http.login("杏田村经办人")
            me = await village.ok("GET", "/api/v1/auth/me")
            assert (me["role"], me["region"]) == ("village", XINGTIAN)
            reviewer = await http.login("county-reviewer")
            assert (await reviewer.ok("GET", "/api/v1/auth/me"))["region"] == (
                "福建省/泉州市/泉州台商投资区"
            )
            wrong = await http.call(
                "POST",
                "/api/v1/auth/login",
                {"username": "杏田村经办人", "password": PASSWORD + "x"},
            )
            assert_problem(wrong, 401, "auth.invalid_credentials")
    finally:
        await services.db.dispose()


async def test_concurrent_partial_updates_both_take_effect(exchange: Exchange) -> None:
    """Two admins changing different rules at once: neither change is lost (first write too)."""
    admin = await exchange.http.login("admin")
    for round_ in range(2):  # the very first update creates the row; the second updates it
        patches = [
            {"countdown_seconds": 10 + round_},
            {"notice_period_working_days": 3 + round_},
            {"free_bidding_minutes": 20 + round_},
            {"max_steps": 5 + round_},
        ]
        answers = await asyncio.gather(*[admin.call("PUT", SETTINGS, p) for p in patches])
        assert [a.status_code for a in answers] == [200] * 4, [a.text for a in answers]
        final = await admin.ok("GET", SETTINGS)
        for patch in patches:
            for key, value in patch.items():
                assert final[key] == value, (round_, key, final)
    async with exchange.services.db.read() as session:
        assert len(await ledger.entries_of(session, "settings")) == 8
        assert await ledger.verify_subject(session, "settings") is None
