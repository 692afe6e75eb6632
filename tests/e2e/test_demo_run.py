"""A newcomer's first five minutes (README "First five minutes"): the real `ruralx run --demo`
on a fresh SQLite database prints its guide; in Chromium the demo reviewer qualifies both
demo bidders with one click, and once the auction starts each bidder bids from a browser of
their own — all within five minutes of the start in server time.

The registration period is the default one (3 minutes); the test does not wait it out but
moves the server's clock (RURALX_TEST_CLOCK_FILE, docs/testing.md §3) past it.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from auction.models import Bid
from core.db import Database
from core.money import format_yuan
from listings.models import Listing, Registration
from tests.e2e.browser_support import BROWSER_TESTS, chromium, login
from tests.e2e.test_browser import bid_once, expect
from tests.servers import ServerClock, running_server, server_env
from tests.support import until

pytestmark = [*BROWSER_TESTS, pytest.mark.slow, pytest.mark.timeout(240)]


def printed(log: str, pattern: str) -> str:
    """One value the guide printed (the first group of `pattern`)."""
    match = re.search(pattern, log)
    assert match, f"the guide does not say {pattern!r}:\n{log[-3000:]}"
    return match.group(1)


async def test_a_newcomer_sees_a_live_auction_within_five_minutes(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    clock = ServerClock(tmp_path / "clock")
    url = f"sqlite+aiosqlite:///{tmp_path / 'ruralx.db'}"  # empty: `run` migrates it
    env = server_env(url, tmp_path / "data", clock)
    with running_server(env, tmp_path, ["--demo"]) as server:
        base = server.base_url
        log = server.log.read_text(encoding="utf-8")
        assert f"网址：{base}" in log and "北京时间" in log
        listing_id = int(printed(log, rf"{re.escape(base)}/review/listings/(\d+)"))
        assert f"{base}/auctions/{listing_id}" in log
        passwords = {
            name: printed(log, rf"\n +\S+ +{name} +(\S+)\n")
            for name in ("reviewer", "13800000001", "13800000002", "xingtian", "regulator", "admin")
        }
        closes_at = printed(log, r"(\d\d:\d\d:\d\d) 报名截止前")
        starts_at = printed(log, r"(\d\d:\d\d) 竞价开始")

        # The default path: registration closes 3 minutes after the listing is announced at
        # start, the auction within five minutes of it, as the guide says (Beijing time).
        db = Database(url)
        try:
            async with db.read() as session:
                listing = await session.get(Listing, listing_id)
            assert listing is not None and listing.state == "announced"
            announced = listing.announced_at
            assert announced is not None and listing.registration_closes_at is not None
            assert listing.auction_starts_at is not None
            assert listing.registration_closes_at - announced == timedelta(minutes=3)
            assert listing.auction_starts_at - announced < timedelta(minutes=5)
            beijing = timedelta(hours=8)
            assert (listing.registration_closes_at + beijing).strftime("%H:%M:%S") == closes_at
            assert (listing.auction_starts_at + beijing).strftime("%H:%M") == starts_at

            async with chromium(request) as browser:
                # The reviewer, on a phone, qualifies both demo bidders with one click.
                reviewer = await browser.page("reviewer", width=375, height=812)
                await login(reviewer, base, "reviewer", passwords["reviewer"])
                await reviewer.goto(f"{base}/review/listings/{listing_id}")
                block = reviewer.locator("#qualify-all")
                await expect(block).to_contain_text("没有预警的报名共 2 份")
                await browser.shoot("review-before")
                await block.get_by_role("button", name="确认全部已缴款竞买人资格").click()
                await expect(reviewer.locator(".flash")).to_contain_text("已确认全部")
                await expect(reviewer.locator("#qualify-all")).to_have_count(0)
                await browser.shoot("review-qualified")
                async with db.read() as session:
                    states = await session.scalars(
                        select(Registration.state).where(Registration.listing_id == listing_id)
                    )
                    assert list(states) == ["qualified", "qualified"]

                # Each bidder signs in in a browser of their own and opens the live page.
                bidders: list[Any] = [
                    await browser.page("bidder-a", width=375, height=812),
                    await browser.page("bidder-b", width=1280, height=800),
                ]
                for page, name in zip(bidders, ("13800000001", "13800000002"), strict=True):
                    await login(page, base, name, passwords[name])
                    await page.goto(f"{base}/auctions/{listing_id}")
                await browser.shoot("waiting")

                # Server time moves to the announced start; the auction opens on every page.
                clock.jump_to(listing.auction_starts_at + timedelta(seconds=1))
                async with httpx.AsyncClient(base_url=base, timeout=10) as http:
                    await until(
                        lambda: http.get(f"/api/v1/auctions/{listing_id}"),
                        lambda r: r.status_code == 200 and r.json()["status"] == "free",
                        what="the auction's start",
                    )
                price = listing.terms.listing_price_fen
                for page in bidders:
                    await page.reload()
                    await expect(page.locator("#conn")).to_have_attribute("data-state", "open")
                    await expect(page.locator("#phase-label")).to_have_text("自由竞价")
                for page in bidders:
                    price += listing.terms.increment_fen
                    await bid_once(page, price)
                    await expect(page.locator("#message")).to_contain_text(
                        f"出价成功：{format_yuan(price, symbol=True)}"
                    )
                await expect(bidders[0].locator("#price")).to_have_text(
                    format_yuan(price, symbol=True)
                )
                await browser.shoot("bidding")

            async with db.read() as session:
                bids = list(
                    await session.scalars(
                        select(Bid).where(Bid.listing_id == listing_id, Bid.outcome == "accepted")
                    )
                )
            assert len(bids) == 2
            assert all(bid.at - announced < timedelta(minutes=5) for bid in bids)
        finally:
            await db.dispose()
