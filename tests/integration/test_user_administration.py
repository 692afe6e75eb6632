"""The administrator's users and regions (core.accounts' administration, policy and regions,
the /admin pages): accounts created with a temporary password their owner replaces at the
first sign-in, deactivation and resets with their ledger entries, the rules that keep an
administrator in charge, the refusals of everyone else, and the region tree kept by hand."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select

from core import accounts
from core.accounts import Actor, NewStaff, NewUser, Region, User
from core.errors import Conflict, PermissionDenied
from core.ledger import LedgerEntry
from core.sessions import csrf_token
from oversight.models import ListingFact
from tests.integration.conftest import Exchange
from tests.integration.test_dashboard import lease
from tests.integration.test_pages import Browser, browsers, error_of  # noqa: F401
from tests.support import PASSWORD, XINGTIAN

LUOYANG = XINGTIAN.rsplit("/", 1)[0]
OWN_PASSWORD = "my-own-secret-7"


async def actor_of(exchange: Exchange, username: str) -> Actor:
    async with exchange.services.db.read() as session:
        user = await session.scalar(select(User).where(User.username == username))
        assert user is not None
        return Actor(user, await accounts.region_of(session, user))


async def entries(exchange: Exchange, subject: str) -> list[LedgerEntry]:
    async with exchange.services.db.read() as session:
        return list(
            await session.scalars(
                select(LedgerEntry)
                .where(LedgerEntry.subject == subject)
                .order_by(LedgerEntry.subject_seq)
            )
        )


async def ledger_size(exchange: Exchange) -> int:
    async with exchange.services.db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(LedgerEntry)) or 0)


async def region_id(exchange: Exchange, path: str) -> int:
    async with exchange.services.db.read() as session:
        found = await session.scalar(select(Region.id).where(Region.path == path))
        assert found is not None
        return found


def issued(html: str) -> str:
    match = re.search(r'data-testid="temporary-password">([^<]+)<', html)
    assert match, "no temporary password on the page"
    return match.group(1)


async def first_sign_in(exchange: Exchange, username: str, temporary: str, new: str) -> Browser:
    """Sign in on the login page with a temporary password and set one's own."""
    person = Browser(exchange)
    html = await person.get("/login")
    token = re.search(r'name="_form" value="([^"]+)"', html)
    assert token
    asked = await person.post(
        "/login",
        {"_form": token.group(1), "username": username, "password": temporary},
        csrf=False,
        status=200,
    )
    assert "设置新密码" in asked.text and "ruralx_session" not in person.client.cookies
    short = await person.post(
        "/login/new-password",
        {
            "_form": token.group(1),
            "username": username,
            "temporary": temporary,
            "new_password": "short",
            "new_password2": "short",
        },
        csrf=False,
        status=400,
    )
    assert error_of(short.text, "new_password")[0] == "user.password"
    done = await person.post(
        "/login/new-password",
        {
            "_form": token.group(1),
            "username": username,
            "temporary": temporary,
            "new_password": new,
            "new_password2": new,
        },
        csrf=False,
    )
    assert "ruralx_session" in person.client.cookies
    assert "新密码已设置" in await person.get(done.headers["location"])
    return person


async def test_a_reviewer_created_on_the_page_sets_their_own_password(
    exchange: Exchange,
    browsers: Any,  # noqa: F811
) -> None:
    admin = await browsers().login("admin")
    await admin.get("/admin/users/new")
    town = await region_id(exchange, LUOYANG)
    page = await admin.post(
        "/admin/users/new",
        {
            "role": "reviewer",
            "display_name": "陈审核",
            "username": "chen.review",
            "phone": "13905951234",
            "region_id": str(town),
        },
        status=200,
    )
    temporary = issued(page.text)
    assert "账号已创建" in page.text and "临时密码，本人下次登录时须设置新密码" in page.text
    reviewer = await actor_of(exchange, "chen.review")
    assert reviewer.role == "reviewer" and reviewer.region is not None
    assert reviewer.region.path == LUOYANG
    admin_id = (await actor_of(exchange, "admin")).id
    [created] = await entries(exchange, f"user:{reviewer.id}")
    assert (created.type, created.actor) == ("user.created", f"user:{admin_id}")
    assert created.payload["temporary"] is True
    assert temporary not in str(created.payload)

    # The API's sign-in refuses the temporary password (the page asks for a new one).
    refused = await exchange.http.call(
        "POST", "/api/v1/auth/login", {"username": "chen.review", "password": temporary}
    )
    assert refused.status_code == 403
    assert refused.json()["code"] == "auth.password_change_required"
    person = await first_sign_in(exchange, "chen.review", temporary, OWN_PASSWORD)
    try:
        assert (await person.client.get("/review")).status_code == 200
    finally:
        await person.close()
    assert [e.type for e in await entries(exchange, f"user:{reviewer.id}")] == [
        "user.created",
        "user.password_changed",
        "user.logged_in",
    ]
    await exchange.http.login("chen.review", OWN_PASSWORD)
    assert "本人设置" in await admin.get(f"/admin/users/{reviewer.id}")


