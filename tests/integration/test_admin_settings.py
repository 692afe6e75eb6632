"""The settings page's newer parts: the longest term per category by its Chinese name, the
calendar checked line by line, the deposit account and the enquiry telephone — every mistake
shown at once, nothing saved until all are right."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from core import settings as exchange_settings
from tests.integration.conftest import Exchange
from tests.integration.test_pages import Browser, browsers, error_of  # noqa: F401


async def settings_form(admin: Browser) -> dict[str, str]:
    """The form as the page fills it in (text inputs, selects as the test sets them)."""
    html = await admin.get("/admin/settings")
    values = dict(re.findall(r'name="([a-z_]+)" type="text" value="([^"]*)"', html))
    return {**values, "single_bidder_policy": "agreement", "deposit_kind": "percent_of_total"}


async def saved(exchange: Exchange) -> exchange_settings.ExchangeSettings:
    async with exchange.services.db.read() as session:
        return await exchange_settings.load(session)


def calendar_errors(html: str, name: str) -> list[str]:
    match = re.search(rf'<div class="error" id="e-{name}"[^>]*><ul>(.*?)</ul></div>', html)
    assert match, f"no errors under {name}"
    return re.findall(r"<li>([^<]+)</li>", match.group(1))


async def test_the_longest_terms_are_set_per_category(
    exchange: Exchange,
    browsers: Any,  # noqa: F811
) -> None:
    admin = await browsers().login("admin")
    form = await settings_form(admin)
    html = admin.last
    assert re.search(r'<label for="f-max_term_forest_rights">林权</label>', html)
    assert re.search(r'<label for="f-max_term_default">其他类别', html)
    assert form["max_term_default"] == "30"
    assert form["max_term_collective_construction_land"] == "20"
    assert form["max_term_forest_rights"] == ""
    wrong = await admin.post(
        "/admin/settings",
        {**form, "max_term_default": "", "max_term_wasteland": "三十", "max_term_sea_areas": "99"},
        status=400,
    )
    assert error_of(wrong.text, "max_term_default")[0] == "form.required"
    assert error_of(wrong.text, "max_term_wasteland") == (
        "form.integer",
        "四荒地的最长期限应为整数",
    )
    assert error_of(wrong.text, "max_term_sea_areas")[0] == "form.range"
    assert (await saved(exchange)).max_term_years == {"*": 30, "collective_construction_land": 20}
    await admin.post(
        "/admin/settings",
        {**form, "max_term_forest_rights": "50", "max_term_collective_construction_land": ""},
    )
    terms = (await saved(exchange)).max_term_years
    assert terms == {"*": 30, "forest_rights": 50}
    assert (await saved(exchange)).max_term_for("collective_construction_land") == 30


async def test_each_calendar_line_is_checked_and_reported(
    exchange: Exchange,
    browsers: Any,  # noqa: F811
) -> None:
    admin = await browsers().login("admin")
    form = await settings_form(admin)
    assert "2026 年：国务院办公厅关于2026年部分节假日安排的通知" in admin.last
    assert "春节：2月15日至2月23日放假，2月14日、2月28日上班" in admin.last
    wrong = await admin.post(
        "/admin/settings",
        {
            **form,
            "holidays": "2027-10-01\n国庆\n\n2027-02-30\n2026-01-04\n2027-10-02",
            "makeup_workdays": "2027-10-08\n2027-10-09\n2027-10-02",
        },
        status=400,
    )
    assert calendar_errors(wrong.text, "holidays") == [
        "第 2 行“国庆”不是日期，请写成 2027-10-01 的形式",
        "第 4 行“2027-02-30”不是有效的日期",
        "第 5 行 2026年1月4日 按国务院通知是调休上班日，不能设为节假日",
        "第 6 行 2027年10月2日 也填在了调休上班日中，一天只能是其中一种",
    ]
    assert calendar_errors(wrong.text, "makeup_workdays") == [
        "第 1 行 2027年10月8日 是星期五，调休上班日应为星期六或星期日",
        "第 3 行 2027年10月2日 也填在了节假日中，一天只能是其中一种",
    ]
    assert (await saved(exchange)).holidays == ()
    # Written as people write dates, repeated lines once: saved in order, listed in words.
    await admin.post(
        "/admin/settings",
        {
            **form,
            "holidays": "2027/10/2\n2027年10月1日\n2027-10-01",
            "makeup_workdays": "2027-10-09",
        },
    )
    now = await saved(exchange)
    assert now.holidays == (date(2027, 10, 1), date(2027, 10, 2))
    assert now.makeup_workdays == (date(2027, 10, 9),)
    page = await admin.get("/admin/settings")
    assert "已保存 2 天：2027年10月1日（星期五）、2027年10月2日（星期六）" in page
    assert "2027-10-01\n2027-10-02</textarea>" in page


async def test_the_deposit_account_and_telephone_are_checked_and_saved(
    exchange: Exchange,
    browsers: Any,  # noqa: F811
) -> None:
    admin = await browsers().login("admin")
    form = await settings_form(admin)
    wrong = await admin.post(
        "/admin/settings",
        {
            **form,
            "deposit_bank_name": "农村商业银行洛阳支行",
            "deposit_account_number": "6228-ab",
            "service_phone": "call us",
            "arrears_yellow_days": "60",
            "arrears_red_days": "30",
        },
        status=400,
    )
    assert error_of(wrong.text, "deposit_account_name")[0] == "form.required"
    assert error_of(wrong.text, "deposit_account_number")[0] == "form.account"
    assert error_of(wrong.text, "service_phone")[0] == "form.phone"
    assert error_of(wrong.text, "arrears_red_days")[1] == "红色预警天数应多于黄色预警天数"
    await admin.post(
        "/admin/settings",
        {
            **form,
            "deposit_bank_name": "农村商业银行洛阳支行",
            "deposit_account_name": "洛阳镇农村产权交易中心",
            "deposit_account_number": "9070 1234 5678 9012",
            "service_phone": "0595-87654321",
            "seal_text": "洛阳镇农村产权交易中心交易鉴证专用章",
        },
    )
    now = await saved(exchange)
    assert (now.deposit_bank_name, now.deposit_account_number, now.service_phone) == (
        "农村商业银行洛阳支行",
        "9070 1234 5678 9012",
        "0595-87654321",
    )
    page = await admin.get("/admin/settings")
    assert 'name="deposit_account_name" type="text" value="洛阳镇农村产权交易中心"' in page
    assert 'name="seal_text" type="text" value="洛阳镇农村产权交易中心交易鉴证专用章"' in page
