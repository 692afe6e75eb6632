"""The regulator's pages in-process: warnings in sentences with their listing's title, sealed
until the hammer; acknowledging one with a note (CSRF, the note required, ledgered as the API
does, once); the timeline, bid ladder and warnings of a listing as HTML without JSON; the
filters (query parameters) narrowing each list; a filter typed wrong shown next to its
field."""

from __future__ import annotations

import re
from html import unescape

from sqlalchemy import select

from core.ledger import LedgerEntry
from oversight import jobs
from tests.integration.conftest import Exchange
from tests.integration.test_auction_api import bid, running
from tests.integration.test_pages import Browser, error_of
from tests.integration.test_sealed_identities import end_auction
from tests.support import SEED_LISTING

NAMES = ("竞买人1", "竞买人2")


def text_of(html: str) -> str:
    """What a person reads: the page without its tags, scripts and styles."""
    body = html[html.find("<main") : html.find("</main>")]
    return unescape(re.sub(r"<[^>]+>", " ", body))


def rows_of(html: str, testid: str) -> int:
    """Rows (or items) of the list marked data-testid=`testid`."""
    start = html.find(f'data-testid="{testid}"')
    assert start >= 0, testid
    end = html.find("</table>", start) if "<table" in html[start - 200 : start] else -1
    if end < 0:
        end = html.find("</ol>", start)
    return html[start:end].count("<tr class=") + html[start:end].count("<li>")


def kinds_shown(html: str) -> list[str]:
    """The kinds of the warnings listed on a page, as their headings name them."""
    return re.findall(r'<h[2-4] id="w\d+-h"><a href="/oversight/warnings/\d+">([^<]+)</a>', html)


async def scanned(ex: Exchange) -> None:
    svc = ex.services
    await jobs.scan_warnings(jobs.JobContext.of(svc.config, svc.db, svc.clock), force=True)


async def regulator(ex: Exchange) -> Browser:
    return await Browser(ex).login("regulator")


async def test_a_warning_in_sentences_acknowledged_with_a_note(exchange: Exchange) -> None:
    listing_id, people, registrations = await running(exchange)
    numbers = sorted(r["bidder_number"] for r in registrations)
    assert (await bid(people[0], listing_id, 1_224_000)).status_code == 200
    assert (await bid(people[1], listing_id, 1_248_000)).status_code == 200
    await scanned(exchange)
    reg = await regulator(exchange)

    # The list: the shared address said in words, the listing by its title, nobody named.
    html = await reg.get("/oversight/warnings")
    shown = text_of(html)
    assert "竞买人IP地址相同" in kinds_shown(html) and '{"' not in shown
    said = re.search(r"2 名竞买人使用了同一IP地址：竞买号 (\w+)、竞买号 (\w+)。", shown)
    assert said and sorted(said.groups()) == numbers, shown
    assert "竞价结束前不显示该IP地址和竞买人身份" in shown
    assert f'<a href="/oversight/listings/{listing_id}">{SEED_LISTING["title"]}</a>' in html
    assert not any(name in html for name in NAMES)
    warning_id = int(re.search(r'href="/oversight/warnings/(\d+)">竞买人IP', html).group(1))  # type: ignore[union-attr]

    # One warning: refused without its CSRF field, without a note; nothing written.
    page = f"/oversight/warnings/{warning_id}"
    html = await reg.get(page)
    assert "标记为已处理" in html and 'name="note"' in html
    await reg.post(f"{page}/acknowledge", {"note": "已核查"}, csrf=False, status=403)
    await reg.get(page)
    await reg.post(f"{page}/acknowledge", {"note": "   "}, status=400)
    assert error_of(reg.last, "note") == ("warning.note_required", "请填写处理意见")
    admin = await Browser(exchange).login("admin")
    html = await admin.get(page)
    assert "标记为已处理" not in html and "预警由监管人员处理" in html
    await admin.post(f"{page}/acknowledge", {"note": "试探"}, csrf=False, status=403)
    async with exchange.services.db.read() as session:
        acknowledged = await session.scalars(
            select(LedgerEntry).where(LedgerEntry.type == "warning.acknowledged")
        )
        assert list(acknowledged) == []

    # Acknowledged with a note: who, when and the note on the page; ledgered as the API does.
    await reg.get(page)
    response = await reg.post(f"{page}/acknowledge", {"note": "同一村委会网络，已电话核实"})
    assert response.headers["location"] == f"{page}?done=warning_acknowledged"
    html = await reg.get(f"{page}?done=warning_acknowledged")
    shown = text_of(html)
    assert "预警已标记为已处理" in shown and "已处理" in shown
    assert "同一村委会网络，已电话核实" in shown and "监管人员" in shown
    assert "标记为已处理" not in html.replace("预警已标记为已处理", "")
    async with exchange.services.db.read() as session:
        (entry,) = await session.scalars(
            select(LedgerEntry).where(LedgerEntry.type == "warning.acknowledged")
        )
    assert entry.payload["note"] == "同一村委会网络，已电话核实"
    assert entry.payload["warning_id"] == warning_id and entry.actor.startswith("user:")
    api = await exchange.http.login("regulator")
    listed = await api.ok("GET", f"/api/v1/warnings?listing_id={listing_id}&state=acknowledged")
    assert [w["id"] for w in listed["items"]] == [warning_id]
    assert listed["items"][0]["note"] == "同一村委会网络，已电话核实"

    # Others see it acknowledged too.
    assert "同一村委会网络" in await admin.get(page)

    # Open warnings no longer list it; "all" does, with the acknowledgement.
    assert f"/oversight/warnings/{warning_id}" not in await reg.get("/oversight/warnings")
    html = await reg.get("/oversight/warnings?state=acknowledged")
    assert f"/oversight/warnings/{warning_id}" in html and "同一村委会网络" in html

    # After the hammer the regulator reads who shared the address.
    await end_auction(exchange)
    await scanned(exchange)
    html = await reg.get(f"/oversight/listings/{listing_id}/warnings")
    assert all(name in html for name in NAMES)
    assert "相同的IP地址：" in text_of(html)