async def test_the_new_user_form_shows_every_mistake_at_once(
    browsers: Any,  # noqa: F811
) -> None:
    admin = await browsers().login("admin")
    await admin.get("/admin/users/new")
    page = await admin.post(
        "/admin/users/new",
        {"role": "bidder", "display_name": "", "username": "13900000000", "phone": "12345"},
        status=400,
    )
    assert error_of(page.text, "role")[0] == "user.role"
    assert error_of(page.text, "display_name")[0] == "user.display_name"
    assert error_of(page.text, "username")[0] == "user.username_digits"
    assert error_of(page.text, "phone")[0] == "user.phone"
    # A village official needs a village; a taken username is shown at its field.
    await admin.post(
        "/admin/users/new",
        {"role": "village", "display_name": "经办人", "username": "nobody-here"},
        status=400,
    )
    assert error_of(admin.last, "region_id")[0] == "user.region_required"
    await admin.post(
        "/admin/users/new",
        {"role": "reviewer", "display_name": "重名", "username": "xingtian"},
        status=409,
    )
    assert error_of(admin.last, "username")[0] == "user.exists"


async def test_deactivation_ends_the_sessions_and_is_logged(
    exchange: Exchange,
    browsers: Any,  # noqa: F811
) -> None:
    village = await exchange.http.login("xingtian")
    uid = (await village.ok("GET", "/api/v1/auth/me"))["id"]
    admin = await browsers().login("admin")
    await admin.get(f"/admin/users/{uid}")
    missing = await admin.post(f"/admin/users/{uid}/active", {"active": "0"}, status=400)
    assert error_of(missing.text, "reason")[0] == "user.reason_required"
    before = await ledger_size(exchange)
    asked = await admin.post(
        f"/admin/users/{uid}/active", {"active": "0", "reason": "调离岗位"}, status=200
    )
    assert "确定停用" in asked.text and await ledger_size(exchange) == before
    await admin.post(
        f"/admin/users/{uid}/active", {"active": "0", "reason": "调离岗位", "confirm": "1"}
    )
    assert (await village.call("GET", "/api/v1/auth/me")).status_code == 401
    assert "已停用" in await admin.get(f"/admin/users/{uid}?done=user_deactivated")
    await admin.post(f"/admin/users/{uid}/active", {"active": "1", "reason": "返岗"})
    last = (await entries(exchange, f"user:{uid}"))[-2:]
    assert [(e.type, e.payload["reason"]) for e in last] == [
        ("user.deactivated", "调离岗位"),
        ("user.activated", "返岗"),
    ]
    assert last[0].payload["sessions_ended"] == 1
    await exchange.http.login("xingtian")


