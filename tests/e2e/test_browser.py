"""The pages in a real browser (Playwright + Debian's Chromium) against a real `ruralx run`.

1. The reference case end to end through the pages only (the bank callback is the bank's).
2. The live page survives a dropped connection and catches up with what it missed.
3. The live page on a 375 px phone has no horizontal scroll; its 大写 matches core.money.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from core.clock import CHINA_TZ
from core.money import format_yuan, yuan_in_words
from tests.e2e.browser_support import (
    BROWSER_TESTS,
    TcpProxy,
    chromium,
    fill_resolution,
    login,
    port_of,
    sign_up,
)
from tests.e2e.conftest import REGISTRATION, live_exchange
from tests.support import (
    SEED_LISTING,
    Http,
    entrust_review_announce,
    phone,
    resident_id,
    sign_up_and_qualify,
)

pytestmark = [*BROWSER_TESTS, pytest.mark.slow, pytest.mark.timeout(240)]


def expect(locator: Any) -> Any:
    from playwright.async_api import expect as _expect

    return _expect(locator)


def beijing_local(at: datetime) -> str:
    """A value for <input type=datetime-local> in Beijing time, to the second."""
    return at.astimezone(CHINA_TZ).strftime("%Y-%m-%dT%H:%M:%S")


async def bid_once(page: Any, amount_fen: int) -> None:
    """Tap +1 step, check the confirmation shows the amount in figures and 大写, confirm."""
    step = page.locator("#steps button.step", has_text=format_yuan(amount_fen, symbol=True))
    await step.first.click()
    dialog = page.locator("#confirm")
    await expect(dialog.locator("#confirm-amount")).to_have_text(
        format_yuan(amount_fen, symbol=True)
    )
    await expect(dialog.locator("#confirm-words")).to_have_text(yuan_in_words(amount_fen))
    await dialog.get_by_role("button", name="确认出价").click()


async def test_reference_case_through_the_pages(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    async with live_exchange(tmp_path, redis=None, workers=1) as ex, chromium(request) as browser:
        base = ex.servers[0].base_url
        frames: list[str] = []

        def keep(payload: str | bytes) -> None:
            frames.append(payload if isinstance(payload, str) else payload.decode())

        def listen(ws: Any) -> None:
            ws.on("framereceived", keep)

        # The administrator sets short rules for the test: no notice, no qualification window,
        # straight to a countdown, no result publicity (the deal is confirmed at once).
        admin = await browser.page("admin")
        await login(admin, base, "admin")
        await admin.goto(f"{base}/admin/settings")
        await admin.get_by_label("公告期（工作日）").fill("0")
        await admin.get_by_label("资格确认期（报名截止至竞价开始，分钟）").fill("0")
        await admin.get_by_label("结果公示期（工作日）").fill("0")
        await admin.get_by_label("自由竞价时长（分钟）").fill("0")
        await admin.get_by_label("限时竞价倒计时（秒）").fill("60")
        await admin.get_by_role("button", name="保存交易规则").click()
        await expect(admin.locator(".flash")).to_contain_text("交易规则已更新")

        # Two bidders sign up (ID checksums checked), each in a browser context of their own.
        people = [("林一鸣", resident_id(), phone()), ("陈秀兰", resident_id(), phone())]
        bidders = [
            await browser.page("bidder-a", width=390, height=844),
            await browser.page("bidder-b"),
        ]
        for page, (name, id_number, mobile) in zip(bidders, people, strict=True):
            page.on("websocket", listen)
            await sign_up(page, base, name, id_number, mobile)

        # The village official entrusts the asset with its resolution attached.
        village = await browser.page("village")
        await login(village, base, "xingtian")
        await village.goto(f"{base}/village/listings/new")
        await village.get_by_label("项目名称").fill("杏田村杏秀路口水泥地面公开招租")
        await village.get_by_label("资产类别").select_option("collective_operating_assets")
        await village.get_by_label("坐落位置").fill("洛阳镇杏田村杏秀路口")
        await village.get_by_label("面积", exact=True).fill("600")
        await village.get_by_label("挂牌价（元）").fill("12000")
        await village.get_by_label("流转期限（年）").fill("10")
        await village.get_by_label("加价幅度（元）").fill("240")
        await village.get_by_label("每次最多加价档数").fill("10")
        await village.get_by_label("竞买保证金（元）").fill("2000")
        await expect(village.locator("#w-deposit")).to_have_text("¥2,000.00（贰仟元整）")
        await fill_resolution(village)
        await village.get_by_role("button", name="保存委托").click()
        await expect(village.locator(".flash")).to_contain_text("委托已保存为草稿")
        listing_id = int(re.search(r"/village/listings/(\d+)", village.url).group(1))  # type: ignore[union-attr]
        await expect(village.get_by_test_id("deposit")).to_contain_text("¥2,000.00")
        await village.get_by_role("button", name="提交审核").click()
        await expect(village.locator(".flash")).to_contain_text("已提交")

        # The reviewer accepts it from the queue, then announces it.
        reviewer = await browser.page("reviewer")
        await login(reviewer, base, "reviewer")
        await reviewer.goto(f"{base}/review")
        await reviewer.get_by_role("link", name="审核", exact=True).click()
        await reviewer.get_by_label("受理（材料齐全、合法合规）").check()
        await reviewer.get_by_label("审核意见 / 退回理由").fill("材料齐全")
        await reviewer.get_by_role("button", name="提交审核结论").click()
        await expect(reviewer.locator(".flash")).to_contain_text("已受理")
        # Registration for an hour, the auction a minute later: server time jumps over both.
        announced = ex.clock.now()
        closes = announced + REGISTRATION
        await reviewer.get_by_label("报名截止时间").fill(beijing_local(closes))
        starts = closes + timedelta(minutes=1)
        await reviewer.get_by_label("竞价开始时间").fill(beijing_local(starts))
        await reviewer.get_by_role("button", name="发布公告").click()
        await expect(reviewer.locator(".flash")).to_contain_text("挂牌公告已发布")

        # Both bidders register from the announcement and read their deposit instructions;
        # the bank reports both deposits (a signed callback: the bank is not a browser).
        bank = Http(ex.anon.client)
        for page in bidders:
            await page.goto(f"{base}/listings/{listing_id}")
            await page.get_by_label("我已阅读并接受本项目的挂牌条件和竞价规则").check()
            await page.get_by_role("button", name="报名参加竞价").click()
            await expect(page.locator(".flash")).to_contain_text("报名成功")
            reference = await page.get_by_test_id("payment-reference").inner_text()
            paid = await bank.pay(reference.strip(), 200_000)
            assert paid.status_code == 200, paid.text

        # The reviewer qualifies both from the queue of paid deposits.
        await reviewer.goto(f"{base}/review")
        for _ in range(2):
            await reviewer.get_by_role("link", name="资格审核", exact=True).first.click()
            await reviewer.get_by_role("button", name="提交资格审核").first.click()
            await expect(reviewer.locator(".flash")).to_contain_text("已通过资格审核")
            await reviewer.goto(f"{base}/review")
        numbers = []
        for page in bidders:
            await page.goto(f"{base}/me/registrations")
            numbers.append(await page.get_by_test_id("bidder-number").inner_text())

        # Registration closes; a watcher without an account and the village watch the same
        # page as the bidders, and see the auction start.
        await ex.close_registration(listing_id, announced)
        watcher = await browser.page("watcher")
        watcher.on("websocket", listen)
        for page in [*bidders, watcher, village]:
            await page.goto(f"{base}/auctions/{listing_id}")
        for page in [*bidders, watcher]:
            await expect(page.locator("#conn")).to_have_attribute("data-state", "open")
        await ex.start_auction(listing_id, announced)
        for page in [*bidders, watcher]:
            await expect(page.locator("#phase-label")).to_have_text("限时竞价")
            await expect(page.locator("#conn")).to_have_attribute("data-state", "open")
        for page, number in zip(bidders, numbers, strict=True):
            await expect(page.locator("#you")).to_have_text(number)

        # Fifty rounds of one increment each, the bidders alternating.
        price = 1_200_000
        for round_ in range(1, 51):
            me, other = bidders[(round_ - 1) % 2], bidders[round_ % 2]
            price += 24_000
            await bid_once(me, price)
            await expect(me.locator("#message")).to_contain_text(
                f"出价成功：{format_yuan(price, symbol=True)}"
            )
            await expect(me.locator("#leader")).to_have_text(re.compile("^我"))
            await expect(other.locator("#price")).to_have_text(format_yuan(price, symbol=True))
            await expect(other.locator("#round")).to_have_text(str(round_))
        await expect(watcher.locator("#price")).to_have_text("¥24,000.00")
        await expect(watcher.locator("#price-words")).to_have_text("贰万肆仟元整")
        await expect(watcher.locator("#ladder tr")).to_have_count(50)

        # The bidder who was outbid tries a bid that is now too low: a clear refusal.
        # (bidders[0] led at round 49; bidders[1] leads now.)
        await expect(bidders[1].locator("#leader")).to_have_text(re.compile("^我"))

        # No identities during the auction: neither in the pages nor in any websocket frame.
        during = [await watcher.content(), await village.content(), *frames]
        for name, id_number, mobile in people:
            for secret in (name, id_number, mobile):
                assert not any(secret in text for text in during), secret

        # The countdown expires: the deal, with the premium and the income over the term.
        await ex.end_countdown(listing_id)
        await expect(watcher.locator("#result")).to_be_visible()
        await expect(watcher.locator("#result-text")).to_contain_text("¥24,000.00")
        await expect(bidders[1].locator("#outcome")).to_contain_text("恭喜您竞得本项目")
        await expect(bidders[0].locator("#outcome")).to_contain_text("您未竞得本项目")
        await watcher.goto(f"{base}/listings/{listing_id}")
        await expect(watcher.get_by_test_id("premium-rate")).to_have_text("100.00 %")
        await expect(watcher.get_by_test_id("premium-over-term")).to_have_text("+¥120,000.00")
        await expect(watcher.get_by_test_id("final-price")).to_have_text("¥24,000.00")
        await expect(watcher.get_by_test_id("rounds")).to_have_text("50")
        await village.goto(f"{base}/village/listings/{listing_id}")
        await expect(village.get_by_test_id("premium-over-term")).to_have_text("+¥120,000.00")
        await expect(village.get_by_test_id("contract-value")).to_have_text("¥240,000.00")
        await bidders[1].goto(f"{base}/me/deals")
        await expect(bidders[1].get_by_test_id("premium-rate")).to_have_text("100.00 %")


async def test_live_page_survives_a_dropped_connection(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    async with live_exchange(tmp_path, redis=None, workers=1) as ex, chromium(request) as browser:
        listing_id, people, registrations = await ex.running_auction(
            bidders=3, countdown_seconds=120
        )
        proxy = await TcpProxy(port_of(ex.servers[0].base_url)).start()
        try:
            page = await browser.page("bidder", width=375, height=740)
            await login(page, proxy.base_url, people[0].username or "")
            await page.goto(f"{proxy.base_url}/auctions/{listing_id}")
            await expect(page.locator("#conn")).to_have_attribute("data-state", "open")
            await expect(page.locator("#you")).to_have_text(registrations[0]["bidder_number"])

            await bid_once(page, 1_224_000)
            await expect(page.locator("#message")).to_contain_text("出价成功")

            proxy.cut()
            await expect(page.locator("#conn")).to_have_attribute(
                "data-state", re.compile("reconnecting|offline")
            )
            await expect(page.locator("#conn")).to_contain_text("重连")
            await expect(page.locator("#steps button").first).to_be_disabled()

            # Meanwhile the two others bid four times.
            price = 1_224_000
            for i in range(4):
                price += 24_000
                answer = await people[1 + i % 2].ok(
                    "POST",
                    f"/api/v1/auctions/{listing_id}/bids",
                    {"amount_fen": price, "ref": f"drop-{i}"},
                )
                assert answer["round"] == 2 + i
            await expect(page.locator("#price")).to_have_text("¥12,240.00")  # still cut off

            proxy.restore()
            await expect(page.locator("#conn")).to_have_attribute(
                "data-state", "open", timeout=20_000
            )
            await expect(page.locator("#price")).to_have_text(format_yuan(price, symbol=True))
            await expect(page.locator("#round")).to_have_text("5")
            await expect(page.locator("#ladder tr")).to_have_count(5)
            seqs = await page.locator("#ladder tr").evaluate_all(
                "rows => rows.map(r => Number(r.dataset.seq))"
            )
            assert len(set(seqs)) == 5 and seqs == sorted(seqs, reverse=True)

            # And bids again on the caught-up price.
            await bid_once(page, price + 24_000)
            await expect(page.locator("#message")).to_contain_text("出价成功")
            await expect(page.locator("#leader")).to_have_text(re.compile("^我"))
        finally:
            await proxy.stop()


async def test_live_page_fits_a_phone_and_speaks_chinese_amounts(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    async with live_exchange(tmp_path, redis=None, workers=1) as ex, chromium(request) as browser:
        listing_id, people, _ = await ex.running_auction(bidders=2, countdown_seconds=120)
        base = ex.servers[0].base_url
        page = await browser.page("phone", width=375, height=740)
        await login(page, base, people[0].username or "")
        await page.goto(f"{base}/auctions/{listing_id}")
        await expect(page.locator("#conn")).to_have_attribute("data-state", "open")
        await expect(page.locator("#steps button")).to_have_count(11)  # equal-start + 10 steps
        await bid_once(page, 1_248_000)
        await expect(page.locator("#message")).to_contain_text("出价成功")
        # The leader may not raise their own bid: the buttons are off, and the page says why.
        await expect(page.locator("#steps button.step").first).to_be_disabled()
        await expect(page.locator("#bid-hint")).to_contain_text("您目前是最高出价人")

        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, width
        await page.locator("#confirm-cancel").evaluate("b => b")  # dialog markup is present
        for path in ("/", f"/listings/{listing_id}", "/me/registrations", "/listings"):
            await page.goto(f"{base}{path}")
            width = await page.evaluate("document.documentElement.scrollWidth")
            assert width <= 375, (path, width)

        # The page's 大写 is the same as core.money's.
        amounts = [
            0,
            1,
            10,
            100,
            101,
            1_000,
            10_010,
            100_000,
            1_010_000,
            1_200_000,
            2_400_000,
            10_000_000,
            100_100_000,
            1_000_000_000,
            123_456_789_012,
            10**13,
        ]
        words = await page.evaluate("a => a.map(RX.inWords)", amounts)
        assert words == [yuan_in_words(a) for a in amounts]
        figures = await page.evaluate("a => a.map(RX.yuan)", amounts)
        assert figures == [format_yuan(a, symbol=True) for a in amounts]
        assert json.dumps(words, ensure_ascii=False)


async def test_live_page_counts_down_to_a_fixed_end_and_says_when_extended(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    async with live_exchange(tmp_path, redis=None, workers=1) as ex, chromium(request) as browser:
        admin = await ex.anon.login("admin")
        await admin.ok(
            "PUT",
            "/api/v1/settings",
            {"notice_period_working_days": 0, "qualification_window_minutes": 0},
        )
        terms = {
            **SEED_LISTING["terms"],
            "auction_mode": "fixed_end",
            "duration_minutes": 30,
            "extension_seconds": 120,
            "hard_cap_minutes": 40,
        }
        announced = ex.clock.now()
        listing_id, _, reviewer = await entrust_review_announce(
            ex.anon,
            announced,
            closes_in=REGISTRATION,
            starts_in=REGISTRATION + timedelta(minutes=1),
            listing={**SEED_LISTING, "terms": terms},
        )
        people, _ = await sign_up_and_qualify(ex.anon, reviewer, listing_id, 2)
        await ex.close_registration(listing_id, announced)
        watcher = await ex.room(listing_id).connect(last_seq=0)
        try:
            ex.clock.jump_to(announced + REGISTRATION + timedelta(minutes=1, seconds=1))
            await watcher.wait_for(lambda f: f["type"] == "phase" and f["status"] == "free")
        finally:
            await watcher.close()
        base = ex.servers[0].base_url
        page = await browser.page("bidder")
        await login(page, base, people[0].username or "")
        await page.goto(f"{base}/auctions/{listing_id}")
        await expect(page.locator("#conn")).to_have_attribute("data-state", "open")
        await expect(page.locator("#phase-label")).to_have_text("竞价中")
        await expect(page.locator("#phase-hint")).to_contain_text("最后 120 秒内有出价的")
        # 30 minutes less a second: a clock of hours, minutes and seconds, not a countdown's.
        await expect(page.locator("#clock")).to_have_text(re.compile(r"^(29|30):\d\d$"))

        # A minute before the scheduled end, another bidder bids: the end moves (延时).
        ex.clock.jump_to(announced + REGISTRATION + timedelta(minutes=30))
        await people[1].relogin()
        await people[1].ok(
            "POST",
            f"/api/v1/auctions/{listing_id}/bids",
            {"amount_fen": 1_224_000, "ref": "late"},
        )
        await expect(page.locator("#phase-label")).to_have_text("延时竞价")
        await expect(page.locator("#phase-hint")).to_contain_text("已延时")
        await expect(page.locator("#price")).to_have_text("¥12,240.00")
