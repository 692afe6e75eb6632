"""The bidder's path from the announcement to the lease in a real browser (Playwright +
Debian's Chromium) against `ruralx run`, on a phone (375 × 812) and a desktop (1280 × 800):

- the village entrusts with a site-visit contact and a photo; the announcement states every
  rule in sentences, shows the photo, the contact and 围观人数, and hides 报名人数 until
  registration closes;
- the bidder registers and lands on the deposit page: the exchange's account from the
  settings, the amount in figures and 大写, the transfer reference, the deadline; its status
  and the link's words follow the deposit and the qualification;
- the listing's documents open to him once his deposit is in, not before, and never to an
  anonymous visitor;
- he wins: his page shows his payment plan (not the collective's income), the signing
  deadline as the contract PDF writes it, and the signature report in sentences with the data
  as a download.

Bids go through the API and the bank's callback is the bank's; server time jumps over the
registration period, the auction and the publicity (tests.servers.ServerClock).
"""

from __future__ import annotations

import json
import re
import struct
import zlib
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from core.clock import deadline_zh
from tests.e2e.browser_support import BROWSER_TESTS, chromium, fill_resolution, login, sign_up
from tests.e2e.conftest import REGISTRATION, LiveExchange, live_exchange
from tests.support import (
    RESOLUTION_PDF,
    SEED_TERMS,
    iso,
    phone,
    resident_id,
    sign_up_and_qualify,
    until,
)
from tests.unit.test_contract_documents import pdftotext

pytestmark = [*BROWSER_TESTS, pytest.mark.slow, pytest.mark.timeout(300)]

ACCOUNT = {
    "deposit_bank_name": "中国农业银行泉州台商投资区支行",
    "deposit_account_name": "泉州台商投资区农村产权交易中心",
    "deposit_account_number": "1350 0101 0400 12345",
    "service_phone": "0595-87654321",
}
VIEWPORTS = {"phone": (375, 812), "desktop": (1280, 800)}
STEP = SEED_TERMS["increment_fen"]


def expect(locator: Any) -> Any:
    from playwright.async_api import expect as _expect

    return _expect(locator)


def png(width: int = 160, height: int = 120) -> bytes:
    """A real PNG picture (a green field under a blue sky) for the photo upload."""
    rows = bytearray()
    for y in range(height):
        rows.append(0)
        colour = (110, 160, 220) if y < height // 3 else (60, 140 + y % 40, 70)
        rows.extend(bytes(colour) * width)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(bytes(rows)))
        + chunk(b"IEND", b"")
    )


async def no_sideways_scroll(page: Any, width: int) -> None:
    scroll = await page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width, (page.url, scroll)


