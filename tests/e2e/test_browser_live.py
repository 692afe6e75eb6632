"""The live page in Chromium as bidders and a reviewer use it, on a 375 × 812 phone and a
1280 × 800 desktop (docs/ui.md, the live page):

1. Three bidders race: the bar with the price, the clock and my last answer stays in view;
   the leader cannot bid against himself; a confirmation follows a rival's price; the bidder a
   rival overtakes is told so (banner, and vibration once he turned it on); a refusal shows
   the new minimum; the reviewer pauses and resumes through a confirmation with a reason;
   the ladder counts rounds 1..n with 领先 / 出局; at the end the winner is congratulated
   and the loser told when his deposit comes back.
2. The waiting room: my bidder number, a countdown on the server's clock without reloading,
   then the live page; a listing that failed says so and what becomes of the deposit.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from app.pages.labels import zh_deadline
from core.money import format_yuan
from tests.e2e.browser_support import (
    ALWAYS_SHOOT,
    ARTIFACTS,
    BROWSER_TESTS,
    Browser,
    chromium,
    login,
)
from tests.e2e.conftest import REGISTRATION, live_exchange
from tests.support import entrust_review_announce, sign_up_and_qualify

pytestmark = [*BROWSER_TESTS, pytest.mark.slow, pytest.mark.timeout(300)]

PHONE = (375, 812)
DESKTOP = (1280, 800)


def expect(locator: Any) -> Any:
    from playwright.async_api import expect as _expect

    return _expect(locator)


def yuan(fen: int) -> str:
    return format_yuan(fen, symbol=True)


async def open_bid(page: Any, amount_fen: int) -> None:
    """Tap the step that bids `amount_fen`; the confirmation opens with that amount."""
    await page.locator(f'#steps button.step[data-amount="{amount_fen}"]').click()
    await expect(page.locator("#confirm-amount")).to_have_text(yuan(amount_fen))


async def confirm(page: Any) -> None:
    await page.locator("#confirm").get_by_role("button", name="确认出价").click()


async def in_view(page: Any, selector: str) -> None:
    """The element lies wholly inside the viewport, wherever the page is scrolled."""
    box = await page.locator(selector).bounding_box()
    height = page.viewport_size["height"]
    assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= height, (
        selector,
        box,
        height,
    )


async def scroll_to_bottom(page: Any) -> None:
    await page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
    await page.wait_for_function("window.scrollY + innerHeight >= document.body.scrollHeight - 2")


async def shoot(browser: Browser, state: str) -> None:
    """Screenshots of every page in `state` (tests/artifacts/, with RURALX_SCREENSHOTS=1),
    each page from its top: a full-page shot would draw the sticky bar wherever the page was
    scrolled. The pages go to their top either way, so the steps after see the same pages."""
    for _, page in browser.pages:
        await page.evaluate("window.scrollTo(0, 0)")
    await browser.shoot(state)


async def shoot_viewport(browser: Browser, page: Any, label: str, state: str) -> None:
    """What the screen shows now (the sticky bar over the scrolled page), with
    RURALX_SCREENSHOTS=1."""
    if not ALWAYS_SHOOT:
        return
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"{browser.name}-{label}-{state}.png"))


class HeldBids:
    """Routes a page's websocket so the room's `bid` frames can be held back, as a slow
    broadcast would (the bidder's own replies still pass)."""

    def __init__(self) -> None:
        self.holding = False
        self.held: list[str] = []
        self.route: Any = None

    async def install(self, page: Any) -> None:
        async def handler(ws: Any) -> None:
            self.route = ws
            server = ws.connect_to_server()

            def to_page(message: str | bytes) -> None:
                text = message if isinstance(message, str) else message.decode()
                if self.holding and json.loads(text).get("type") == "bid":
                    self.held.append(text)
                else:
                    ws.send(text)

            server.on_message(to_page)
            ws.on_message(lambda message: server.send(message))

        await page.route_web_socket(re.compile(r"/ws/auctions/\d+$"), handler)

    def release(self) -> None:
        self.holding = False
        for text in self.held:
            self.route.send(text)
        self.held.clear()


async def phone_and_desktop(
    browser: Browser, first: tuple[int, int], labels: list[str]
) -> list[Any]:
    """One page per label, the first at `first`, the rest at the other size."""
    other = DESKTOP if first == PHONE else PHONE
    pages = []
    for i, label in enumerate(labels):
        width, height = first if i == 0 else other
        pages.append(await browser.page(label, width=width, height=height))
    return pages


@pytest.mark.parametrize("size", [PHONE, DESKTOP], ids=["phone", "desktop"])
async def test_bidders_race_and_the_reviewer_pauses(
    tmp_path: Path, request: pytest.FixtureRequest, size: tuple[int, int]
) -> None:
    async with live_exchange(tmp_path, redis=None, workers=1) as ex, chromium(request) as browser:
        listing_id, people, registrations = await ex.running_auction(
            bidders=3, countdown_seconds=600
        )
        numbers = [r["bidder_number"] for r in registrations]
        base = ex.servers[0].base_url
        a, b, reviewer = await phone_and_desktop(
            browser, size, ["bidder-a", "bidder-b", "reviewer"]
        )
        c = people[2]  # the third bidder bids through the API
        # A turned the outbid alert on earlier on this device; the test stands in for the
        # vibration motor.
        await a.add_init_script(
            "localStorage.setItem('ruralx.live.outbidAlert', '1');"
            "window.vibrations = [];"
            "navigator.vibrate = function (p) { window.vibrations.push(p); return true; };"
        )
        held = HeldBids()
        await held.install(a)
        for page, person in ((a, people[0]), (b, people[1])):
            await login(page, base, person.username or "")
            await page.goto(f"{base}/auctions/{listing_id}")
            await expect(page.locator("#conn")).to_have_attribute("data-state", "open")
        await expect(a.locator("#alert-toggle")).to_be_checked()
        await expect(b.locator("#alert-toggle")).not_to_be_checked()  # off unless turned on

        # A bids one step over the start; the answer shows in the bar, which stays in view.
        await open_bid(a, 1_224_000)
        await confirm(a)
        await expect(a.locator("#message")).to_contain_text("出价成功：¥12,240.00（第 1 轮）")
        await scroll_to_bottom(a)
        await in_view(a, "#live-bar")
        await in_view(a, "#message")
        await shoot_viewport(browser, a, "bidder-a", "accepted-scrolled")
        await shoot(browser, "accepted")

        # The leader may not raise his own bid: every button is off, and he is told why.
        leader_steps = a.locator("#steps button")
        await expect(leader_steps.first).to_be_disabled()
        assert await leader_steps.evaluate_all("bs => bs.every(b => b.disabled)")
        await expect(a.locator("#bid-hint")).to_contain_text("您目前是最高出价人")
        await expect(b.locator("#minimum")).to_have_text("¥12,480.00")
        await expect(b.locator("#steps button").first).to_be_enabled()

        # B's confirmation is open at +2 steps when C bids: it follows the new price.
        await open_bid(b, 1_272_000)
        await c.ok(
            "POST",
            f"/api/v1/auctions/{listing_id}/bids",
            {"amount_fen": 1_248_000, "ref": "c-1"},
        )
        await expect(b.locator("#confirm-amount")).to_have_text("¥12,960.00")
        await expect(b.locator("#confirm-note")).to_contain_text("价格已变动")
        await expect(b.locator("#confirm-basis")).to_contain_text("¥12,480.00 加 2 档")
        # A led and was overtaken: a banner in the bar, the vibration he asked for, and his
        # old "出价成功" is gone.
        await expect(a.locator("#outbid")).to_be_visible()
        await expect(a.locator("#outbid")).to_contain_text(f"您已被超越：竞买号 {numbers[2]}")
        await expect(a.locator("#message")).to_have_text("")
        assert await a.evaluate("window.vibrations.length") == 1
        await expect(a.locator("#steps button").first).to_be_enabled()
        await in_view(a, "#outbid")
        await shoot(browser, "outbid-and-following")
        await confirm(b)  # waits out the moment the button holds after the change
        await expect(b.locator("#message")).to_contain_text("出价成功：¥12,960.00")
        await expect(a.locator("#outbid")).to_contain_text(f"竞买号 {numbers[1]} 出价 ¥12,960.00")

        # A race lost: C's bid reaches the server first while the room's frame to A is slow.
        held.holding = True
        await open_bid(a, 1_320_000)
        await c.ok(
            "POST",
            f"/api/v1/auctions/{listing_id}/bids",
            {"amount_fen": 1_320_000, "ref": "c-2"},
        )
        await confirm(a)
        await expect(a.locator("#message")).to_have_attribute("data-code", "stale")
        await expect(a.locator("#message")).to_contain_text("出价前价格已被他人刷新")
        await expect(a.locator("#message")).to_contain_text("正在获取最新价格")
        held.release()
        await expect(a.locator("#message")).to_contain_text("当前最低可出价 ¥13,440.00")
        await in_view(a, "#message")
        await shoot(browser, "refused")

        # The reviewer: only the valid action, behind a confirmation that needs a reason.
        await login(reviewer, base, "reviewer")
        await reviewer.goto(f"{base}/auctions/{listing_id}")
        await expect(reviewer.locator("#conn")).to_have_attribute("data-state", "open")
        pause, resume = reviewer.locator("#ctl-pause"), reviewer.locator("#ctl-resume")
        await expect(pause).to_be_visible()
        await expect(resume).to_be_hidden()
        await pause.click()
        dialog = reviewer.get_by_role("dialog", name="确认暂停竞价")
        await expect(dialog).to_be_visible()
        await expect(reviewer.get_by_label("原因")).to_be_focused()
        await dialog.get_by_role("button", name="确认暂停").click()
        await expect(reviewer.locator("#ctl-error")).to_have_text("请填写暂停或恢复的原因")
        await shoot(browser, "pause-confirmation")
        await reviewer.keyboard.press("Escape")  # cancelling pauses nothing
        await expect(dialog).to_be_hidden()
        await expect(pause).to_be_focused()
        snapshot = await ex.anon.ok("GET", f"/api/v1/auctions/{listing_id}")
        assert snapshot["status"] == "countdown"
        await pause.press("Enter")
        await reviewer.get_by_label("原因").fill("网络故障排查")
        await reviewer.keyboard.press("Enter")
        await expect(resume).to_be_visible()
        await expect(pause).to_be_hidden()
        await expect(a.locator("#phase-label")).to_have_text("已暂停")
        await expect(a.locator("#phase-hint")).to_contain_text("网络故障排查")
        await expect(a.locator("#clock")).to_have_text(re.compile(r"^\d\d:\d\d$"))  # frozen
        await expect(a.locator("#steps button").first).to_be_disabled()
        await shoot(browser, "paused")
        await resume.click()
        dialog = reviewer.get_by_role("dialog", name="确认恢复竞价")
        await reviewer.get_by_label("原因").fill("故障已排除")
        await dialog.get_by_role("button", name="确认恢复").click()
        await expect(pause).to_be_visible()
        await expect(resume).to_be_hidden()
        await expect(a.locator("#phase-label")).to_have_text("限时竞价")

        # B bids again; the ladder counts rounds 1..5 (the pause's events in between are not
        # rounds) with the leader on top.
        await open_bid(b, 1_344_000)
        await confirm(b)
        await expect(b.locator("#message")).to_contain_text("出价成功：¥13,440.00（第 5 轮）")
        for page in (a, b):
            await expect(page.locator("#ladder tr")).to_have_count(5)
            await expect(page.locator("#ladder tr td:first-child")).to_have_text(
                ["5", "4", "3", "2", "1"]
            )
            await expect(page.locator("#ladder td.st")).to_have_text(
                ["领先", "出局", "出局", "出局", "出局"]
            )
        await shoot(browser, "ladder")

        # The end: the winner congratulated with the next step, the loser told his refund date.
        await ex.end_countdown(listing_id)
        await expect(b.locator("#outcome")).to_contain_text("恭喜您竞得本项目")
        await expect(b.locator("#outcome a[href='/me/deals']")).to_be_visible()
        mine = await (await people[0].relogin()).ok(
            "GET", f"/api/v1/registrations/{registrations[0]['id']}"
        )
        assert mine["deposit_state"] == "refundable"
        due = zh_deadline(mine["refund_due_at"])
        await expect(a.locator("#message")).to_have_text(f"未竞得，保证金将于 {due}前退还")
        await expect(a.locator("#outcome")).to_contain_text(
            f"成交价 ¥13,440.00，竞得人竞买号 {numbers[1]}。"
            f"您的保证金 ¥2,000.00 将于 {due}前原路退还"
        )
        await expect(b.locator("#message")).to_have_text("恭喜您竞得本项目")
        await expect(a.locator("#result")).to_be_hidden()  # the outcome says it for bidders
        for page in (a, b):
            await expect(page.locator("#price-label")).to_have_text("成交价")
            await expect(page.locator("#leader-label")).to_have_text("竞得人")
            await expect(page.locator("#ladder td.st").first).to_have_text("竞得")
            await expect(page.locator("#outbid")).to_be_hidden()
            bar = await page.locator("#live-bar").inner_text()
            assert bar.count("结束") == 1, bar
        await expect(a.locator("#leader")).to_have_text(numbers[1])
        await expect(b.locator("#leader")).to_have_text(f"我（{numbers[1]}）")
        await in_view(a, "#message")
        await shoot(browser, "ended")


async def test_waiting_room_counts_down_then_opens_the_live_page(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    async with live_exchange(tmp_path, redis=None, workers=1) as ex, chromium(request) as browser:
        admin = await ex.anon.login("admin")
        await admin.ok(
            "PUT",
            "/api/v1/settings",
            {
                "notice_period_working_days": 0,
                "qualification_window_minutes": 0,
                "free_bidding_minutes": 0,
                "countdown_seconds": 120,
                "single_bidder_policy": "fail",
            },
        )
        announced = ex.clock.now()
        timing = {"closes_in": REGISTRATION, "starts_in": REGISTRATION + timedelta(minutes=1)}
        listing_id, _, reviewer = await entrust_review_announce(ex.anon, announced, **timing)
        people, registrations = await sign_up_and_qualify(ex.anon, reviewer, listing_id, 2)
        # A second listing, closing at the same time with one qualified bidder: too few, and
        # the rules say a single bidder fails the listing.
        failing_id, _, _ = await entrust_review_announce(ex.anon, announced, **timing)
        late, late_regs = await sign_up_and_qualify(ex.anon, reviewer, failing_id, 1)
        base = ex.servers[0].base_url

        bidder = await browser.page("bidder", width=PHONE[0], height=PHONE[1])
        watcher = await browser.page("watcher", width=DESKTOP[0], height=DESKTOP[1])
        loner = await browser.page("loner", width=DESKTOP[0], height=DESKTOP[1])
        await login(bidder, base, people[0].username or "")
        await login(loner, base, late[0].username or "")

        # Shortly before registration closes, in server time.
        ex.clock.jump_to(announced + REGISTRATION - timedelta(seconds=6))
        for page, listing in ((bidder, listing_id), (watcher, listing_id), (loner, failing_id)):
            await page.goto(f"{base}/auctions/{listing}")
            await expect(page.locator("#waiting")).to_be_visible()
        number = registrations[0]["bidder_number"]
        await expect(bidder.get_by_test_id("bidder-number")).to_have_text(number)
        await expect(watcher.get_by_test_id("bidder-number")).to_have_count(0)
        assert number not in await watcher.content()
        await bidder.evaluate("window.stillThisPage = true")
        clock = bidder.locator("#start-clock")
        await expect(clock).to_have_text(re.compile(r"^01:0\d$"))
        first = await clock.inner_text()
        await expect(clock).not_to_have_text(first)  # it counts …
        assert await bidder.evaluate("window.stillThisPage === true")  # … without reloading
        await shoot(browser, "waiting")

        # Registration closes: an auction for the first listing (the live page, counting on to
        # the start), a failed one for the second (what happened, and the deposit).
        await expect(bidder.locator("#live")).to_be_visible(timeout=30_000)
        await expect(bidder.locator("#you")).to_have_text(number)
        await expect(bidder.locator("#conn")).to_have_attribute("data-state", "open")
        await expect(bidder.locator("#phase-label")).to_have_text("待开始")
        await expect(watcher.locator("#live")).to_be_visible(timeout=30_000)
        await expect(loner.locator("#concluded")).to_be_visible(timeout=30_000)
        await expect(loner.get_by_test_id("concluded")).to_contain_text("合格竞买人不足，流拍")
        refund = await (await late[0].relogin()).ok(
            "GET", f"/api/v1/registrations/{late_regs[0]['id']}"
        )
        assert refund["deposit_state"] == "refundable"
        await expect(loner.get_by_test_id("deposit-fate")).to_contain_text(
            f"您的保证金 ¥2,000.00 将于 {zh_deadline(refund['refund_due_at'])}前原路退还"
        )
        await shoot(browser, "closed")

        await ex.start_auction(listing_id, announced)
        await expect(bidder.locator("#phase-label")).to_have_text("限时竞价")
        await expect(bidder.locator("#steps button").first).to_be_enabled()
        assert (await ex.anon.ok("GET", f"/api/v1/listings/{failing_id}"))["state"] == "failed"
