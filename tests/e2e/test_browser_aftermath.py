"""After the hammer in a real browser (Playwright + Debian's Chromium) against `ruralx run`
(docs/domain.md §6, docs/ui.md): two listings whose terms offer a voided deal to the runner-up,
each auctioned among three bidders. On the first a bidder objects during the result publicity,
the reviewer upholds the objection and the runner-up accepts the offer; on the second the
reviewer records the winner's withdrawal (confirmed on a second step) and the runner-up
accepts, so the lease is drafted for them. Server time jumps over the publicity periods
(tests.servers.ServerClock); the bids go through the API, everything after them by clicking.
"""

from __future__ import annotations

import functools
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.browser_support import BROWSER_TESTS, chromium, fill_resolution, login
from tests.e2e.conftest import REGISTRATION, LiveExchange, live_exchange
from tests.support import (
    SEED_LISTING,
    SEED_TERMS,
    Http,
    entrust_review_announce,
    iso,
    sign_up_and_qualify,
    until,
)

pytestmark = [*BROWSER_TESTS, pytest.mark.slow, pytest.mark.timeout(240)]

STEP = SEED_TERMS["increment_fen"]
#: The runner-up's last bid: the start plus two steps (A +1, B +2, A +3).
RUNNER_UP_PRICE = "¥12,480.00"


def expect(locator: Any) -> Any:
    from playwright.async_api import expect as _expect

    return _expect(locator)


