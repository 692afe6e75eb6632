"""The reference case through the pages in-process (SQLite and PostgreSQL), with a fake clock:
every role's page along the way, anonymity during the auction, the deal with its economics."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from tests.integration.conftest import Exchange
from tests.integration.test_pages import Browser, browsers, entrust, error_of  # noqa: F401
from tests.support import phone, resident_id


async def test_reference_case_through_the_pages(exchange: Exchange, browsers: Any) -> None:  # noqa: F811
    clock = exchange.clock
    village = await browsers().login("xingtian")
    listing_id = await entrust(village)
    html = await village.get(f"/village/listings/{listing_id}")
    assert "村民（代表）会议决议" in html and "决议.pdf" in html
    await village.post(f"/village/listings/{listing_id}/submit", {})

    reviewer = await browsers().login("reviewer")
    queue = await reviewer.get("/review")
    assert f"/review/listings/{listing_id}" in queue
    await reviewer.get(f"/review/listings/{listing_id}")
    await reviewer.post(
        f"/review/listings/{listing_id}/review", {"decision": "accept", "reason": "材料齐全"}
    )
    await reviewer.get(f"/review/listings/{listing_id}")
    # Too short a notice period is refused next to the field.
    response = await reviewer.post(
        f"/review/listings/{listing_id}/announce",
        {"registration_closes_at": "2026-12-02T17:00", "auction_starts_at": "2026-12-02T17:30"},
        status=422,
    )
    assert error_of(response.text, "registration_closes_at")[0] == "announce.notice_too_short"
    await reviewer.post(
        f"/review/listings/{listing_id}/announce",
        {"registration_closes_at": "2026-12-11T17:00", "auction_starts_at": "2026-12-11T17:30"},
    )
    html = await reviewer.get(f"/review/listings/{listing_id}")
    assert "公告中" in html

    public = await browsers().get(f"/listings/{listing_id}")
    assert "2026-12-11 17:00" in public and "¥12,000.00" in public and "壹万贰仟元整" in public
    assert "决议.pdf" in public and "/documents/" not in public  # named, not downloadable
    decided = re.search(r'data-testid="resolution">([^<]+)<', public)
    assert decided and decided.group(1) == (
        "2026年11月10日村民代表会议，应到30人，实到27人，同意25票，反对1票，弃权1票；"
        "决议公示期2026年11月11日至2026年11月17日"
    )

    people = [("林一鸣", resident_id(), phone()), ("陈秀兰", resident_id(), phone())]
    bidders = []
    for name, id_number, mobile in people:
        bidder = browsers()
        await bidder.sign_up(name, id_number, mobile)
        await bidder.get(f"/listings/{listing_id}")
        await bidder.post(f"/listings/{listing_id}/register", {"accept": "1"})
        html = await bidder.get("/me/registrations")
        reference = re.search(r'data-testid="payment-reference">([A-Z0-9]+)<', html)
        assert reference and "¥2,000.00" in html and "贰仟元整" in html
        paid = await exchange.http.pay(reference.group(1), 200_000)
        assert paid.status_code == 200, paid.text
        bidders.append(bidder)

    queue = await reviewer.get("/review")
    assert all(name in queue for name, _, _ in people)
    for reg_id in re.findall(
        r"/review/registrations/(\d+)/review", await reviewer.get(f"/review/listings/{listing_id}")
    ):
        await reviewer.get(f"/review/listings/{listing_id}")
        await reviewer.post(f"/review/registrations/{reg_id}/review", {"decision": "qualify"})
    numbers = []
    for bidder in bidders:
        html = await bidder.get("/me/registrations")
        number = re.search(r'data-testid="bidder-number">(\d+)<', html)
        assert number
        numbers.append(number.group(1))

    # Registration closes, the auction opens and starts (the sessions have expired meanwhile).
    clock.advance(timedelta(days=10, hours=8, minutes=1))  # 2026-12-11 17:01
    await exchange.tick()
    clock.advance(timedelta(minutes=30))
    await exchange.tick()
    api = [await exchange.http.login(mobile) for _, _, mobile in people]
    price = 1_200_000
    for i in range(50):
        price += 24_000
        await api[i % 2].ok(
            "POST", f"/api/v1/auctions/{listing_id}/bids", {"amount_fen": price, "ref": f"r{i}"}
        )

    # During the auction: bidder numbers only, for the public, the village and even staff.
    watcher = browsers()
    village = await browsers().login("xingtian")
    reviewer = await browsers().login("reviewer")
    seen = [
        await watcher.get(f"/auctions/{listing_id}"),
        await village.get(f"/auctions/{listing_id}"),
        await village.get(f"/village/listings/{listing_id}"),
        await reviewer.get(f"/review/listings/{listing_id}"),
        await watcher.get(f"/listings/{listing_id}"),
    ]
    assert "¥24,000.00" in seen[0] and "贰万肆仟元整" in seen[0]
    assert numbers[1] in seen[0] and numbers[0] in seen[0]
    for html in seen:
        for name, id_number, mobile in people:
            assert name not in html and id_number not in html and mobile not in html

    bidder = await browsers().login(people[1][2])
    live = await bidder.get(f"/auctions/{listing_id}")
    assert f'id="you">{numbers[1]}<' in live
    assert "我（" in live

    # The free period and the countdown pass with no more bids: sold.
    clock.advance(timedelta(minutes=61))
    await exchange.tick()
    clock.advance(timedelta(seconds=301))
    await exchange.tick()

    for who in (watcher, village):
        path = f"/village/listings/{listing_id}" if who is village else f"/listings/{listing_id}"
        html = await who.get(path)
        assert 'data-testid="premium-rate">100.00 %<' in html, path
        assert 'data-testid="premium-over-term">+¥120,000.00<' in html, path
        assert 'data-testid="contract-value">¥240,000.00<' in html, path
        assert 'data-testid="rounds">50<' in html, path
    # The winner's page: his payment plan (ten yearly ¥24,000.00, the deposit credited to the
    # first), not the collective's income.
    html = await bidder.get("/me/deals")
    assert 'data-testid="premium-rate">100.00 %<' in html and 'data-testid="rounds">50<' in html
    assert "村集体增收" not in html and 'data-testid="premium-over-term"' not in html
    amounts = re.findall(r'data-testid="plan-amount">([^<]+)<', html)
    assert amounts == ["¥24,000.00"] * 10
    assert "租金合计 <strong>¥240,000.00</strong>" in html
    html = await village.get(f"/village/listings/{listing_id}")
    assert "网络竞价" in html and "共 50 次有效出价" in html
    assert people[1][0] in html  # the collective sees who won (a party to the contract)
    public = await watcher.get(f"/listings/{listing_id}")
    assert people[1][0] not in public  # the public sees a masked name
    assert people[1][0][0] + "*" in public

    ended = await watcher.get(f"/auctions/{listing_id}")
    assert "竞价已结束" in ended and 'id="bidding"' in ended

    # Staff see identities again; regulators see everything read-only.
    reviewer = await browsers().login("reviewer")
    html = await reviewer.get(f"/review/listings/{listing_id}")
    assert people[0][0] in html and people[1][0] in html
    from oversight.jobs import JobContext, run_all

    svc = exchange.services  # the regulator side's jobs (a worker runs them each tick)
    await run_all(JobContext.of(svc.config, svc.db, svc.clock))
    regulator = await browsers().login("regulator")
    html = await regulator.get("/oversight")
    assert "¥24,000.00" in html and "集体经营性资产" in html
    html = await regulator.get(f"/oversight/listings/{listing_id}")
    assert "出价记录（共 50 条" in html and "发布挂牌公告" in html
    html = await regulator.get(f"/oversight/listings/{listing_id}/ladder")
    assert html.count('data-label="结果">有效<') == 50