async def test_acknowledging_twice_is_refused_in_words(exchange: Exchange) -> None:
    listing_id, people, _ = await running(exchange)
    assert (await bid(people[0], listing_id, 1_224_000)).status_code == 200
    assert (await bid(people[1], listing_id, 1_248_000)).status_code == 200
    await scanned(exchange)
    first, second = await regulator(exchange), await regulator(exchange)
    html = await first.get(f"/oversight/listings/{listing_id}/warnings")
    warning_id = re.search(r'href="/oversight/warnings/(\d+)"', html).group(1)  # type: ignore[union-attr]
    page = f"/oversight/warnings/{warning_id}"
    await first.get(page)
    await second.get(page)  # both opened the form
    await first.post(f"{page}/acknowledge", {"note": "第一位处理"})
    await second.post(f"{page}/acknowledge", {"note": "第二位处理"}, status=409)
    assert 'data-code="warning.already_acknowledged"' in second.last
    assert "该预警已处理" in second.last and "第一位处理" in second.last


async def test_the_listing_pages_are_html_in_sections_with_filters(exchange: Exchange) -> None:
    listing_id, people, _ = await running(exchange)
    amount = 1_200_000
    for n in range(6):
        amount += 24_000
        assert (await bid(people[n % 2], listing_id, amount)).status_code == 200
    assert (await bid(people[0], listing_id, amount - 1)).status_code != 200  # refused
    await end_auction(exchange)
    await scanned(exchange)
    reg = await regulator(exchange)

    # The listing in sections with a table of contents; long sections folded.
    html = await reg.get(f"/oversight/listings/{listing_id}")
    for anchor in ("#overview", "#warnings", "#bids", "#timeline", "#exports"):
        assert f'href="{anchor}"' in html, anchor
    assert html.count('<details class="section">') == 2
    shown = text_of(html)
    assert '{"' not in shown and "auction.bid" not in shown
    for export in (
        f"/api/v1/listings/{listing_id}/timeline",
        f"/api/v1/auctions/{listing_id}/ladder",
        f"/api/v1/warnings?listing_id={listing_id}",
    ):
        assert f'<a href="{export}">导出 JSON</a>' in html, export

    # The timeline: every entry in words; by phase, by type, by day.
    timeline = f"/oversight/listings/{listing_id}/timeline"
    html = await reg.get(timeline)
    everything = rows_of(html, "timeline")
    assert everything > 10 and '{"' not in text_of(html)
    assert "出价未被接受" in text_of(html) and "低于当前最低可出价" in text_of(html)
    bids_only = rows_of(await reg.get(f"{timeline}?type=auction.bid"), "timeline")
    assert bids_only == 6
    auction = rows_of(await reg.get(f"{timeline}?phase=auction"), "timeline")
    assert bids_only < auction < everything
    assert rows_of(await reg.get(f"{timeline}?from=2000-01-01&to=2000-01-02"), "timeline") == 0
    html = await reg.get(f"{timeline}?from=2026-02-30", status=400)
    assert error_of(html, "from")[0] == "form.date"
    html = await reg.get(f"{timeline}?type=galaxy", status=400)
    assert error_of(html, "type")[0] == "filter.choice"

    # The bid ladder: refused bids say why, in words; by outcome and bidder number.
    ladder = f"/oversight/listings/{listing_id}/ladder"
    html = await reg.get(ladder)
    shown = text_of(html)
    assert '{"' not in shown and "below_minimum" not in shown
    assert "被拒绝：低于当前最低可出价" in shown
    assert rows_of(html, "ladder") == 7
    assert rows_of(await reg.get(f"{ladder}?outcome=rejected"), "ladder") == 1
    assert rows_of(await reg.get(f"{ladder}?outcome=accepted"), "ladder") == 6
    assert all(name in html for name in NAMES)  # ended: who held which number

    # The listing's warnings, and the per-listing page narrowed by kind.
    html = await reg.get(f"/oversight/listings/{listing_id}/warnings")
    assert '{"' not in text_of(html) and "竞买人IP地址相同" in kinds_shown(html)
    narrowed = await reg.get(f"/oversight/listings/{listing_id}?kind=zero_premium")
    assert kinds_shown(narrowed) == [] and "没有符合条件的未处理预警" in narrowed

    # The list of the jurisdiction's listings: by state, and only those with open warnings.
    html = await reg.get("/oversight/listings")
    assert SEED_LISTING["title"] in html
    assert SEED_LISTING["title"] in await reg.get("/oversight/listings?warnings=1")
    assert SEED_LISTING["title"] not in await reg.get("/oversight/listings?state=draft")
    await reg.get("/oversight/listings?state=galaxy", status=400)

    # Warnings of the whole jurisdiction: by kind, severity, region, day.
    every = kinds_shown(await reg.get("/oversight/warnings"))
    assert "竞买人IP地址相同" in every
    shared = kinds_shown(await reg.get("/oversight/warnings?kind=shared_ip"))
    assert set(shared) == {"竞买人IP地址相同"}
    high = kinds_shown(await reg.get("/oversight/warnings?severity=high"))
    assert "竞买人IP地址相同" not in high and len(high) < len(every)
    assert kinds_shown(await reg.get("/oversight/warnings?to=2000-01-01")) == []
    far = "/oversight/warnings?region=福建省/泉州市/泉州台商投资区/张坂镇"
    assert kinds_shown(await reg.get(far)) == []
    # A page number no list has (or no number at all) is an empty or first page, never a 500.
    for page in ("9" * 30, "²", "-1"):
        await reg.get(f"/oversight/warnings?page={page}")
        await reg.get(f"/oversight/listings?page={page}")


async def test_the_dashboard_says_warnings_in_sentences(exchange: Exchange) -> None:
    listing_id, people, _ = await running(exchange)
    assert (await bid(people[0], listing_id, 1_224_000)).status_code == 200
    assert (await bid(people[1], listing_id, 1_248_000)).status_code == 200
    await scanned(exchange)
    html = await (await regulator(exchange)).get("/oversight")
    shown = text_of(html)
    assert "竞买人IP地址相同" in kinds_shown(html) and '{"' not in shown
    assert f'<a href="/oversight/listings/{listing_id}">{SEED_LISTING["title"]}</a>' in html
    assert "项目 " + str(listing_id) not in shown
