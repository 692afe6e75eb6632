"""The village official's entrustment form and listing page, and the reviewer's qualification
cards, in a real browser (Playwright + Debian's Chromium) against `ruralx run`, on a phone
(375 × 812) and a desktop (1280 × 800) (docs/ui.md):

1. An empty form answers with every error at once and a summary linking to the fields; a
   refused file keeps the files already accepted and says which one to choose again; the
   countdown's own lengths are saved and kept when the form is saved again.
2. Bidders applying from one machine: the reviewer's cards say so (同一设备) with a link to
   the warning. After the hammer and the publicity, the village's 下一步 says 请签署合同 and
   leads to the signing form; signed, it says the winner's turn has come.

Screenshots of each state go to tests/artifacts/ (RURALX_SCREENSHOTS=1 keeps them).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.browser_support import BROWSER_TESTS, Browser, chromium, fill_resolution, login
from tests.e2e.conftest import LiveExchange, live_exchange
from tests.e2e.test_browser_aftermath import past_publicity, run_auctions
from tests.support import (
    PASSWORD,
    SEED_LISTING,
    Http,
    phone,
    resident_id,
    until,
)

pytestmark = [*BROWSER_TESTS, pytest.mark.slow, pytest.mark.timeout(300)]

#: (label, width, height) of the two screens every step is looked at on.
SCREENS = [("phone", 375, 812), ("desktop", 1280, 800)]


def expect(locator: Any) -> Any:
    from playwright.async_api import expect as _expect

    return _expect(locator)


async def no_horizontal_scroll(page: Any) -> None:
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], width


async def fill_terms(page: Any, title: str) -> None:
    await page.get_by_label("项目名称").fill(title)
    await page.get_by_label("资产类别").select_option("collective_operating_assets")
    await page.get_by_label("坐落位置").fill(SEED_LISTING["location"])
    await page.get_by_label("挂牌价（元）").fill("12000")
    await page.get_by_label("流转期限（年）").fill("10")
    await page.get_by_label("加价幅度（元）").fill("240")
    await page.get_by_label("竞买保证金（元）").fill("2000")


async def test_the_entrustment_form_in_one_round_with_files_kept(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    async with (
        live_exchange(tmp_path, redis=None, workers=1) as ex,
        chromium(request) as browser,
    ):
        base = ex.servers[0].base_url
        api = await ex.anon.login("xingtian")
        for screen, width, height in SCREENS:
            page = await browser.page(f"village-{screen}", width=width, height=height)
            await login(page, base, "xingtian")
            await page.goto(f"{base}/village/listings/new")

            # Saved empty: every error at once, each at its field and in the summary.
            await page.get_by_role("button", name="保存委托").click()
            summary = page.get_by_test_id("error-summary")
            await expect(summary).to_be_visible()
            await expect(summary.locator("li")).to_have_count(5)
            for field, message in [
                ("title", "请填写项目名称"),
                ("location", "请填写坐落位置"),
                ("listing_price", "请填写挂牌价"),
                ("term_years", "请填写流转期限"),
                ("increment", "请填写加价幅度"),
            ]:
                await expect(page.locator(f"#e-{field}")).to_have_text(message)
                await expect(page.locator(f"#f-{field}")).to_have_attribute("aria-invalid", "true")
            await no_horizontal_scroll(page)
            await browser.shoot(f"empty-form-{screen}")
            await summary.get_by_role("link", name="坐落位置：请填写坐落位置").click()
            await expect(page).to_have_url(re.compile(r"#f-location$"))

            # Filled in, with the resolution's file and an ownership proof that is no PDF.
            await fill_terms(page, f"杏田村仓库公开招租（{screen}）")
            await page.get_by_label("自由竞价时长（分钟）").fill("5")
            await page.get_by_label("倒计时时长（秒）").fill("90")
            await fill_resolution(page)
            await page.get_by_label("权属证明").set_input_files(
                files=[{"name": "权属证明.txt", "mimeType": "text/plain", "buffer": b"no pdf"}]
            )
            await page.get_by_role("button", name="保存委托").click()
            await expect(page.locator("#e-ownership_proof")).to_have_text(
                "“权属证明.txt”未能上传：仅支持 PDF、JPEG、PNG 格式的文件。请重新选择文件"
            )
            await expect(page.get_by_test_id("kept-village_resolution")).to_have_text(
                "已上传：村民代表会议决议.pdf（可替换）"
            )
            await expect(page.get_by_test_id("error-summary").locator("li")).to_have_count(1)
            await expect(page.get_by_label("自由竞价时长（分钟）")).to_have_value("5")
            await no_horizontal_scroll(page)
            await browser.shoot(f"file-refused-{screen}")

            # Saved again without choosing the resolution again: it is attached.
            await page.get_by_role("button", name="保存委托").click()
            await expect(page.locator(".flash")).to_contain_text("委托已保存为草稿")
            await expect(page.locator("ul.docs")).to_contain_text("村民代表会议决议.pdf")
            listing_id = int(re.search(r"/village/listings/(\d+)", page.url).group(1))  # type: ignore[union-attr]
            await expect(page.get_by_test_id("auction-variant")).to_contain_text(
                "每次出价后重新计时 90 秒"
            )
            await browser.shoot(f"saved-{screen}")

            # The edit form shows both lengths; saving it keeps them.
            await page.get_by_role("link", name="修改委托").click()
            await expect(page.get_by_label("自由竞价时长（分钟）")).to_have_value("5")
            await expect(page.get_by_label("倒计时时长（秒）")).to_have_value("90")
            await page.get_by_role("button", name="保存修改").click()
            await expect(page.locator(".flash")).to_be_visible()
            saved = await api.ok("GET", f"/api/v1/listings/{listing_id}")
            assert saved["terms"]["free_bidding_minutes"] == 5
            assert saved["terms"]["countdown_seconds"] == 90
            assert [d["kind"] for d in saved["documents"]] == ["village_resolution"]


async def register_and_pay(ex: LiveExchange, listing_id: int, count: int) -> list[Http]:
    """Bidders sign up, apply and pay through the API — all from this one machine."""
    people = []
    for i in range(count):
        mobile = phone()
        await ex.anon.ok(
            "POST",
            "/api/v1/bidders",
            {
                "name": f"竞买人{'甲乙丙'[i]}",
                "id_type": "resident_id",
                "id_number": resident_id(),
                "phone": mobile,
                "password": PASSWORD,
            },
            status=201,
        )
        bidder = await ex.anon.login(mobile)
        registration = await bidder.ok(
            "POST", f"/api/v1/listings/{listing_id}/registrations", {}, status=201
        )
        paid = await ex.anon.pay(registration["payment_reference"], registration["deposit_fen"])
        assert paid.status_code == 200, paid.text
        people.append(bidder)
    return people


async def pages_at_both_sizes(browser: Browser, base: str, who: str) -> list[Any]:
    pages = []
    for screen, width, height in SCREENS:
        page = await browser.page(f"{who}-{screen}", width=width, height=height)
        await login(page, base, who)
        pages.append(page)
    return pages


async def test_card_warnings_and_the_village_asked_to_sign(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    # Sessions outlive the jump over the result publicity (a working day of server time).
    async with (
        live_exchange(
            tmp_path, redis=None, workers=1, RURALX_TOKEN_TTL_SECONDS=str(60 * 86400)
        ) as ex,
        chromium(request) as browser,
    ):
        base = ex.servers[0].base_url
        listing_id, _, _, announced = await ex.quick_listing(result_publicity_working_days=1)
        admin = await ex.anon.login("admin")
        people = await register_and_pay(ex, listing_id, 3)
        # The oversight job finds the shared device within a few of its rounds.
        found = await until(
            lambda: admin.ok("GET", f"/api/v1/warnings?listing_id={listing_id}"),
            lambda body: any(w["kind"] == "shared_device" for w in body["items"]),
            what="the shared-device warning",
        )
        device = next(w for w in found["items"] if w["kind"] == "shared_device")

        # The reviewer sees it on every card, in words, with a link to the warning.
        reviewers = await pages_at_both_sizes(browser, base, "reviewer")
        for reviewer in reviewers:
            await reviewer.goto(f"{base}/review/listings/{listing_id}")
            cards = reviewer.get_by_test_id("card-warnings")
            await expect(cards).to_have_count(3)
            await expect(cards.first).to_contain_text("报名时与报名人")
            await expect(cards.first).to_contain_text("使用同一设备")
            await no_horizontal_scroll(reviewer)
        await browser.shoot("card-warnings")
        phone_page = reviewers[0]
        await (
            phone_page.get_by_test_id("card-warnings")
            .first.get_by_role("link", name=re.compile("^查看预警.*使用同一设备"))
            .click()
        )
        await expect(phone_page).to_have_url(re.compile(rf"#warning-{device['id']}$"))
        await expect(phone_page.locator(f"#warning-{device['id']}")).to_contain_text(
            "3 名报名人使用同一设备"
        )

        # Qualified on the cards; the auction runs; the hammer falls.
        for _ in people:
            await phone_page.get_by_role("button", name="提交资格审核").first.click()
            await expect(phone_page.locator(".flash")).to_contain_text("已通过资格审核")
        await run_auctions(ex, [listing_id], {listing_id: people}, announced)

        villages = await pages_at_both_sizes(browser, base, "xingtian")
        for village in villages:
            await village.goto(f"{base}/village/listings/{listing_id}")
            await expect(village.get_by_test_id("next-step")).to_have_attribute(
                "data-step", "publicity"
            )
        await browser.shoot("village-publicity")

        # The publicity over, the contract is drafted and it is the village's turn.
        await past_publicity(ex, listing_id)
        deal = await ex.anon.ok("GET", f"/api/v1/listings/{listing_id}/deal")
        for village in villages:
            await village.reload()
            step = village.get_by_test_id("next-step")
            await expect(step).to_have_attribute("data-step", "sign")
            await expect(step).to_contain_text("请签署合同")
            await expect(step).not_to_contain_text("请等待合同生成")
            await no_horizontal_scroll(village)
        await browser.shoot("village-sign")

        village = villages[0]
        await village.get_by_test_id("next-step").get_by_role("link", name="签署合同").click()
        await expect(village).to_have_url(re.compile(rf"#sign-{deal['contract_id']}$"))
        password = village.locator(f"#sign-password-{deal['contract_id']}")
        await expect(password).to_be_in_viewport()
        await password.fill(PASSWORD)
        await village.get_by_role("button", name="电子签署合同").click()
        await expect(village.locator(".api-result")).to_have_text("签署成功")
        # The page reloads itself: now the winner's turn.
        await expect(village.get_by_test_id("next-step")).to_have_attribute(
            "data-step", "await_winner"
        )
        await villages[1].reload()
        await expect(villages[1].get_by_test_id("next-step")).to_contain_text("等待竞得人签署")
        await browser.shoot("village-signed")