def at(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


async def deal_state(ex: LiveExchange, listing_id: int, state: str) -> dict[str, Any]:
    """Wait until the listing's deal is in `state` (the scheduler confirms after publicity)."""
    response = await until(
        lambda: ex.anon.call("GET", f"/api/v1/listings/{listing_id}/deal"),
        lambda r: r.status_code == 200 and r.json()["deal_state"] == state,
        what=f"deal {listing_id} {state}",
    )
    deal: dict[str, Any] = response.json()
    return deal


async def past_publicity(ex: LiveExchange, *listing_ids: int) -> None:
    """Server time jumps past the latest publicity end of these deals; each is confirmed."""
    ends = []
    for listing_id in listing_ids:
        deal = await ex.anon.ok("GET", f"/api/v1/listings/{listing_id}/deal")
        ends.append(at(deal["publicity_ends_at"]))
    ex.clock.jump_to(max(ends) + timedelta(seconds=1))
    for listing_id in listing_ids:
        await deal_state(ex, listing_id, "confirmed")


async def run_auctions(
    ex: LiveExchange, listing_ids: list[int], people: dict[int, list[Http]], announced: datetime
) -> None:
    """Registration closes and the auctions start; A bids +1 step, B +2, A +3 in each; the
    countdowns run out."""
    ex.clock.jump_to(announced + REGISTRATION + timedelta(minutes=1, seconds=1))
    for listing_id in listing_ids:
        await until(
            functools.partial(ex.anon.call, "GET", f"/api/v1/auctions/{listing_id}"),
            lambda r: r.status_code == 200 and r.json()["status"] == "countdown",
            what=f"auction {listing_id} running",
        )
        a, b, _ = people[listing_id]
        for n, who in enumerate((a, b, a), start=1):
            amount = SEED_TERMS["listing_price_fen"] + n * STEP
            await who.ok(
                "POST",
                f"/api/v1/auctions/{listing_id}/bids",
                {"amount_fen": amount, "ref": f"e2e-{listing_id}-{n}"},
            )
    for listing_id in listing_ids:
        await ex.pass_deadline(listing_id)
        await deal_state(ex, listing_id, "publicity")


async def test_objection_offer_and_default_through_the_pages(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    # Sessions outlive the jumps over the publicity periods (days of server time).
    async with (
        live_exchange(
            tmp_path, redis=None, workers=1, RURALX_TOKEN_TTL_SECONDS=str(60 * 86400)
        ) as ex,
        chromium(request) as browser,
    ):
        base = ex.servers[0].base_url

        # Short rules for the test, a result publicity of one working day.
        admin = await browser.page("admin")
        await login(admin, base, "admin")
        await admin.goto(f"{base}/admin/settings")
        await admin.get_by_label("公告期（工作日）").fill("0")
        await admin.get_by_label("资格确认期（报名截止至竞价开始，分钟）").fill("0")
        await admin.get_by_label("自由竞价时长（分钟）").fill("0")
        await admin.get_by_label("限时竞价倒计时（秒）").fill("60")
        await admin.get_by_label("结果公示期（工作日）").fill("1")
        await admin.get_by_role("button", name="保存交易规则").click()
        await expect(admin.locator(".flash")).to_contain_text("交易规则已更新")

        # The village entrusts the first listing, choosing the runner-up rule on the form.
        village = await browser.page("village", width=390, height=844)
        await login(village, base, "xingtian")
        await village.goto(f"{base}/village/listings/new")
        await village.get_by_label("项目名称").fill(SEED_LISTING["title"])
        await village.get_by_label("资产类别").select_option("collective_operating_assets")
        await village.get_by_label("坐落位置").fill(SEED_LISTING["location"])
        await village.get_by_label("挂牌价（元）").fill("12000")
        await village.get_by_label("流转期限（年）").fill("10")
        await village.get_by_label("加价幅度（元）").fill("240")
        await village.get_by_label("每次最多加价档数").fill("10")
        await village.get_by_label("竞买保证金（元）").fill("2000")
        await village.get_by_label("竞得人违约的处理").select_option(label="向候补竞买人递补成交")
        await fill_resolution(village)
        await village.get_by_role("button", name="保存委托").click()
        await expect(village.locator(".flash")).to_contain_text("委托已保存为草稿")
        first = int(re.search(r"/village/listings/(\d+)", village.url).group(1))  # type: ignore[union-attr]
        await expect(village.get_by_test_id("on-default")).to_contain_text("向候补竞买人递补成交")
        await village.get_by_role("button", name="提交审核").click()
        await expect(village.locator(".flash")).to_contain_text("已提交")

        announced = ex.clock.now()
        reviewer_api = await ex.anon.login("reviewer")
        await reviewer_api.ok(
            "POST",
            f"/api/v1/listings/{first}/review",
            {"decision": "accept", "reason": "材料齐全"},
        )
        await reviewer_api.ok(
            "POST",
            f"/api/v1/listings/{first}/announce",
            {
                "registration_closes_at": iso(announced + REGISTRATION),
                "auction_starts_at": iso(announced + REGISTRATION + timedelta(minutes=1)),
            },
        )
        runner_up_terms = {**SEED_TERMS, "on_default": "runner_up"}
        second, _, reviewer_api = await entrust_review_announce(
            ex.anon,
            announced,
            closes_in=REGISTRATION,
            starts_in=REGISTRATION + timedelta(minutes=1),
            listing={**SEED_LISTING, "terms": runner_up_terms},
        )
        # Before anyone bids, the announcement says what a default costs and what follows.
        watcher = await browser.page("watcher")
        await watcher.goto(f"{base}/listings/{second}")
        await expect(watcher.get_by_test_id("on-default")).to_contain_text("向候补竞买人递补成交")
        await expect(watcher.get_by_test_id("forfeiture")).to_have_text(
            "竞得人逾期未签约或放弃竞得的，竞买保证金不予退还"
        )

        people = {}
        for listing_id in (first, second):
            people[listing_id], _ = await sign_up_and_qualify(ex.anon, reviewer_api, listing_id, 3)
        await run_auctions(ex, [first, second], people, announced)

        # First listing: the third bidder objects on the listing page during the publicity.
        objector = await browser.page("objector", width=375, height=740)
        await login(objector, base, people[first][2].username or "")
        await objector.goto(f"{base}/listings/{first}")
        await expect(objector.get_by_test_id("deal-state")).to_contain_text("成交公示中")
        await objector.get_by_label("异议事实和理由").fill("竞得人与村干部存在关联关系，附相关材料")
        await objector.get_by_role("button", name="提交异议").click()
        await expect(objector.locator(".flash")).to_contain_text("异议已提交")
        await expect(objector.get_by_test_id("objection-state")).to_have_text("待处理")

        # The reviewer upholds it with reasons: the deal is offered to the runner-up.
        reviewer = await browser.page("reviewer")
        await login(reviewer, base, "reviewer")
        await reviewer.goto(f"{base}/review/listings/{first}")
        await reviewer.get_by_label("维持异议（成交无效）").check()
        await reviewer.get_by_label("处理意见和理由").fill("经核查关联关系属实，成交无效")
        await reviewer.get_by_role("button", name="提交处理决定").click()
        await expect(reviewer.locator(".flash")).to_contain_text("已维持异议")
        await expect(reviewer.get_by_test_id("review-deal-state")).to_have_text("候补递补中")
        await objector.reload()
        await expect(objector.get_by_test_id("objection-state")).to_have_text(
            "异议成立（成交无效）"
        )

        # The runner-up finds the notice among their registrations and accepts on the page.
        runner_up = await browser.page("runner-up", width=390, height=844)
        await login(runner_up, base, people[first][1].username or "")
        await runner_up.goto(f"{base}/me/registrations")
        notice = runner_up.locator(f'[data-reg] a[href="/listings/{first}#offer"]')
        await notice.click()
        await expect(runner_up.get_by_test_id("offer-price")).to_contain_text(RUNNER_UP_PRICE)
        await runner_up.get_by_role("button", name="接受递补成交").click()
        await expect(runner_up.locator(".flash")).to_contain_text("您已接受递补成交")
        await expect(runner_up.get_by_test_id("deal-state")).to_contain_text("成交公示中")

        # Both publicities end: the runner-up's deal on the first listing and the winner's on
        # the second are confirmed and their leases drafted.
        await past_publicity(ex, first, second)
        await runner_up.goto(f"{base}/me/deals")
        await expect(runner_up.get_by_test_id("deal-state").first).to_contain_text("成交已确认")
        await expect(runner_up.get_by_test_id("contract-state").first).to_have_text("待村集体签署")

        # Second listing: the winner withdrew in writing; the reviewer records the default and
        # confirms it on the second step, which names the forfeited deposit.
        await reviewer.goto(f"{base}/review/listings/{second}")
        await expect(reviewer.get_by_test_id("review-deal-state")).to_have_text("成交已确认")
        await reviewer.get_by_label("违约情形").select_option(label="竞得后放弃（悔拍）")
        await reviewer.get_by_label("情况说明").fill("竞得人书面声明放弃竞得")
        await reviewer.get_by_role("button", name="认定违约").click()
        confirm = reviewer.get_by_test_id("default-confirm")
        await expect(confirm).to_contain_text("其竞买保证金 ¥2,000.00 不予退还")
        await expect(confirm).to_contain_text("向候补竞买人递补成交")
        await confirm.get_by_role("button", name="确认认定违约").click()
        await expect(reviewer.locator(".flash")).to_contain_text("已认定竞得人违约")
        await expect(reviewer.get_by_test_id("review-deal-state")).to_have_text("候补递补中")

        # The second listing's runner-up accepts on the listing page.
        backup = await browser.page("backup")
        await login(backup, base, people[second][1].username or "")
        await backup.goto(f"{base}/listings/{second}")
        await expect(backup.get_by_test_id("offer-price")).to_contain_text(RUNNER_UP_PRICE)
        await backup.get_by_role("button", name="接受递补成交").click()
        await expect(backup.locator(".flash")).to_contain_text("您已接受递补成交")

        # Published in turn, then confirmed: the lease is drafted for the runner-up.
        await past_publicity(ex, second)
        deal = await ex.anon.ok("GET", f"/api/v1/listings/{second}/deal")
        backup_api = await people[second][1].relogin()
        contract = await backup_api.ok("GET", f"/api/v1/contracts/{deal['contract_id']}")
        number = (await backup_api.ok("GET", "/api/v1/registrations"))["items"][0]
        assert contract["parties"]["winner"]["bidder_number"] == number["bidder_number"]
        assert deal["kind"] == "runner_up" and deal["final_fen"] == 1_248_000
        await backup.goto(f"{base}/me/deals")
        await expect(backup.get_by_test_id("contract-state")).to_have_text("待村集体签署")
        await expect(backup.get_by_test_id("final-price")).to_have_text(RUNNER_UP_PRICE)
        # The deposit of the winner who withdrew is kept; the log says so in words.
        await reviewer.goto(f"{base}/review/listings/{second}")
        await expect(reviewer.locator("ol.timeline")).to_contain_text("认定竞得人违约")
        await expect(reviewer.locator("ol.timeline")).to_contain_text("没收保证金 ¥2,000.00")