async def test_a_reset_password_is_temporary_and_shown_once(
    exchange: Exchange,
    browsers: Any,  # noqa: F811
) -> None:
    village = await exchange.http.login("xingtian")
    uid = (await village.ok("GET", "/api/v1/auth/me"))["id"]
    admin = await browsers().login("admin")
    await admin.get(f"/admin/users/{uid}")
    before = await ledger_size(exchange)
    asked = await admin.post(f"/admin/users/{uid}/password", {}, status=200)
    assert "确定重置" in asked.text and await ledger_size(exchange) == before
    done = await admin.post(f"/admin/users/{uid}/password", {"confirm": "1"}, status=200)
    temporary = issued(done.text)
    assert (await village.call("GET", "/api/v1/auth/me")).status_code == 401
    assert issued(done.text) not in await admin.get(f"/admin/users/{uid}")  # once only
    reset = (await entries(exchange, f"user:{uid}"))[-1]
    assert reset.type == "user.password_reset" and reset.payload["temporary"] is True
    old = await exchange.http.call(
        "POST", "/api/v1/auth/login", {"username": "xingtian", "password": PASSWORD}
    )
    assert old.status_code == 401
    person = await first_sign_in(exchange, "xingtian", temporary, OWN_PASSWORD)
    await person.close()
    await exchange.http.login("xingtian", OWN_PASSWORD)
    # The administrator's own account is not reset nor deactivated here.
    own = await admin.get(f"/admin/users/{(await actor_of(exchange, 'admin')).id}")
    assert "这是您自己的账号" in own and "/password" not in own.split("<main", 1)[1]


async def test_nobody_deactivates_themselves_nor_the_last_administrator(
    exchange: Exchange,
) -> None:
    admin = await actor_of(exchange, "admin")
    now = exchange.clock.now()
    async with exchange.services.db.write() as session:
        second = await accounts.add_user(
            session,
            NewUser("second-admin", "admin", PASSWORD, "第二管理员"),
            actor="test",
            now=now,
        )
    db = exchange.services.db
    with pytest.raises(Conflict) as self_:
        async with db.write() as session:
            await accounts.set_active(session, admin, admin.id, False, "试试", now=now)
    assert self_.value.code == "user.self"
    with pytest.raises(Conflict) as own_reset:
        async with db.write() as session:
            await accounts.reset_password(session, admin, admin.id, "x" * 12, now=now)
    assert own_reset.value.code == "user.self_reset"
    # Another administrator may go while one stays …
    async with db.write() as session:
        await accounts.set_active(session, admin, second.id, False, "离职", now=now)
    # … but the command line (no actor) cannot take away the last one.
    with pytest.raises(Conflict) as last:
        async with db.write() as session:
            await accounts.set_active(session, None, admin.id, False, "误操作", now=now)
    assert last.value.code == "user.last_admin"
    async with db.read() as session:
        assert (await session.get(User, admin.id)).active  # type: ignore[union-attr]
    assert [e.actor for e in await entries(exchange, f"user:{second.id}")][-1] == admin.name


async def test_only_administrators_may_administer(
    exchange: Exchange,
    browsers: Any,  # noqa: F811
) -> None:
    db, now = exchange.services.db, exchange.clock.now()
    xingtian = await actor_of(exchange, "xingtian")
    town = await region_id(exchange, LUOYANG)
    before = await ledger_size(exchange)
    for role in ("reviewer", "regulator", "xingtian"):
        someone = await actor_of(exchange, role)
        attempts = [
            lambda s, a=someone: accounts.add_staff(
                s, a, NewStaff("reviewer", "sneaky", "冒名"), now=now
            ),
            lambda s, a=someone: accounts.reset_password(s, a, xingtian.id, "x" * 12, now=now),
            lambda s, a=someone: accounts.set_active(s, a, xingtian.id, False, "试探", now=now),
            lambda s, a=someone: accounts.add_region(s, a, town, "新村", now=now),
            lambda s, a=someone: accounts.rename_region(s, a, town, "改名镇", now=now),
        ]
        for attempt in attempts:
            with pytest.raises(PermissionDenied):
                async with db.write() as session:
                    await attempt(session)
    assert await ledger_size(exchange) == before
    reviewer = await browsers().login("reviewer")
    before = await ledger_size(exchange)  # with the reviewer's sign-in
    secret = exchange.services.config.secret_key
    token = csrf_token(secret, reviewer.client.cookies["ruralx_session"])
    for path in ("/admin/users", "/admin/users/new", "/admin/regions", f"/admin/regions/{town}"):
        assert (await reviewer.client.get(path)).status_code == 403
    for path, body in (
        ("/admin/users/new", {"role": "admin", "display_name": "x", "username": "sneaky"}),
        (f"/admin/users/{xingtian.id}/active", {"active": "0", "reason": "x", "confirm": "1"}),
        (f"/admin/users/{xingtian.id}/password", {"confirm": "1"}),
        ("/admin/regions", {"name": "新村", "parent_id": str(town)}),
        (f"/admin/regions/{town}", {"name": "改名镇"}),
    ):
        await reviewer.post(path, {**body, "_csrf": token}, status=403)
    assert await ledger_size(exchange) == before


