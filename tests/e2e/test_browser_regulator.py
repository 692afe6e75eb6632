"""The regulator's pages in a real browser (Playwright + Debian's Chromium) against
`ruralx run`, on a phone (375 × 812) and a desktop (1280 × 800): docs/ui.md "The regulator's
pages".

The reference listing is auctioned through the API between two bidders who both bid from this
machine's address and client — the oversight job finds a shared IP (风险中) and a shared device
(风险低) — with one bid refused; server time passes the countdown. The regulator of the town
then, by clicking: reads each warning's evidence in sentences with the listing's title as a
link, acknowledges it with a note and sees who acknowledged it, when and the note; opens the
listing's timeline, bid ladder and warnings as pages without JSON; narrows each with its
filters; and finds the listing page short with its long sections folded.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.browser_support import BROWSER_TESTS, chromium, login
from tests.e2e.conftest import live_exchange
from tests.servers import add_users
from tests.support import (
    PASSWORD,
    SEED_LISTING,
    SEED_TERMS,
    XINGTIAN,
    sign_up_and_qualify,
    until,
)

pytestmark = [*BROWSER_TESTS, pytest.mark.slow, pytest.mark.timeout(240)]

TOWN = XINGTIAN.rsplit("/", 1)[0]
TITLE = SEED_LISTING["title"]
#: The listing page with its bids, timeline and acknowledged warnings folded: no taller than
#: this on a phone and on a desktop (open, they run to several thousand pixels more).
FOLDED_HEIGHT = {375: 3_600, 1280: 2_400}
SIZES = ((375, 812), (1280, 800))
NOTES = {
    375: "同一网络出价，已电话核实两位竞买人身份，无关联。",
    1280: "设备标识相同属常见情况，已核查。",
}


def expect(locator: Any) -> Any:
    from playwright.async_api import expect as _expect

    return _expect(locator)


async def shown_text(page: Any) -> str:
    return str(await page.locator("main").inner_text())


async def height(page: Any) -> int:
    return int(await page.evaluate("document.documentElement.scrollHeight"))


async def test_the_regulator_reads_acknowledges_and_narrows_without_json(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    async with live_exchange(tmp_path, redis=None, workers=1) as ex, chromium(request) as browser:
        base = ex.servers[0].base_url
        await add_users(ex.database_url, [("town-regulator", "regulator", TOWN)], PASSWORD)
        listing_id, _, reviewer, announced = await ex.quick_listing()
        bidders, _ = await sign_up_and_qualify(ex.anon, reviewer, listing_id, 2)
        await ex.open_auction(listing_id, announced)
        price = SEED_TERMS["listing_price_fen"]
        for n in range(6):
            price += SEED_TERMS["increment_fen"]
            await bidders[n % 2].ok(
                "POST", f"/api/v1/auctions/{listing_id}/bids", {"amount_fen": price, "ref": f"r{n}"}
            )
        low = await bidders[0].call(
            "POST", f"/api/v1/auctions/{listing_id}/bids", {"amount_fen": price, "ref": "low"}
        )
        assert low.status_code == 422  # refused: below the minimum
        await ex.end_countdown(listing_id)
        regulator_api = await ex.anon.login("town-regulator")
        found = await until(
            lambda: regulator_api.call("GET", f"/api/v1/warnings?listing_id={listing_id}"),
            lambda r: {"shared_ip", "shared_device"} <= {w["kind"] for w in r.json()["items"]},
            what="the shared address and device found",
        )
        total = len(found.json()["items"])

        names = ("竞买人IP地址相同", "竞买人设备（浏览器标识）相同")
        for done_before, ((width, tall), name) in enumerate(zip(SIZES, names, strict=True)):
            page = await browser.page(f"regulator-{width}", width=width, height=tall)
            await login(page, base, "town-regulator")

            # The dashboard → the warnings: sentences, the listing by its title.
            await page.goto(f"{base}/oversight")
            await (
                page.get_by_role("navigation", name="监管").get_by_role("link", name="预警").click()
            )
            await expect(page.locator("h1")).to_have_text("预警")
            card = page.get_by_test_id("warning").filter(has=page.get_by_role("heading", name=name))
            await expect(card.get_by_test_id("evidence")).to_contain_text("2 名竞买人使用了同一")
            await expect(card.get_by_role("link", name=TITLE)).to_have_attribute(
                "href", f"/oversight/listings/{listing_id}"
            )
            text = await shown_text(page)
            assert '{"' not in text and "项目 " + str(listing_id) not in text
            await browser.shoot(f"{width}-warnings")

            # Filters narrow the list (by kind, by severity); 清除 brings every one back.
            every = await page.get_by_test_id("warning").count()
            assert every == total - done_before  # open ones: the phone acknowledged one
            await page.get_by_label("风险等级").select_option(label="低")
            await page.get_by_role("button", name="筛选").click()
            await expect(page.get_by_test_id("warning")).to_have_count(1)
            await expect(page.get_by_test_id("warning")).to_contain_text("设备")
            await page.get_by_role("link", name="清除").click()
            await expect(page.get_by_test_id("warning")).to_have_count(every)

            # One warning: evidence, the titled link, the note, the acknowledgement.
            await card.get_by_role("link", name=name).click()
            await expect(page.locator("h1")).to_have_text(name)
            await expect(page.get_by_test_id("warning-listing").get_by_role("link")).to_have_text(
                TITLE
            )
            await expect(page.get_by_test_id("evidence")).to_contain_text("竞买人1")  # ended
            await browser.shoot(f"{width}-warning")
            await page.get_by_role("button", name="标记为已处理").click()
            await expect(page.locator("#e-note")).to_have_text("请填写处理意见")
            await page.get_by_label(re.compile("^处理意见")).fill(NOTES[width])
            await page.get_by_role("button", name="标记为已处理").click()
            await expect(page.locator(".flash")).to_contain_text("预警已标记为已处理")
            done = page.get_by_test_id("acknowledgement")
            await expect(done).to_contain_text(NOTES[width])
            await expect(done).to_contain_text("监管人员 town-regulator")
            await expect(done).to_contain_text(re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d"))
            await expect(page.get_by_test_id("warning-state")).to_have_text("已处理")
            await browser.shoot(f"{width}-acknowledged")

            # The listing page: sections folded, a table of contents, short enough.
            await page.get_by_test_id("warning-listing").get_by_role("link", name=TITLE).click()
            await expect(page.locator("h1")).to_have_text(TITLE)
            toc = page.get_by_role("navigation", name="本页目录")
            for section in ("概况", "预警", "出价记录", "时间线", "导出与验证"):
                await expect(
                    toc.get_by_role("link", name=re.compile(f"^{section}"))
                ).to_be_visible()
            await expect(page.get_by_test_id("timeline")).to_be_hidden()
            folded = await height(page)
            assert folded <= FOLDED_HEIGHT[width], folded
            await browser.shoot(f"{width}-listing-folded")
            await page.get_by_text("完整时间线（").click()
            await expect(page.get_by_test_id("timeline")).to_be_visible()
            assert await height(page) > folded
            assert '{"' not in await shown_text(page)

            # The timeline page: in words, narrowed by phase and by type.
            await page.get_by_role("link", name="时间线页（可筛选）").click()
            await expect(page.locator("h1")).to_contain_text("时间线")
            entries = page.get_by_test_id("timeline").locator("li")
            everything = await entries.count()
            text = await shown_text(page)
            assert '{"' not in text and "auction.bid" not in text and "出价未被接受" in text
            await page.get_by_label("阶段").select_option(label="竞价")
            await page.get_by_role("button", name="筛选").click()
            auction = await entries.count()
            assert 6 < auction < everything
            await page.get_by_label("事件类型").select_option(label="出价")
            await page.get_by_role("button", name="筛选").click()
            await expect(entries).to_have_count(6)
            await browser.shoot(f"{width}-timeline-filtered")

            # The bid ladder: the refused bid says why; narrowed to the refused ones.
            await page.goto(f"{base}/oversight/listings/{listing_id}")
            await page.get_by_role("link", name="全部出价（可筛选）").click()
            rows = page.get_by_test_id("ladder").locator("tbody tr")
            await expect(rows).to_have_count(7)
            text = await shown_text(page)
            assert '{"' not in text and "below_minimum" not in text
            assert "被拒绝：低于当前最低可出价" in text
            await page.get_by_label("结果").select_option(label="被拒绝")
            await page.get_by_role("button", name="筛选").click()
            await expect(rows).to_have_count(1)
            await browser.shoot(f"{width}-ladder-filtered")

            # The listing's warnings page: sentences, the acknowledged one with its note.
            await page.goto(f"{base}/oversight/listings/{listing_id}")
            await page.get_by_role("link", name="预警页（可按处理状态筛选）").click()
            await expect(page.get_by_test_id("warning")).to_have_count(total)
            text = await shown_text(page)
            assert '{"' not in text and NOTES[width] in text
            await page.get_by_label("处理状态").select_option(label="未处理")
            await page.get_by_role("button", name="筛选").click()
            await expect(page.get_by_test_id("warning")).to_have_count(total - done_before - 1)
            await browser.shoot(f"{width}-listing-warnings")

            # Nothing wider than the phone.
            overflow = await page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, overflow