async def deal_in(ex: LiveExchange, listing_id: int, state: str) -> dict[str, Any]:
    response = await until(
        lambda: ex.anon.call("GET", f"/api/v1/listings/{listing_id}/deal"),
        lambda r: r.status_code == 200 and r.json()["deal_state"] == state,
        what=f"deal {state}",
    )
    deal: dict[str, Any] = response.json()
    return deal


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
async def test_the_bidders_path_on_the_pages(
    viewport: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    width, height = VIEWPORTS[viewport]
    async with (
        # Sessions outlive the jumps over the publicity (days of server time).
        live_exchange(
            tmp_path, redis=None, workers=1, RURALX_TOKEN_TTL_SECONDS=str(60 * 86400)
        ) as ex,
        chromium(request) as browser,
    ):
        base = ex.servers[0].base_url
        await ex.quick_rules(**ACCOUNT, result_publicity_working_days=1)

        # The village entrusts with whom to call to see the asset and a photo of it.
        village = await browser.page("village", width=width, height=height)
        await login(village, base, "xingtian")
        await village.goto(f"{base}/village/listings/new")
        await village.get_by_label("项目名称").fill("杏田村杏秀路口水泥地面公开招租")
        await village.get_by_label("资产类别").select_option("collective_operating_assets")
        await village.get_by_label("坐落位置").fill("洛阳镇杏田村杏秀路口")
        await village.get_by_label("挂牌价（元）").fill("12000")
        await village.get_by_label("流转期限（年）").fill("10")
        await village.get_by_label("加价幅度（元）").fill("240")
        await village.get_by_label("每次最多加价档数").fill("10")
        await village.get_by_label("竞买保证金（元）").fill("2000")
        await fill_resolution(village)
        await village.get_by_label("权属证明").set_input_files(
            files=[
                {
                    "name": "集体资产权属证明.pdf",
                    "mimeType": "application/pdf",
                    "buffer": RESOLUTION_PDF,
                }
            ]
        )
        await village.get_by_label("看样联系人").fill("林村主任")
        await village.get_by_label("看样联系电话").fill("138 0595 1234")
        await village.get_by_label("看样时间和方式").fill("工作日 9:00–17:00，请提前一天预约")
        await village.get_by_label("现场照片（JPEG 或 PNG，不超过 5 MB）").set_input_files(
            files=[{"name": "现场.png", "mimeType": "image/png", "buffer": png()}]
        )
        await browser.shoot("entrustment-form")
        await village.get_by_role("button", name="保存委托").click()
        await expect(village.locator(".flash")).to_contain_text("委托已保存为草稿")
        listing_id = int(re.search(r"/village/listings/(\d+)", village.url).group(1))  # type: ignore[union-attr]
        await village.get_by_role("button", name="提交审核").click()
        await expect(village.locator(".flash")).to_contain_text("已提交")
        reviewer = await ex.anon.login("reviewer")
        path = f"/api/v1/listings/{listing_id}"
        await reviewer.ok("POST", f"{path}/review", {"decision": "accept", "reason": "材料齐全"})
        announced = ex.clock.now()
        await reviewer.ok(
            "POST",
            f"{path}/announce",
            {
                "registration_closes_at": iso(announced + REGISTRATION),
                "auction_starts_at": iso(announced + REGISTRATION + timedelta(minutes=1)),
            },
        )
        closes = datetime.fromisoformat(
            (await ex.anon.ok("GET", path))["registration_closes_at"].replace("Z", "+00:00")
        )

        # An anonymous visitor reads the announcement: rules in sentences, photo, contact,
        # 围观人数, no 报名人数 yet, the documents named but closed.
        visitor = await browser.page("visitor", width=width, height=height)
        await visitor.goto(f"{base}/listings/{listing_id}")
        rules = visitor.get_by_test_id("notice-rules")
        for key, words in (
            ("phases", "不设自由竞价，竞价开始即进入限时竞价：每有新出价即重新计时 60 秒"),
            ("increment", "¥240.00（贰佰肆拾元整）"),
            ("increment", "每次最多加 10 个幅度"),
            ("self-outbid", "当前最高出价人不能再次加价"),
            ("reserve", "保留价"),
            ("single-bidder", "只有一名合格竞买人时：以挂牌价协议成交"),
            ("deposit", "¥2,000.00（贰仟元整）"),
            ("publicity", "成交结果公示 1 个工作日"),
            ("signing", "10 个工作日内"),
            ("refund", "5 个工作日内原路退还"),
        ):
            await expect(rules.locator(f'li[data-rule="{key}"]')).to_contain_text(words)
        await expect(visitor.get_by_test_id("deposit-account")).to_contain_text(
            ACCOUNT["deposit_account_number"]
        )
        await expect(visitor.get_by_test_id("site-visit")).to_contain_text(
            "林村主任，电话 138 0595 1234"
        )
        photo = visitor.locator("section.photos img").first
        await expect(photo).to_be_visible()
        # The photo loads lazily: below a phone's fold only once the visitor scrolls to it.
        await photo.scroll_into_view_if_needed()
        await visitor.wait_for_function("img => img.complete", arg=await photo.element_handle())
        assert await photo.evaluate("img => img.naturalWidth") == 160
        await expect(visitor.get_by_test_id("registered-hidden")).to_have_text(
            "报名人数：报名截止后公布"
        )
        await expect(visitor.get_by_test_id("watchers")).to_have_text("围观 1 人")
        await expect(visitor.get_by_test_id("documents-closed")).to_be_visible()
        assert await visitor.get_by_test_id("document-link").count() == 0
        anonymous = await ex.anon.call("GET", f"{path}/documents/1")
        assert anonymous.status_code == 401
        await no_sideways_scroll(visitor, width)
        await browser.shoot("announcement")

        # The bidder signs up, registers and lands on his deposit page.
        mobile = phone()
        bidder = await browser.page("bidder", width=width, height=height)
        await sign_up(bidder, base, "林一鸣", resident_id(), mobile)
        await bidder.goto(f"{base}/listings/{listing_id}")
        await expect(bidder.get_by_test_id("watchers")).to_have_text("围观 2 人")
        await bidder.get_by_label("我已阅读并接受本项目的挂牌条件和竞价规则").check()
        await bidder.get_by_role("button", name="报名参加竞价").click()
        await expect(bidder.locator(".flash")).to_contain_text("报名成功")
        assert re.search(r"/me/registrations/\d+\?done=registered$", bidder.url)
        deposit_page = bidder.url.split("?")[0]
        await expect(bidder.get_by_test_id("deposit-status")).to_have_text("待缴纳保证金")
        await expect(bidder.get_by_test_id("account-bank")).to_have_text(
            ACCOUNT["deposit_bank_name"]
        )
        await expect(bidder.get_by_test_id("account-name")).to_have_text(
            ACCOUNT["deposit_account_name"]
        )
        await expect(bidder.get_by_test_id("account-number")).to_have_text(
            ACCOUNT["deposit_account_number"]
        )
        await expect(bidder.get_by_test_id("deposit-amount")).to_have_text("¥2,000.00 （贰仟元整）")
        await expect(bidder.get_by_test_id("deposit-deadline")).to_have_text(
            deadline_zh(closes) + "前"
        )
        reference = (await bidder.get_by_test_id("payment-reference").inner_text()).strip()
        assert re.fullmatch(r"RX[0-9A-Z]{10}", reference)
        await no_sideways_scroll(bidder, width)
        await browser.shoot("deposit-pending")
        # Applied but not paid: the documents stay closed to him.
        await bidder.goto(f"{base}/listings/{listing_id}")
        await expect(bidder.get_by_test_id("deposit-link")).to_have_text("查看缴款说明")
        await expect(bidder.get_by_test_id("documents-closed")).to_contain_text("保证金到账后")
        assert await bidder.get_by_test_id("document-link").count() == 0

        # The bank reports the deposit: the status changes and the documents open.
        paid = await ex.anon.pay(reference, 200_000)
        assert paid.status_code == 200, paid.text
        await bidder.goto(deposit_page)
        await expect(bidder.get_by_test_id("deposit-status")).to_have_text(
            "保证金已到账，待资格审核"
        )
        await expect(bidder.get_by_test_id("deposit-paid")).to_contain_text("¥2,000.00")
        assert await bidder.get_by_test_id("deposit-instructions").count() == 0
        await browser.shoot("deposit-paid")
        await bidder.goto(f"{base}/listings/{listing_id}")
        await expect(bidder.get_by_test_id("deposit-link")).to_have_text("查看保证金到账情况")
        links = bidder.get_by_test_id("document-link")
        await expect(links).to_have_count(2)
        async with bidder.expect_download() as downloading:
            await links.filter(has_text="集体资产权属证明.pdf").click()
        download = await downloading.value
        assert Path(await download.path()).read_bytes() == RESOLUTION_PDF
        await browser.shoot("documents-open")

        # The reviewer qualifies him: the deposit page says so with his number.
        [registration] = (await (await ex.anon.login(mobile)).ok("GET", "/api/v1/registrations"))[
            "items"
        ]
        await reviewer.ok(
            "POST", f"/api/v1/registrations/{registration['id']}/review", {"decision": "qualify"}
        )
        await bidder.goto(deposit_page)
        await expect(bidder.get_by_test_id("deposit-status")).to_have_text(
            re.compile(r"^已确认竞买资格\s*竞买号 \d+$")
        )
        await expect(bidder.get_by_test_id("next-steps")).to_contain_text("请届时进入竞价大厅")
        await browser.shoot("deposit-qualified")
        await bidder.goto(f"{base}/listings/{listing_id}")
        await expect(bidder.get_by_test_id("deposit-link")).to_have_text("查看竞买资格与保证金")
        await expect(bidder.get_by_test_id("document-link")).to_have_count(2)

        # A rival; registration closes: now the count is public.
        (rival,), _ = await sign_up_and_qualify(ex.anon, reviewer, listing_id, 1)
        await ex.close_registration(listing_id, announced)
        await visitor.reload()
        await expect(visitor.get_by_test_id("registered")).to_have_text(
            "报名 2 人，取得竞买资格 2 人"
        )
        await expect(visitor.get_by_test_id("watchers")).to_have_text("围观 2 人")
        await browser.shoot("registration-closed")

        # The auction: the rival bids, he outbids, the countdown runs out: he has won.
        await ex.start_auction(listing_id, announced)
        me = await ex.anon.login(mobile)
        start = SEED_TERMS["listing_price_fen"]
        await rival.ok(
            "POST", f"/api/v1/auctions/{listing_id}/bids", {"amount_fen": start, "ref": "r1"}
        )
        await me.ok(
            "POST",
            f"/api/v1/auctions/{listing_id}/bids",
            {"amount_fen": start + 2 * STEP, "ref": "m1"},
        )
        await ex.end_countdown(listing_id)
        deal = await deal_in(ex, listing_id, "publicity")

        # His page: what happens next and his payment plan, not the collective's income.
        await bidder.goto(f"{base}/me/deals")
        await expect(bidder.get_by_test_id("next-steps")).to_contain_text("成交结果公示至")
        plan = bidder.get_by_test_id("payment-plan")
        await expect(plan.get_by_test_id("plan-item")).to_have_count(10)
        await expect(plan.get_by_test_id("plan-amount").first).to_have_text("¥12,480.00")
        await expect(plan.get_by_test_id("plan-summary")).to_contain_text("¥124,800.00")
        assert await bidder.get_by_text("村集体增收").count() == 0
        await no_sideways_scroll(bidder, width)
        await browser.shoot("deal-publicity")

        # The publicity ends: the lease is drafted; the page's signing deadline is the PDF's.
        ends = datetime.fromisoformat(deal["publicity_ends_at"].replace("Z", "+00:00"))
        ex.clock.jump_to(ends + timedelta(seconds=1))
        deal = await deal_in(ex, listing_id, "confirmed")
        await until(
            lambda: ex.anon.call("GET", f"/api/v1/listings/{listing_id}/deal"),
            lambda r: r.json().get("contract_id") is not None,
            what="the lease drafted",
        )
        contract_id = (await ex.anon.ok("GET", f"/api/v1/listings/{listing_id}/deal"))[
            "contract_id"
        ]
        me = await ex.anon.login(mobile)
        contract = await me.ok("GET", f"/api/v1/contracts/{contract_id}")
        written = deadline_zh(datetime.fromisoformat(contract["sign_deadline"]))
        await bidder.goto(f"{base}/me/deals")
        await expect(bidder.get_by_test_id("sign-deadline")).to_have_text(written + "前")
        await expect(plan.get_by_test_id("plan-status").first).to_have_text("待签约")
        pdf = await me.call("GET", f"/api/v1/contracts/{contract_id}/pdf")
        assert pdf.status_code == 200
        text = pdftotext(pdf.content, tmp_path)
        if text is not None:
            assert f"应于{written}前完成签署" in "".join(text.split())
        await browser.shoot("deal-confirmed")

        # The village signs; the winner reads the signature report in sentences.
        village_api = await ex.anon.login("xingtian")
        await village_api.ok(
            "POST", f"/api/v1/contracts/{contract_id}/sign", {"password": "correct-horse-9"}
        )
        await bidder.goto(f"{base}/me/deals")
        await bidder.get_by_role("link", name="签章验证报告").click()
        await expect(bidder.get_by_role("heading", name="签章验证报告")).to_be_visible()
        report = bidder.get_by_test_id("verification-1")
        await expect(report.get_by_test_id("verdict")).to_contain_text(
            "已有的签名均验证有效，尚待竞得人（乙方，承租方）签署"
        )
        await expect(report.get_by_test_id("finding").first).to_contain_text(
            "村集体（甲方，出租方）：验证有效"
        )
        await expect(report.get_by_test_id("finding").first).to_contain_text("时间戳由")
        main = await bidder.locator("main").inner_text()
        assert "{" not in main and '"valid"' not in main and "true" not in main
        shown_hash = (await report.get_by_test_id("document-hash").inner_text()).strip()
        await no_sideways_scroll(bidder, width)
        await browser.shoot("verification")
        async with bidder.expect_download() as downloading:
            await bidder.get_by_role("link", name="下载验证数据（JSON）").click()
        download = await downloading.value
        assert download.suggested_filename.endswith(".json")
        data = json.loads(Path(await download.path()).read_text())
        assert data["document_sha256"] == shown_hash and data["complete"] is False

        # He signs on his page: the report verifies every signature, and his plan shows the
        # deposit credited to the first installment as paid.
        await bidder.goto(f"{base}/me/deals")
        await bidder.get_by_label(re.compile("输入登录密码电子签署")).fill("correct-horse-9")
        # The page shows the result, then reloads itself; wait for that reload rather than
        # racing it with a navigation of our own (the reload would abort ours).
        async with bidder.expect_navigation():
            await bidder.get_by_role("button", name="电子签署合同").click()
            await expect(bidder.locator(".api-result")).to_contain_text("签署成功")
        await expect(plan.get_by_test_id("plan-summary")).to_contain_text(
            "已付 ¥2,000.00（保证金抵扣 ¥2,000.00，转账 ¥0.00）"
        )
        await expect(plan.get_by_test_id("plan-status").first).to_have_text("部分支付")
        await browser.shoot("signed")
        await bidder.goto(f"{base}/contracts/{contract_id}/verification")
        await expect(report.get_by_test_id("verdict")).to_contain_text(
            "均验证有效，签署后内容未被改动"
        )
        await expect(report.get_by_test_id("finding")).to_have_count(
            len((await me.ok("GET", f"/api/v1/contracts/{contract_id}/verification"))["signatures"])
        )
        await browser.shoot("verification-signed")
