"""Accounts cared for without the database: one's own password, an administrator's reset and
deactivation (API, command line, pages); every session of the account ends at once."""

from __future__ import annotations

import asyncio

import httpx
from sqlalchemy import select

from core.ledger import LedgerEntry
from tests.integration.conftest import Exchange
from tests.integration.test_pages import Browser, error_of
from tests.integration.test_settings_and_accounts import cli_env, ruralx  # noqa: F401
from tests.support import PASSWORD, Http

NEW_PASSWORD = "a-new-secret-42"


def problem(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, (response.status_code, response.text)
    assert response.json()["code"] == code, response.text


async def user_id(http: Http) -> int:
    return int((await http.ok("GET", "/api/v1/auth/me"))["id"])


async def ledger_types(exchange: Exchange, subject: str) -> list[str]:
    async with exchange.services.db.read() as session:
        return list(
            await session.scalars(
                select(LedgerEntry.type)
                .where(LedgerEntry.subject == subject)
                .order_by(LedgerEntry.subject_seq)
            )
        )


async def test_a_user_changes_their_password_and_other_sessions_end(exchange: Exchange) -> None:
    here = await exchange.http.login("xingtian")
    elsewhere = await exchange.http.login("xingtian")
    await elsewhere.ok("GET", "/api/v1/auth/me")  # its sign-in cached by this worker
    problem(
        await here.call(
            "POST",
            "/api/v1/auth/password",
            {"old_password": "wrong-one", "new_password": NEW_PASSWORD},
        ),
        403,
        "auth.password_incorrect",
    )
    await here.ok(
        "POST", "/api/v1/auth/password", {"old_password": PASSWORD, "new_password": NEW_PASSWORD}
    )
    await here.ok("GET", "/api/v1/auth/me")  # this session stays
    problem(await elsewhere.call("GET", "/api/v1/auth/me"), 401, "auth.token_invalid")
    problem(
        await exchange.http.call(
            "POST", "/api/v1/auth/login", {"username": "xingtian", "password": PASSWORD}
        ),
        401,
        "auth.invalid_credentials",
    )
    await exchange.http.login("xingtian", NEW_PASSWORD)
    uid = await user_id(here)
    assert "user.password_changed" in await ledger_types(exchange, f"user:{uid}")


async def test_an_administrator_resets_and_deactivates(exchange: Exchange) -> None:
    admin = await exchange.http.login("admin")
    village = await exchange.http.login("xingtian")
    uid = await user_id(village)
    reviewer = await exchange.http.login("reviewer")
    problem(
        await reviewer.call("POST", f"/api/v1/users/{uid}/deactivate", {"reason": "离职"}),
        403,
        "auth.forbidden",
    )
    await admin.ok("POST", f"/api/v1/users/{uid}/password", {"new_password": NEW_PASSWORD})
    problem(await village.call("GET", "/api/v1/auth/me"), 401, "auth.token_invalid")
    village = await exchange.http.login("xingtian", NEW_PASSWORD)
    await village.ok("GET", "/api/v1/auth/me")  # cached by the worker…

    problem(
        await admin.call("POST", f"/api/v1/users/{uid}/deactivate", {"reason": " "}),
        400,
        "user.reason_required",
    )
    answer = await admin.ok("POST", f"/api/v1/users/{uid}/deactivate", {"reason": "离职"})
    assert answer["active"] is False
    # …and ended at once all the same.
    problem(await village.call("GET", "/api/v1/auth/me"), 401, "auth.token_invalid")
    problem(
        await exchange.http.call(
            "POST", "/api/v1/auth/login", {"username": "xingtian", "password": NEW_PASSWORD}
        ),
        401,
        "auth.invalid_credentials",
    )
    admin_id = await user_id(admin)
    problem(
        await admin.call("POST", f"/api/v1/users/{admin_id}/deactivate", {"reason": "试试"}),
        409,
        "user.self",
    )
    await admin.ok("POST", f"/api/v1/users/{uid}/activate", {"reason": "返岗"})
    await exchange.http.login("xingtian", NEW_PASSWORD)
    assert await ledger_types(exchange, f"user:{uid}") == [
        "user.created",
        "user.logged_in",
        "user.password_reset",
        "user.logged_in",
        "user.deactivated",
        "user.activated",
        "user.logged_in",
    ]


async def test_the_pages_change_reset_and_deactivate(exchange: Exchange) -> None:
    village, admin = Browser(exchange), Browser(exchange)
    try:
        await village.login("xingtian")
        await village.get("/account/password")
        wrong = await village.post(
            "/account/password",
            {"old_password": "wrong", "new_password": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
            status=400,
        )
        assert error_of(wrong.text, "old_password")[0] == "auth.password_incorrect"
        mismatch = await village.post(
            "/account/password",
            {"old_password": PASSWORD, "new_password": NEW_PASSWORD, "new_password2": "other-1"},
            status=400,
        )
        assert error_of(mismatch.text, "new_password2")[0] == "user.password_mismatch"
        await village.post(
            "/account/password",
            {"old_password": PASSWORD, "new_password": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        )
        assert "密码已修改" in await village.get("/account/password?done=password_changed")

        await admin.login("admin")
        users = await admin.get("/admin/users")
        uid = await user_id(await exchange.http.login("xingtian", NEW_PASSWORD))
        assert f'href="/admin/users/{uid}"' in users
        page = await admin.get(f"/admin/users/{uid}")
        assert f'action="/admin/users/{uid}/active"' in page
        # Deactivating is asked once more; the first submission changes nothing.
        asked = await admin.post(
            f"/admin/users/{uid}/active", {"active": "0", "reason": "离职"}, status=200
        )
        assert "确认停用" in asked.text
        assert (await village.client.get("/village")).status_code == 200
        await admin.post(
            f"/admin/users/{uid}/active", {"active": "0", "reason": "离职", "confirm": "1"}
        )
        assert (await village.client.get("/village")).status_code == 303  # signed out: to login
    finally:
        await village.close()
        await admin.close()


async def test_the_command_line_resets_deactivates_and_reactivates(
    cli_env: dict[str, str],  # noqa: F811
) -> None:
    assert (await asyncio.to_thread(ruralx, ["migrate"], cli_env)).returncode == 0
    added = await asyncio.to_thread(
        ruralx,
        ["user", "add", "clerk", "--role", "reviewer", "--password-stdin"],
        cli_env,
        PASSWORD + "\n",
    )
    assert added.returncode == 0, added.stderr
    reset = await asyncio.to_thread(
        ruralx, ["user", "passwd", "clerk", "--password-stdin"], cli_env, NEW_PASSWORD + "\n"
    )
    assert reset.returncode == 0 and "密码已重置" in reset.stdout, reset.stderr
    off = await asyncio.to_thread(
        ruralx, ["user", "deactivate", "clerk", "--reason", "离职"], cli_env
    )
    assert off.returncode == 0 and "已停用" in off.stdout, off.stderr
    missing = await asyncio.to_thread(
        ruralx, ["user", "deactivate", "nobody", "--reason", "x"], cli_env
    )
    assert missing.returncode == 2 and "user.not_found" in missing.stderr
    on = await asyncio.to_thread(ruralx, ["user", "activate", "clerk", "--reason", "返岗"], cli_env)
    assert on.returncode == 0 and "已启用" in on.stdout, on.stderr
    short = await asyncio.to_thread(
        ruralx, ["user", "passwd", "clerk", "--password-stdin"], cli_env, "short\n"
    )
    assert short.returncode == 2
