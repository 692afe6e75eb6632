"""The administrator's pages in a real browser (Playwright + Debian's Chromium) against a real
`ruralx run`, on a phone (375×812) and a desk (1280×800).

The administrator creates a reviewer, who signs in with the one-time password and sets their
own; the administrator deactivates them (their open page is signed out), reactivates them and
resets their password, which the reviewer replaces again. On the settings page the longest
terms carry the categories' Chinese names, a wrong holiday line is reported with its line, and
the deposit account saved is shown. The menu leads to the regulator dashboard, the regions
page adds a village, and an administrator named 系统管理员 sees that name once in the header.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.browser_support import BROWSER_TESTS, Browser, chromium, login
from tests.e2e.conftest import live_exchange

pytestmark = [*BROWSER_TESTS, pytest.mark.slow, pytest.mark.timeout(240)]

SIZES = {"phone": (375, 812), "desk": (1280, 800)}


def expect(locator: Any) -> Any:
    from playwright.async_api import expect as _expect

    return _expect(locator)


async def fits(page: Any, width: int) -> None:
    """No sideways scrolling: the page is no wider than the screen."""
    scroll = await page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width, (page.url, scroll)


async def create_user(page: Any, role: str, name: str, username: str, region: str = "") -> str:
    """Fill in 新建用户; the one-time password the page shows."""
    await page.get_by_role("link", name="新建用户").click()
    await page.get_by_label("角色").select_option(label=role)
    await page.get_by_label("姓名").fill(name)
    await page.get_by_label(re.compile(r"^用户名")).fill(username)
    await page.get_by_label("手机号码（选填）").fill("13905951234")
    if region:
        option = page.locator("#f-region_id option", has_text=region)
        await page.get_by_label("所属地区").select_option(await option.get_attribute("value"))
    await page.get_by_role("button", name="创建账号").click()
    shown = page.get_by_test_id("temporary-password")
    await expect(shown).to_be_visible()
    return (await shown.inner_text()).strip()


async def first_sign_in(
    browser: Browser, page: Any, base: str, username: str, temporary: str, new: str
) -> None:
    """Sign in with a one-time password: the page asks for one's own, then signs in."""
    await page.goto(f"{base}/login")
    await page.get_by_label("用户名或手机号").fill(username)
    await page.get_by_label(re.compile(r"^密码")).fill(temporary)
    await page.get_by_role("button", name="登录", exact=True).click()
    await expect(page.get_by_role("heading", name="设置新密码")).to_be_visible()
    await browser.shoot(f"first-password-{username}")
    await page.get_by_label("新密码（至少 8 位）").fill(new)
    await page.get_by_label("再次输入新密码").fill(new)
    await page.get_by_role("button", name="设置新密码并登录").click()
    await expect(page.locator(".flash")).to_contain_text("新密码已设置")


@pytest.mark.parametrize("size", list(SIZES))
async def test_the_administrator_keeps_users_settings_and_regions(
    tmp_path: Path, request: pytest.FixtureRequest, size: str
) -> None:
    width, height = SIZES[size]
    async with live_exchange(tmp_path, redis=None, workers=1) as ex, chromium(request) as browser:
        base = ex.servers[0].base_url
        admin = await browser.page("admin", width=width, height=height)
        await login(admin, base, "admin")
        await run(browser, admin, base, width, height)


