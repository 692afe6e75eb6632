"""The bidder's path on the pages, in-process on both databases: the listing's documents open
to bidders whose deposit is in (listings.policy) and to nobody else outside; the announcement
with its photos, whom to call to see the asset, the 竞买须知 in sentences, 围观人数 and —
after registration closes — 报名人数; the deposit page with the exchange's account; the
winner's payment plan, the signing deadline as the contract writes it, and the signature
report in sentences."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from contracts.models import Contract
from core.clock import deadline_zh
from listings import policy
from listings.models import Registration
from tests.integration.conftest import Exchange
from tests.integration.test_deal_aftermath import hammer
from tests.integration.test_pages import ENTRUSTMENT, PDF, Browser, browsers  # noqa: F401
from tests.support import (
    PASSWORD,
    RESOLUTION_PDF,
    Http,
    entrust_review_announce,
    phone,
    resident_id,
    sign_up_and_qualify,
)

PNG = b"\x89PNG\r\n\x1a\n" + bytes(64)
ACCOUNT = {
    "deposit_bank_name": "中国农业银行泉州台商投资区支行",
    "deposit_account_name": "泉州台商投资区农村产权交易中心",
    "deposit_account_number": "1350 0101 0400 12345",
    "service_phone": "0595-87654321",
}


async def bidder(anon: Http, listing_id: int | None = None) -> tuple[Http, dict[str, Any] | None]:
    """A new bidder, registered for the listing if one is given (deposit not yet paid)."""
    mobile = phone()
    await anon.ok(
        "POST",
        "/api/v1/bidders",
        {
            "name": "竞买人",
            "id_type": "resident_id",
            "id_number": resident_id(),
            "phone": mobile,
            "password": PASSWORD,
        },
        status=201,
    )
    person = await anon.login(mobile)
    if listing_id is None:
        return person, None
    registration = await person.ok(
        "POST", f"/api/v1/listings/{listing_id}/registrations", {}, status=201
    )
    return person, registration


async def test_documents_open_once_the_deposit_is_in(exchange: Exchange, browsers: Any) -> None:  # noqa: F811
    anon = exchange.http
    listing_id, _, reviewer = await entrust_review_announce(
        anon, exchange.clock.now(), closes_in=timedelta(days=10), starts_in=timedelta(days=11)
    )
    [document] = (await anon.ok("GET", f"/api/v1/listings/{listing_id}"))["documents"]
    path = f"/api/v1/listings/{listing_id}/documents/{document['id']}"

    assert (await anon.call("GET", path)).status_code == 401  # anonymous: sign in first
    payer, paid = await bidder(anon, listing_id)
    assert paid is not None
    assert (await payer.call("GET", path)).status_code == 404  # applied only: not yet
    stranger, _ = await bidder(anon)
    assert (await stranger.call("GET", path)).status_code == 404

    assert (await anon.pay(paid["payment_reference"], paid["deposit_fen"])).status_code == 200
    opened = await payer.call("GET", path)
    assert opened.status_code == 200 and opened.content == RESOLUTION_PDF
    assert opened.headers["content-disposition"].startswith("attachment")
    await reviewer.ok("POST", f"/api/v1/registrations/{paid['id']}/review", {"decision": "qualify"})
    assert (await payer.call("GET", path)).status_code == 200

    refused, rejected = await bidder(anon, listing_id)
    assert rejected is not None
    await anon.pay(rejected["payment_reference"], rejected["deposit_fen"])
    assert (await refused.call("GET", path)).status_code == 200
    await reviewer.ok(
        "POST",
        f"/api/v1/registrations/{rejected['id']}/review",
        {"decision": "reject", "reason": "营业执照已过期"},
    )
    assert (await refused.call("GET", path)).status_code == 404  # rejected: closed again

    # The pages ask the same policy: a link for the paid bidder, the name only for others.
    page = Browser(exchange)
    await page.login(payer.username or "")
    html = await page.get(f"/listings/{listing_id}")
    assert f'href="{path}"' in html
    public = await Browser(exchange).get(f"/listings/{listing_id}")
    assert "/documents/" not in public and "村民代表会议决议.pdf" in public
    assert 'data-testid="documents-closed"' in public
    await page.close()

    # The states the policy opened the files for (listings.policy.DOCUMENTS_OPEN_TO).
    assert frozenset({"deposit_paid", "qualified"}) == policy.DOCUMENTS_OPEN_TO
    async with exchange.services.db.read() as session:
        states = dict(
            (
                await session.execute(
                    select(Registration.id, Registration.state).where(
                        Registration.listing_id == listing_id
                    )
                )
            ).all()
        )
    assert states == {paid["id"]: "qualified", rejected["id"]: "rejected"}


async def test_the_announcement_states_its_rules_and_counts(
    exchange: Exchange,
    browsers: Any,  # noqa: F811
) -> None:
    admin = await exchange.http.login("admin")
    await admin.ok("PUT", "/api/v1/settings", ACCOUNT)
    village = await browsers().login("xingtian")
    await village.get("/village/listings/new")
    form = {
        **ENTRUSTMENT,
        "site_visit_contact": "林村主任",
        "site_visit_phone": "138 0595 1234",
        "site_visit_note": "工作日 9:00–17:00，请提前一天预约",
    }
    # A PDF offered as a photo is refused next to the photo input, nothing saved.
    refused = await village.post(
        "/village/listings/new",
        form,
        files={
            "village_resolution": ("决议.pdf", PDF, "application/pdf"),
            "photo": ("现场.pdf", PDF, "application/pdf"),
        },
        status=400,
    )
    assert 'id="e-photo" data-code="document.photo_type"' in refused.text
    # A contact without a telephone is refused next to the telephone.
    missing = await village.post(
        "/village/listings/new",
        {**form, "site_visit_phone": ""},
        files={"village_resolution": ("决议.pdf", PDF, "application/pdf")},
        status=400,
    )
    assert 'id="e-site_visit_phone"' in missing.text
    response = await village.post(
        "/village/listings/new",
        form,
        files={
            "village_resolution": ("决议.pdf", PDF, "application/pdf"),
            "photo": ("现场.png", PNG, "image/png"),
        },
    )
    match = re.match(r"/village/listings/(\d+)", response.headers["location"])
    assert match
    listing_id = int(match.group(1))
    await village.get(f"/village/listings/{listing_id}")
    await village.post(f"/village/listings/{listing_id}/submit", {})
    reviewer = await exchange.http.login("reviewer")
    base = f"/api/v1/listings/{listing_id}"
    await reviewer.ok("POST", f"{base}/review", {"decision": "accept", "reason": "材料齐全"})
    now = exchange.clock.now()
    await reviewer.ok(
        "POST",
        f"{base}/announce",
        {
            "registration_closes_at": (now + timedelta(days=10)).isoformat(),
            "auction_starts_at": (now + timedelta(days=11)).isoformat(),
        },
    )

    first = browsers()
    html = await first.get(f"/listings/{listing_id}")
    # Photos: served inline as the image they are, to anyone who sees the announcement.
    [src] = re.findall(r'<img src="(/api/v1/listings/\d+/photos/\d+)"', html)
    photo = await first.client.get(src)
    assert photo.status_code == 200 and photo.content == PNG
    assert photo.headers["content-type"] == "image/png"
    assert photo.headers["content-disposition"].startswith("inline")
    assert photo.headers["x-content-type-options"] == "nosniff"
    [doc_id] = re.findall(r"/photos/(\d+)", src)
    listing = await exchange.http.ok("GET", base)
    other = next(d["id"] for d in listing["documents"] if d["kind"] != "photo")
    assert (await first.client.get(f"{base}/photos/{other}")).status_code == 404
    assert listing["site_visit"]["contact"] == "林村主任" and int(doc_id) > 0
    # Whom to call, and every frozen rule in a sentence.
    assert "报名前可联系实地查看：林村主任，电话" in html and "138 0595 1234" in html
    rules = dict(re.findall(r'<li data-rule="([a-z-]+)">([^<]+)</li>', html))
    assert set(rules) >= {
        "timetable",
        "deposit",
        "phases",
        "increment",
        "first-bid",
        "self-outbid",
        "reserve",
        "single-bidder",
        "publicity",
        "signing",
        "refund",
        "frozen",
    }
    assert "先自由竞价 60 分钟" in rules["phases"] and "重新计时 300 秒" in rules["phases"]
    assert (
        "¥240.00（贰佰肆拾元整）" in rules["increment"] and "最多加 10 个幅度" in rules["increment"]
    )
    assert "不能再次加价" in rules["self-outbid"]
    assert "保留价" in rules["reserve"]
    assert "以挂牌价协议成交" in rules["single-bidder"]
    assert "¥2,000.00（贰仟元整）" in rules["deposit"]
    assert "公示 5 个工作日" in rules["publicity"]
    assert "10 个工作日内" in rules["signing"] and "5 个工作日内原路退还" in rules["refund"]
    assert ACCOUNT["deposit_account_number"] in html and ACCOUNT["service_phone"] in html
    # Nobody outside the exchange learns how many registered while registration is open.
    assert "报名人数：报名截止后公布" in html
    assert re.search(r'data-testid="watchers">围观 <strong>1</strong> 人', html)
    html = await first.get(f"/listings/{listing_id}")  # the same browser again: still one
    assert re.search(r'data-testid="watchers">围观 <strong>1</strong> 人', html)
    second = await browsers().login("xingtian")
    html = await second.get(f"/listings/{listing_id}")
    assert re.search(r'data-testid="watchers">围观 <strong>2</strong> 人', html)

    people = [await bidder(exchange.http, listing_id) for _ in range(2)]
    for _, registration in people:
        assert registration is not None
        await exchange.http.pay(registration["payment_reference"], registration["deposit_fen"])
    html = await first.get(f"/listings/{listing_id}")
    assert 'data-testid="registered"' not in html
    exchange.clock.advance(timedelta(days=10, seconds=1))
    await exchange.tick()
    html = await first.get(f"/listings/{listing_id}")
    assert re.search(
        r'data-testid="registered">报名 <strong>2</strong> 人，取得竞买资格 <strong>2</strong> 人',
        html,
    )


async def test_the_deposit_page_and_its_link_follow_the_registration(
    exchange: Exchange,
    browsers: Any,  # noqa: F811
) -> None:
    admin = await exchange.http.login("admin")
    await admin.ok("PUT", "/api/v1/settings", ACCOUNT)
    listing_id, _, reviewer = await entrust_review_announce(
        exchange.http,
        exchange.clock.now(),
        closes_in=timedelta(days=10),
        starts_in=timedelta(days=11),
    )
    person, registration = await bidder(exchange.http)
    page = await browsers().login(person.username or "")
    await page.get(f"/listings/{listing_id}")
    response = await page.post(f"/listings/{listing_id}/register", {"accept": "1"})
    target = response.headers["location"]
    assert re.fullmatch(r"/me/registrations/\d+\?done=registered", target)
    html = await page.get(target)
    assert ACCOUNT["deposit_bank_name"] in html and ACCOUNT["deposit_account_name"] in html
    assert ACCOUNT["deposit_account_number"] in html
    assert "¥2,000.00" in html and "贰仟元整" in html
    reference = re.search(r'data-testid="payment-reference">(RX[0-9A-Z]+)<', html)
    assert reference
    # The instruction comes before the reference it points down to.
    assert html.index("填写下列“缴款识别码”") < html.index('data-testid="payment-reference"')
    assert re.search(r'data-testid="deposit-status"[^>]*><strong>待缴纳保证金<', html)
    listing = await page.get(f"/listings/{listing_id}")
    assert re.search(r'data-testid="deposit-link">查看缴款说明<', listing)

    await exchange.http.pay(reference.group(1), 200_000)
    html = await page.get(target.split("?")[0])
    assert re.search(r'data-testid="deposit-status"[^>]*><strong>保证金已到账，待资格审核<', html)
    assert 'data-testid="deposit-instructions"' not in html
    reg_id = int(target.split("/")[3].split("?")[0])
    await reviewer.ok("POST", f"/api/v1/registrations/{reg_id}/review", {"decision": "qualify"})
    html = await page.get(f"/me/registrations/{reg_id}")
    assert re.search(r'data-testid="deposit-status"[^>]*><strong>已确认竞买资格<', html)
    assert 'data-testid="bidder-number"' in html
    listing = await page.get(f"/listings/{listing_id}")
    assert re.search(r'data-testid="deposit-link">查看竞买资格与保证金<', listing)
    assert "查看缴款说明" not in listing
    # Someone else's registration is not found.
    other = await browsers().login((await bidder(exchange.http))[0].username or "")
    await other.get(f"/me/registrations/{reg_id}", status=404)
    assert registration is None


async def test_the_winner_reads_his_plan_deadline_and_signatures(
    exchange: Exchange,
    browsers: Any,  # noqa: F811
) -> None:
    h = await hammer(exchange, "relist")
    winner = await browsers().login(h.winner.username or "")
    html = await winner.get("/me/deals")
    # In publicity: what happens next, and the plan at the final price (+3 steps: ¥12,720.00).
    assert "村集体增收" not in html
    assert re.findall(r'data-testid="plan-amount">([^<]+)<', html) == ["¥12,720.00"] * 10
    assert "成交结果公示至 2026年12月18日24:00" in html

    await exchange.past_publicity(h.listing_id)
    async with exchange.services.db.read() as session:
        contract = await session.scalar(select(Contract).where(Contract.listing_id == h.listing_id))
        assert contract is not None
    winner = await browsers().login(h.winner.username or "")  # the session has expired
    html = await winner.get("/me/deals")
    shown = re.search(r'data-testid="sign-deadline">([^<]+)<', html)
    assert shown and shown.group(1) == deadline_zh(contract.sign_deadline) + "前"
    assert shown.group(1) == contract.data["dates"]["sign_deadline"] + "前"
    statuses = re.findall(r'data-testid="plan-status">([^<]+)<', html)
    assert statuses == ["待签约"] * 10
    assert re.findall(r'data-testid="plan-amount">([^<]+)<', html) == ["¥12,720.00"] * 10

    village = await h.village.relogin()
    await village.ok("POST", f"/api/v1/contracts/{contract.id}/sign", {"password": PASSWORD})
    page = await winner.get(f"/contracts/{contract.id}/verification")
    main = page[page.index("<main") :]
    assert "{" not in main and '"valid"' not in main  # sentences, not data
    assert "尚未签署完毕" in main and "尚待竞买人（乙方，承租方）签署" not in main
    assert "尚待竞得人（乙方，承租方）签署" in main
    assert "村集体（甲方，出租方）：验证有效" in main and "时间戳由" in main
    assert 'download="签章验证数据-' in main and "下载验证数据（JSON）" in main
    report = await h.winner.relogin()
    data = await report.ok("GET", f"/api/v1/contracts/{contract.id}/verification")
    assert data["document_sha256"] in main
    await winner.get(f"/contracts/{contract.id}/verification")
    stranger = await browsers().login((await bidder(exchange.http))[0].username or "")
    await stranger.get(f"/contracts/{contract.id}/verification", status=404)


async def test_a_failed_listing_and_a_lost_auction_say_when_the_deposit_comes_back(
    exchange: Exchange,
    browsers: Any,  # noqa: F811
) -> None:
    admin = await exchange.http.login("admin")
    await admin.ok("PUT", "/api/v1/settings", {"single_bidder_policy": "fail"})
    listing_id, _, reviewer = await entrust_review_announce(
        exchange.http,
        exchange.clock.now(),
        closes_in=timedelta(days=10),
        starts_in=timedelta(days=11),
    )
    (alone,), (registration,) = await sign_up_and_qualify(exchange.http, reviewer, listing_id, 1)
    exchange.clock.advance(timedelta(days=10, seconds=1))
    await exchange.tick()
    alone = await alone.relogin()
    mine = await alone.ok("GET", f"/api/v1/registrations/{registration['id']}")
    assert mine["deposit_state"] == "refundable"
    due = deadline_zh(datetime.fromisoformat(mine["refund_due_at"]))
    page = await browsers().login(alone.username or "")
    html = await page.get(f"/listings/{listing_id}")
    assert (
        "本项目流拍：合格竞买人不足，流拍。已缴纳的保证金自流拍之日起 5 个工作日内原路退还" in html
    )
    assert f"您的保证金 ¥2,000.00 将于 {due}前 原路退还" in html
    assert re.search(r'data-testid="deposit-link">查看保证金退还情况<', html)
    html = await page.get(f"/me/registrations/{registration['id']}")
    assert re.search(r'data-testid="deposit-status">\s*<strong>保证金待退还<', html)
    assert f"{due}前原路退还" in html


async def test_the_bidders_who_lost_read_their_refund_date(
    exchange: Exchange,
    browsers: Any,  # noqa: F811
) -> None:
    h = await hammer(exchange, "runner_up")
    onlooker = await h.onlooker.relogin()
    [registration] = (await onlooker.ok("GET", "/api/v1/registrations"))["items"]
    due = deadline_zh(datetime.fromisoformat(registration["refund_due_at"]))
    assert due == "2026年12月18日24:00"
    page = await browsers().login(onlooker.username or "")
    html = await page.get(f"/listings/{h.listing_id}")
    assert f"您未竞得本项目。</li><li>您的保证金 ¥2,000.00 将于 {due}前 原路退还" in html
    # The runner-up's deposit is kept while the deal stands, and he is told why.
    page = await browsers().login(h.runner_up.username or "")
    html = await page.get("/me/registrations")
    assert "您未竞得，是本项目的候补竞买人：成交合同签订前您的保证金继续冻结" in html