async def test_the_users_list_finds_by_name_role_region_and_state(
    exchange: Exchange,
    browsers: Any,  # noqa: F811
) -> None:
    admin = await browsers().login("admin")

    async def names(query: str) -> list[str]:
        html = await admin.get(f"/admin/users?{query}")
        return re.findall(r'<a href="/admin/users/\d+">([^<]+)</a>', html)

    assert await names("q=杏田") == ["杏田村经办人"]
    assert await names("q=XINGTIAN") == ["杏田村经办人"]
    assert set(await names("role=village")) == {"杏田村经办人", "后坑村经办人"}
    town = await region_id(exchange, LUOYANG)
    assert set(await names(f"region={town}")) == {"杏田村经办人", "后坑村经办人"}
    assert await names("active=0") == []
    assert "没有符合条件的账号" in await admin.get("/admin/users?q=%25")
    # Junk in the query is read as no filter, never an error.
    assert len(await names("role=wizard&region=abc&active=maybe&page=-3")) == 5
    now = exchange.clock.now()
    async with exchange.services.db.write() as session:
        for n in range(31):
            await accounts.add_user(
                session,
                NewUser(f"clerk-{n:02d}", "reviewer", PASSWORD, f"审核员{n:02d}"),
                actor="test",
                now=now,
                passwords=exchange.services.passwords,
            )
    first = await admin.get("/admin/users?role=reviewer")
    assert "共找到 32 个账号，第 1 / 2 页" in first
    assert len(await names("role=reviewer&page=2")) == 2


async def test_regions_are_added_and_renamed(
    exchange: Exchange,
    browsers: Any,  # noqa: F811
) -> None:
    await lease(
        exchange.services.db,
        1,
        village=XINGTIAN,
        category="collective_operating_assets",
        final_fen=1_300_000,
        decided=date(2026, 6, 1),
    )
    admin = await browsers().login("admin")
    tree = await admin.get("/admin/regions")
    assert "杏田村" in tree and "洛阳镇" in tree
    town = await region_id(exchange, LUOYANG)
    village = await region_id(exchange, XINGTIAN)
    added = await admin.post("/admin/regions", {"parent_id": str(town), "name": "前亭村"})
    new_id = int(added.headers["location"].split("/")[-1].split("?")[0])
    assert "地区已新增" in await admin.get(added.headers["location"])
    async with exchange.services.db.read() as session:
        created = await session.get(Region, new_id)
        assert created is not None
        assert (created.path, created.level) == (f"{LUOYANG}/前亭村", "village")
    for name, parent, status, field, code in (
        ("前亭村", town, 409, "name", "region.exists"),
        ("前/亭", town, 400, "name", "region.name"),
        ("", town, 400, "name", "form.required"),
        ("一组", village, 400, None, "region.too_deep"),
    ):
        response = await admin.post(
            "/admin/regions", {"parent_id": str(parent), "name": name}, status=status
        )
        if field:
            assert error_of(response.text, field)[0] == code
        else:
            assert f'data-code="{code}"' in response.text
    await admin.get(f"/admin/regions/{town}")
    await admin.post(f"/admin/regions/{town}", {"name": "洛阳新镇"})
    renamed = LUOYANG.rsplit("/", 1)[0] + "/洛阳新镇"
    async with exchange.services.db.read() as session:
        paths = set(
            await session.scalars(select(Region.path).where(Region.path.like(f"{renamed}%")))
        )
        assert {renamed, f"{renamed}/杏田村", f"{renamed}/后坑村", f"{renamed}/前亭村"} <= paths
        facts = list(await session.scalars(select(ListingFact.village_path)))
        assert facts == [f"{renamed}/杏田村"]
    [entry] = await entries(exchange, f"region:{town}")
    assert (entry.type, entry.payload) == ("region.renamed", {"from": LUOYANG, "to": renamed})
    # The village official of the renamed town still acts for their village.
    village_http = await exchange.http.login("xingtian")
    assert (await village_http.ok("GET", "/api/v1/auth/me"))["region"] == f"{renamed}/杏田村"