async def run(browser: Browser, admin: Any, base: str, width: int, height: int) -> None:
    # The menu: users, regions and the regulator dashboard.
    menu = admin.get_by_role("navigation", name="主导航")
    await expect(menu.get_by_role("link", name="监管看板")).to_be_visible()
    await menu.get_by_role("link", name="用户", exact=True).click()
    await expect(admin.get_by_role("heading", name="用户管理")).to_be_visible()
    await fits(admin, width)
    await browser.shoot("users")

    # A reviewer of 洛阳镇 is created; the one-time password is shown once.
    temporary = await create_user(admin, "交易中心审核员", "陈审核", "chen.review", "洛阳镇")
    await expect(admin.get_by_text("临时密码，本人下次登录时须设置新密码")).to_be_visible()
    await fits(admin, width)
    await browser.shoot("user-created")
    await admin.get_by_role("link", name="已记下，关闭密码").click()
    await expect(admin.get_by_test_id("temporary-password")).to_have_count(0)

    # The reviewer signs in with it and must set their own password first.
    reviewer = await browser.page("reviewer", width=width, height=height)
    await first_sign_in(browser, reviewer, base, "chen.review", temporary, "chen-own-secret-1")
    await expect(reviewer).to_have_url(re.compile(r"/review"))
    await browser.shoot("reviewer-signed-in")

    # Deactivated (asked once more): the reviewer's open session ends.
    await admin.get_by_label("理由").fill("调离岗位")
    await admin.get_by_role("button", name="停用账号").click()
    confirm = admin.locator(".confirm-step")
    await expect(confirm).to_contain_text("确定停用“陈审核”的账号吗？")
    await browser.shoot("confirm-deactivate")
    await confirm.get_by_role("button", name="确认停用").click()
    await expect(admin.locator(".flash")).to_contain_text("账号已停用")
    await expect(admin.get_by_test_id("user-state")).to_contain_text("已停用")
    await reviewer.goto(f"{base}/review")
    await expect(reviewer).to_have_url(re.compile(r"/login\?next="))
    await browser.shoot("reviewer-signed-out")

    # Reactivated, then the password reset: a new one-time password, replaced again.
    await admin.get_by_label("理由").fill("返岗")
    await admin.get_by_role("button", name="启用账号").click()
    await expect(admin.locator(".flash")).to_contain_text("账号已启用")
    await admin.get_by_role("button", name="重置密码").click()
    await admin.locator(".confirm-step").get_by_role("button", name="确认重置").click()
    shown = admin.get_by_test_id("temporary-password")
    await expect(shown).to_be_visible()
    again = (await shown.inner_text()).strip()
    assert again != temporary
    await browser.shoot("password-reset")
    await admin.get_by_role("link", name="已记下，关闭密码").click()
    await first_sign_in(browser, reviewer, base, "chen.review", again, "chen-own-secret-2")

    # Settings: the longest terms by the categories' names, a holiday line checked.
    await (
        admin.get_by_role("navigation", name="主导航").get_by_role("link", name="交易规则").click()
    )
    await admin.get_by_label("林权", exact=True).fill("50")
    await admin.get_by_label(re.compile(r"^其他类别")).fill("30")
    await admin.get_by_label("新增的节假日").fill("2027-10-01\n2027-13-01")
    await admin.get_by_label("开户银行").fill("农村商业银行洛阳支行")
    await admin.get_by_label("户名", exact=True).fill("洛阳镇农村产权交易中心")
    await admin.get_by_label("账号", exact=True).fill("9070 1234 5678 9012")
    await admin.get_by_role("button", name="保存交易规则").click()
    error = admin.locator("#e-holidays")
    await expect(error).to_contain_text("第 2 行“2027-13-01”不是有效的日期")
    await expect(admin.get_by_label("新增的节假日")).to_have_attribute("aria-invalid", "true")
    await error.scroll_into_view_if_needed()
    await browser.shoot("holiday-error")
    await admin.get_by_label("新增的节假日").fill("2027-10-01")
    await admin.get_by_role("button", name="保存交易规则").click()
    await expect(admin.locator(".flash")).to_contain_text("交易规则已更新")
    await expect(admin.get_by_label("林权", exact=True)).to_have_value("50")
    await expect(admin.get_by_label("账号", exact=True)).to_have_value("9070 1234 5678 9012")
    await expect(admin.get_by_label("开户银行")).to_have_value("农村商业银行洛阳支行")
    await expect(admin.get_by_text("已保存 1 天：2027年10月1日（星期五）")).to_be_visible()
    await fits(admin, width)
    await browser.shoot("settings-saved")

    # Regions: a village added under 洛阳镇.
    await admin.get_by_role("navigation", name="主导航").get_by_role("link", name="地区").click()
    option = admin.locator("#f-parent_id option", has_text="洛阳镇")
    await admin.get_by_label("上级地区").select_option(await option.get_attribute("value"))
    await admin.get_by_label(re.compile(r"^名称")).fill("前亭村")
    await admin.get_by_role("button", name="新增地区").click()
    await expect(admin.locator(".flash")).to_contain_text("地区已新增")
    await expect(admin.get_by_text("洛阳镇 / 前亭村")).to_be_visible()
    await browser.shoot("region-added")

    # The regulator dashboard, from the menu.
    await (
        admin.get_by_role("navigation", name="主导航").get_by_role("link", name="监管看板").click()
    )
    await expect(admin).to_have_url(re.compile(r"/oversight$"))
    await fits(admin, width)
    await browser.shoot("dashboard")

    # An administrator named 系统管理员: the header says it once.
    await admin.goto(f"{base}/admin/users")
    temporary = await create_user(admin, "系统管理员", "系统管理员", "sysadmin")
    second = await browser.page("second-admin", width=width, height=height)
    await first_sign_in(browser, second, base, "sysadmin", temporary, "sysadmin-secret-1")
    await expect(second.locator("header .who .user")).to_have_text("系统管理员")
    await expect(
        second.get_by_role("navigation", name="主导航").get_by_role("link", name="监管看板")
    ).to_be_visible()
    await fits(second, width)
    await browser.shoot("header-once")
