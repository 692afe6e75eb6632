"""The village's public income board (村务公开, docs/oversight.md "Income disclosure") in a real
browser (Playwright + Debian's Chromium) on a phone, against a real `ruralx run`.

The reference lease is reached through the API (entrusted, announced, 50 rounds of +240 yuan to
24,000 yuan/year, confirmed at once, signed by the village and the winner); the bank pays the
first year's remainder after the deposit's credit; server time moves to the lease's start. An
anonymous visitor then finds the village's board from the home page by clicking and reads the
lease, its premium rate and the income received — and nothing that names the lessee.
"""

from __future__ import annotations

from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import pytest

from core.clock import CHINA_TZ
from core.ids import mask_name
from core.money import format_yuan
from tests.e2e.browser_support import BROWSER_TESTS, chromium
from tests.e2e.conftest import live_exchange
from tests.support import (
    PASSWORD,
    SEED_LISTING,
    SEED_TERMS,
    XINGTIAN,
    phone,
    resident_id,
    sign_up_and_qualify,
    until,
)

pytestmark = [*BROWSER_TESTS, pytest.mark.slow, pytest.mark.timeout(180)]

RENT_CALLBACK = "/api/v1/payments/rent-callback"


def expect(locator: Any) -> Any:
    from playwright.async_api import expect as _expect

    return _expect(locator)


async def test_the_village_board_on_a_phone_shows_the_lease_and_not_the_lessee(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    async with live_exchange(tmp_path, redis=None, workers=1) as ex, chromium(request) as browser:
        base = ex.servers[0].base_url

        # Short rules: straight to a countdown, no result publicity (confirmed at once).
        listing_id, village, reviewer, announced = await ex.quick_listing(
            result_publicity_working_days=0
        )
        people = [("林一鸣", resident_id(), phone()), ("陈秀兰", resident_id(), phone())]
        bidders, _ = await sign_up_and_qualify(ex.anon, reviewer, listing_id, people=people)
        await ex.open_auction(listing_id, announced)

        # Fifty rounds of one increment, alternating: the second bidder wins at 24,000 yuan.
        price = SEED_TERMS["listing_price_fen"]
        for n in range(50):
            price += SEED_TERMS["increment_fen"]
            await bidders[n % 2].ok(
                "POST",
                f"/api/v1/auctions/{listing_id}/bids",
                {"amount_fen": price, "ref": f"board-{n}"},
            )
        ended = await ex.end_countdown(listing_id)
        assert ended["result"] == "sold" and ended["final_fen"] == 2_400_000
        winner, (name, id_number, mobile) = bidders[1], people[1]

        deal = (
            await until(
                lambda: ex.anon.call("GET", f"/api/v1/listings/{listing_id}/deal"),
                lambda r: r.status_code == 200 and r.json()["deal_state"] == "confirmed",
                what="deal confirmed",
            )
        ).json()
        assert deal["premium_rate"] == "100.00"

        # The village signs, then the winner: the deposit is credited to the first year's rent.
        contract = f"/api/v1/contracts/{deal['contract_id']}"
        await village.relogin()
        await village.ok("POST", f"{contract}/sign", {"password": PASSWORD})
        await winner.relogin()
        signed = await winner.ok("POST", f"{contract}/sign", {"password": PASSWORD})
        assert signed["state"] == "signed"
        first = (await village.ok("GET", f"{contract}/rent"))["items"][0]
        assert (first["amount_fen"], first["credited_fen"]) == (2_400_000, 200_000)

        # The bank reports the remainder of year one.
        paid = await ex.anon.pay(
            first["reference"],
            first["outstanding_fen"],
            paid_at=ex.clock.now().isoformat(),
            path=RENT_CALLBACK,
        )
        assert paid.status_code == 200 and paid.json()["state"] == "paid", paid.text

        # Server time moves to the lease's first day (its first rent falls due): it is in force.
        start = date.fromisoformat(first["period_start"])
        due = date.fromisoformat(first["due_date"])
        ex.clock.jump_to(datetime.combine(max(start, due), time(10), tzinfo=CHINA_TZ))

        # An anonymous visitor on a phone: home → 村务公开 → the county → the village.
        page = await browser.page("visitor", width=375, height=812)
        await page.goto(f"{base}/")
        await page.get_by_role("link", name="村务公开：集体资产租金收入").click()
        county, _, village_name = XINGTIAN.split("/")[2:]
        await page.get_by_role("link", name=county, exact=True).click()
        await expect(page.locator("h1")).to_contain_text(f"{county}村务公开")
        await page.get_by_role("link", name=village_name, exact=True).click()
        await expect(page.locator("h1")).to_contain_text(f"{village_name}村务公开")

        lease = page.locator("table.leases tbody tr")
        await expect(lease).to_have_count(1)
        await expect(lease).to_contain_text(SEED_LISTING["title"])
        await expect(lease.get_by_test_id("premium-rate")).to_contain_text("100.00 %")
        received = format_yuan(2_400_000, symbol=True)  # the 2,000 credit + the 22,000 paid
        assert received == "¥24,000.00"
        await expect(lease.get_by_test_id("lease-received")).to_contain_text(received)
        await expect(page.get_by_test_id("received")).to_have_text(received)
        await expect(page.get_by_test_id("arrears")).to_have_text("¥0.00")
        await expect(page.get_by_test_id("leases-in-force")).to_have_text("1")
        await expect(lease).to_contain_text(mask_name(name))
        for cell in ("premium-rate", "lease-received"):
            await expect(lease.get_by_test_id(cell)).to_be_visible()

        # The lessee is masked: no name, phone or ID number anywhere in the page.
        html = await page.content()
        for secret in (name, mobile, id_number):
            assert secret not in html, secret

        # Readable at phone width: nothing scrolls sideways, neither the page nor a table in
        # its own scroller, and each table's caption runs across the card as a line of text
        # (not squeezed into a column a character wide).
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, width
        overflowing = await page.locator(".table-wrap").evaluate_all(
            "ws => ws.filter(w => w.scrollWidth > w.clientWidth)"
            ".map(w => [w.innerText.slice(0, 12), w.scrollWidth, w.clientWidth])"
        )
        assert overflowing == [], overflowing
        captions = await page.locator("caption").evaluate_all(
            "cs => cs.map(c => [c.innerText, Math.round(c.getBoundingClientRect().width)])"
        )
        assert captions and all(w >= 250 for _, w in captions), captions
