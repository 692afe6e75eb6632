"""Rent on the pages (docs/domain.md §7), on SQLite and PostgreSQL: the schedule with its
status in Chinese, the transfer reference and the arrears mark on the lessee's and the
village's pages; the village records a payment (refusals next to their fields) and a reviewer
waives the rest."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any

from core.clock import CHINA_TZ
from tests.integration.conftest import Exchange
from tests.integration.test_contracts import reach_deal
from tests.integration.test_pages import Browser, error_of
from tests.integration.test_pages_aftermath import flash, follow
from tests.support import PASSWORD, RESOLUTION_PDF

RAW = ("partly_paid", "not_due", ">overdue<", ">waived<", ">open<", "rent.")


def shown(html: str) -> str:
    main = html[html.find("<main") :]
    return re.sub(r"<[^>]+>", "><", main)  # attribute values are not shown


def statuses(html: str) -> list[str]:
    return [
        re.sub(r"<[^>]+>", "", s)
        for s in re.findall(r'data-testid="rent-status">(.*?)</td>', html, re.S)
    ]


def plan_statuses(html: str) -> list[str]:
    """The statuses of the winner's payment plan (app/templates/_payplan.html)."""
    return re.findall(r'data-testid="plan-status">([^<]*)<', html)


async def test_rent_schedule_and_forms_on_the_pages(exchange: Exchange) -> None:
    sold = await reach_deal(exchange)
    path = f"/api/v1/contracts/{sold.contract_id}"
    contract = await sold.village.ok("GET", path)
    await sold.village.ok(
        "POST", f"{path}/sign", {"password": PASSWORD, "sha256": contract["pdf_sha256"]}
    )
    await sold.winner.ok("POST", f"{path}/sign", {"password": PASSWORD})
    lease: dict[str, Any] = await sold.winner.ok("GET", f"{path}/rent")
    first = lease["items"][0]
    owed = first["outstanding_fen"]

    assert sold.winner.username is not None
    winner = await Browser(exchange).login(sold.winner.username)
    html = await winner.get("/me/deals")
    # The lessee reads his payment plan: what he pays, when, and what he has paid.
    assert "我的付款计划" in html and first["reference"] in html
    assert plan_statuses(html)[:2] == ["部分支付", "未到期"]
    assert "保证金抵扣 ¥2,000.00，转账 ¥0.00" in html
    assert "转账附言填写该期的“转账识别码”" in html
    assert 'data-testid="rent-pay-form"' not in html  # the lessee records nothing
    for code in RAW:
        assert code not in shown(html), code

    # Forty days after the first due date, the rest of year 1 is unpaid: yellow.
    due = date.fromisoformat(first["due_date"])
    exchange.clock.set(datetime.combine(due + timedelta(days=40), datetime.min.time(), CHINA_TZ))
    winner = await Browser(exchange).login(sold.winner.username)
    html = await winner.get("/me/deals")
    assert 'data-testid="rent-arrears"' in html and "黄色预警" in html
    assert plan_statuses(html)[0] == "逾期（40 天，黄色预警）"

    village = await Browser(exchange).login("xingtian")
    page = f"/village/listings/{sold.listing_id}"
    html = await village.get(page)
    assert statuses(html)[0] == "逾期（40 天，黄色预警）"
    action = f"/rent-items/{first['id']}/payments"
    assert f'action="{action}"' in html
    paid_on = (due + timedelta(days=40)).isoformat()
    await village.post(action, {"amount": "1000", "paid_on": paid_on}, status=400)
    assert error_of(village.last, "receipt_number")[0] == "rent.receipt_required"
    too_much = f"{owed // 100 + 1}"
    await village.post(
        action, {"amount": too_much, "paid_on": paid_on, "receipt_number": "XT-1"}, status=422
    )
    assert error_of(village.last, "amount") == ("rent.overpaid", "付款金额超过该期租金尚欠金额")
    done = await village.post(
        action,
        {"amount": "1000", "paid_on": paid_on, "receipt_number": "XT-1"},
        files={"receipt": ("收据.pdf", RESOLUTION_PDF, "application/pdf")},
    )
    assert done.headers["location"].startswith(f"{page}?done=rent_recorded")
    html = await follow(village, done)
    assert flash(html) == "收款已登记，租金台账已更新。"
    assert "收据编号 XT-1" in html and "收据扫描件" in html

    # A reviewer of the region waives the rest of year 1 from their page.
    reviewer = await Browser(exchange).login("reviewer")
    html = await reviewer.get(f"/review/listings/{sold.listing_id}")
    waive = f"/rent-items/{first['id']}/waive"
    assert f'action="{waive}"' in html
    await reviewer.post(waive, {"reason": ""}, status=400)
    assert error_of(reviewer.last, "reason")[0] == "rent.waive_reason_required"
    done = await reviewer.post(waive, {"reason": "村民代表会议决议减免"})
    html = await follow(reviewer, done)
    assert flash(html) == "减免已登记，该期租金不再催收。"
    assert statuses(html)[0].startswith("已减免")
    assert 'data-testid="rent-arrears"' not in html
    # Once nothing is owed the item takes no more money: the forms move to the next item.
    assert f'action="{waive}"' not in html
    for code in RAW:
        assert code not in shown(html), code
