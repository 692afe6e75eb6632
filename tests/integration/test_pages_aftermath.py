"""After the hammer through the pages (docs/domain.md §6, docs/ui.md), on SQLite and
PostgreSQL: the deal's state in words, the default rule in the terms before anyone bids, a
bidder's objection, the reviewer's decision, the runner-up's offer, a winner's default with
its confirmation step, and relisting a voided deal — each form's success and a refusal shown
in Chinese next to its field or above its form.

The auction ends on Saturday 2026-12-12 (tests.integration.test_deal_aftermath.hammer): the
publicity and the refund period run to 24:00 of Friday 18 December.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import httpx

from tests.integration.conftest import Exchange
from tests.integration.test_deal_aftermath import DEPOSIT, STEP, hammer
from tests.integration.test_pages import (  # noqa: F401
    Browser,
    browsers,
    entrust,
    error_of,
)
from tests.support import RESOLUTION_PDF, SEED_TERMS, phone, resident_id

#: Codes that must never reach a person's page.
RAW = (
    "objection_upheld",
    "offer_declined",
    "offer_expired",
    "deal_voided",
    "not_signed",
    "withdrew",
    "runner_up",
    ">publicity<",
    ">offered<",
)


def general_error(html: str) -> tuple[str, str]:
    """The error shown above a form: (code, message)."""
    match = re.search(r'<div class="alert" role="alert" data-code="([^"]+)">([^<]+)</div>', html)
    assert match, "no error above the form"
    return match.group(1), match.group(2)


def flash(html: str) -> str:
    match = re.search(r'class="flash"[^>]*>([^<]+)<', html)
    assert match, "no flash message"
    return match.group(1)


def no_raw_codes(html: str) -> None:
    main = html[html.find("<main") :]
    shown = re.sub(r"<[^>]+>", "><", main)  # attribute values (ids, test ids) are not shown
    for code in RAW:
        assert code not in shown, code


async def follow(browser: Browser, response: httpx.Response) -> str:
    return await browser.get(response.headers["location"].split("#")[0])


async def deal_of(exchange: Exchange, listing_id: int) -> dict[str, Any]:
    deal: dict[str, Any] = await exchange.http.ok("GET", f"/api/v1/listings/{listing_id}/deal")
    return deal


async def test_the_terms_state_the_default_rule_and_the_form_chooses_it(
    browsers: Any,  # noqa: F811
) -> None:
    village = await browsers().login("xingtian")
    listing_id = await entrust(village, on_default="runner_up")
    html = await village.get(f"/village/listings/{listing_id}")
    assert re.search(r'data-testid="on-default">向候补竞买人递补成交', html)
    assert "竞得人逾期未签约或放弃竞得的，竞买保证金不予退还" in html
    edit = await village.get(f"/village/listings/{listing_id}/edit")
    assert re.search(r'<option value="runner_up" selected>向候补竞买人递补成交</option>', edit)

    # A new form proposes relisting; a value that is not a choice is refused at the field.
    blank = await village.get("/village/listings/new")
    assert re.search(r'<option value="relist" selected>重新挂牌</option>', blank)
    refused = await village.post(
        f"/village/listings/{listing_id}/edit",
        {**_form_of(edit), "on_default": "auction_again"},
        status=400,
    )
    assert error_of(refused.text, "on_default") == ("request.invalid", "请选择竞得人违约的处理方式")
    other = await entrust(village)
    assert re.search(
        r'data-testid="on-default">重新挂牌<', await village.get(f"/village/listings/{other}")
    )


def _form_of(html: str) -> dict[str, str]:
    """The text inputs and selected options of the entrustment form as it was rendered."""
    values = dict(re.findall(r'<input id="f-(\w+)" name="\w+" type="[\w-]+" value="([^"]*)"', html))
    for name, body in re.findall(
        r'<select id="f-(\w+)" name="\w+"[^>]*>(.*?)</select>', html, re.S
    ):
        chosen = re.search(r'<option value="([^"]*)" selected>', body)
        if chosen:
            values[name] = chosen.group(1)
    return values


async def test_an_objection_upheld_on_the_pages_and_the_runner_up_accepting(
    exchange: Exchange,
    browsers: Any,  # noqa: F811
) -> None:
    h = await hammer(exchange, "runner_up")
    lid = h.listing_id
    public = await browsers().get(f"/listings/{lid}")
    assert re.search(r"成交公示中</strong>，公示期至 <strong[^>]*>2026年12月18日24:00<", public)
    assert "/objections" not in public  # no form for those who did not bid

    onlooker = await browsers().login(h.onlooker.username or "")
    mine = await onlooker.get("/me/registrations")
    assert "保证金将于 2026年12月18日24:00前退还" in mine
    assert re.search(
        r'data-testid="publicity-notice">成交公示中，公示期至 2026年12月18日24:00', mine
    )
    page = await onlooker.get(f"/listings/{lid}")
    assert f'action="/listings/{lid}/objections"' in page and "异议事实和理由" in page

    # Reasons are required: said at the field, in Chinese, nothing filed.
    refused = await onlooker.post(f"/listings/{lid}/objections", {"reasons": "  "}, status=400)
    assert error_of(refused.text, "reasons") == (
        "objection.reasons_required",
        "请写明异议的事实和理由",
    )
    reasons = "竞得人与村干部存在关联关系，附相关材料"
    # A file that is not what it says is refused at its field, and nothing is filed.
    forged = {"evidence": ("说明.pdf", b"not a pdf at all", "application/pdf")}
    refused = await onlooker.post(
        f"/listings/{lid}/objections", {"reasons": reasons}, files=forged, status=400
    )
    assert error_of(refused.text, "evidence")[0] == "document.unsupported_type"
    assert 'data-testid="my-objection"' not in refused.text
    evidence = {"evidence": ("关联关系说明.pdf", RESOLUTION_PDF, "application/pdf")}
    done = await onlooker.post(f"/listings/{lid}/objections", {"reasons": reasons}, files=evidence)
    page = await follow(onlooker, done)
    assert flash(page).startswith("异议已提交")
    assert re.search(r'data-testid="objection-state">待处理<', page) and reasons in page
    assert "证明材料：" in page and "关联关系说明.pdf</a>" in page

    # Someone who did not register is refused above the form.
    stranger = browsers()
    await stranger.sign_up("路人", resident_id(), phone())
    await stranger.get(f"/listings/{lid}")
    late = await stranger.post(
        f"/listings/{lid}/objections",
        {"reasons": reasons, "_csrf": header_csrf(stranger)},
        status=409,
    )
    assert general_error(late.text) == (
        "objection.not_a_bidder",
        "只有报名参加该项目的竞买人可以提出异议",
    )

    # The reviewer's queue points at it; the page shows it with the objector's number.
    reviewer = await browsers().login("reviewer")
    queue = await reviewer.get("/review")
    assert "1 件异议待处理" in queue and f'href="/review/listings/{lid}#aftermath"' in queue
    page = await reviewer.get(f"/review/listings/{lid}")
    assert reasons in page and f"竞买号 {h.registrations[2]['bidder_number']}" in page
    assert re.search(r'data-testid="review-deal-state">成交公示中<', page)
    [objection_id] = re.findall(r'action="/review/objections/(\d+)/decision"', page)
    path = f"/review/objections/{objection_id}/decision"
    refused = await reviewer.post(path, {"reason": "经核查"}, status=400)
    assert error_of(refused.text, "decision") == ("request.invalid", "请选择维持异议或驳回异议")
    refused = await reviewer.post(path, {"decision": "uphold", "reason": " "}, status=400)
    assert error_of(refused.text, "reason") == (
        "objection.decision_reason_required",
        "请写明处理意见和理由",
    )
    done = await reviewer.post(path, {"decision": "uphold", "reason": "经核查关联关系属实"})
    page = await follow(reviewer, done)
    assert flash(page) == "已维持异议：原成交无效。"
    assert re.search(r'data-testid="review-deal-state">候补递补中<', page)
    assert re.search(r'data-testid="objection-state">异议成立（成交无效）<', page)
    for words in ("提出异议", "异议处理", "结论：异议成立（成交无效）", "理由：异议成立"):
        assert words in page, words
    assert "向候补竞买人递补成交" in page and "候补竞买人接受递补" not in page
    no_raw_codes(page)

    # The objector reads the decision; the public reads the state.
    page = await onlooker.get(f"/listings/{lid}")
    assert re.search(r'data-testid="objection-decision">经核查关联关系属实<', page)
    public = await browsers().get(f"/listings/{lid}")
    assert "候补递补中</strong>：原成交已撤销（异议成立）" in public
    no_raw_codes(public)

    # The runner-up: a notice on their registrations, the offer on the listing page.
    runner_up = await browsers().login(h.runner_up.username or "")
    mine = await runner_up.get("/me/registrations")
    assert 'data-testid="offer-notice"' in mine and f"/listings/{lid}#offer" in mine
    page = await runner_up.get(f"/listings/{lid}")
    offered = SEED_TERMS["listing_price_fen"] + 2 * STEP
    assert re.search(r'data-testid="offer-price"><span class="money">¥12,480.00</span>', page)
    assert offered == 1_248_000
    deal = await deal_of(exchange, lid)
    assert (deal["offer_fen"], deal["offer_number"]) == (
        offered,
        h.registrations[1]["bidder_number"],
    )
    assert 'data-testid="offer-deadline">' in page and "接受递补成交" in page

    # Nobody else may answer; declining asks once more and writes nothing until confirmed.
    other = await onlooker.post(
        f"/listings/{lid}/offer",
        {"decision": "accept", "_csrf": header_csrf(onlooker)},
        status=403,
    )
    assert "该项目没有向您发出递补成交通知" in other.text
    asked = await runner_up.post(f"/listings/{lid}/offer", {"decision": "decline"}, status=200)
    assert "确定放弃递补成交吗？" in asked.text and 'name="confirm" value="1"' in asked.text
    assert (await deal_of(exchange, lid))["deal_state"] == "offered"
    await runner_up.get(f"/listings/{lid}")
    done = await runner_up.post(f"/listings/{lid}/offer", {"decision": "accept"})
    page = await follow(runner_up, done)
    assert flash(page).startswith("您已接受递补成交")
    assert re.search(r"成交公示中</strong>，公示期至 <strong[^>]*>2026年12月18日24:00<", page)
    assert "成交结果（候补递补成交）" in page

    await exchange.past_publicity(lid)
    runner_up = await browsers().login(h.runner_up.username or "")
    deals = await runner_up.get("/me/deals")
    assert "成交已确认" in deals and 'data-testid="contract-state"' in deals
    assert "¥12,480.00" in deals


def header_csrf(browser: Browser) -> str:
    """The session's CSRF token of a bidder with no form on the page: from the sign-out form."""
    match = re.search(r'name="_csrf" value="([^"]+)"', browser.last)
    assert match
    return match.group(1)


async def test_a_default_confirmed_on_the_page_then_the_runner_up_declines_and_it_is_relisted(
    exchange: Exchange,
    browsers: Any,  # noqa: F811
) -> None:
    h = await hammer(exchange, "runner_up")
    lid = h.listing_id
    reviewer = await browsers().login("reviewer")
    page = await reviewer.get(f"/review/listings/{lid}")
    assert "认定竞得人违约" not in page  # not during the publicity
    await exchange.past_publicity(lid)
    reviewer = await browsers().login("reviewer")
    page = await reviewer.get(f"/review/listings/{lid}")
    assert re.search(r'data-testid="review-deal-state">成交已确认<', page)
    assert f'action="/review/listings/{lid}/default"' in page
    path = f"/review/listings/{lid}/default"

    refused = await reviewer.post(path, {"reason": "", "note": ""}, status=400)
    assert error_of(refused.text, "reason") == ("request.invalid", "请选择违约情形")
    # Not signed, but the signing period is still running: refused at the reason, in words.
    await reviewer.get(f"/review/listings/{lid}")
    early = await reviewer.post(path, {"reason": "not_signed", "confirm": "1"}, status=422)
    assert error_of(early.text, "reason") == (
        "default.before_deadline",
        "合同签署期限尚未届满，不能以逾期未签约认定违约",
    )

    # Past the signing deadline the reviewer's queue points at the listing.
    assert "尚未完成签约" not in await reviewer.get("/review")
    deal = await deal_of(exchange, lid)
    api = await h.reviewer.relogin()
    contract = await api.ok("GET", f"/api/v1/contracts/{deal['contract_id']}")
    exchange.clock.set(datetime.fromisoformat(contract["sign_deadline"]) + timedelta(seconds=1))
    reviewer = await browsers().login("reviewer")
    queue = await reviewer.get("/review")
    assert "合同签署期限已届满，尚未完成签约" in queue
    assert f'href="/review/listings/{lid}#aftermath"' in queue

    # A written withdrawal: the page asks once more, naming what follows; nothing is done yet.
    await reviewer.get(f"/review/listings/{lid}")
    asked = await reviewer.post(
        path, {"reason": "withdrew", "note": "竞得人书面声明放弃"}, status=200
    )
    winner_number = h.registrations[0]["bidder_number"]
    assert f"请确认：认定竞买号 {winner_number} 的竞得人违约（竞得后放弃（悔拍））" in asked.text
    assert "其竞买保证金 ¥2,000.00 不予退还" in asked.text and DEPOSIT == 200_000
    assert "按挂牌条件：向候补竞买人递补成交" in asked.text
    assert (await deal_of(exchange, lid))["deal_state"] == "confirmed"
    done = await reviewer.post(
        path, {"reason": "withdrew", "note": "竞得人书面声明放弃", "confirm": "1"}
    )
    page = await follow(reviewer, done)
    assert flash(page).startswith("已认定竞得人违约")
    assert re.search(r'data-testid="review-deal-state">候补递补中<', page)
    assert "认定竞得人违约" in page and "说明：竞得人书面声明放弃" in page
    assert "没收保证金 ¥2,000.00" in page
    no_raw_codes(page)

    winner = await browsers().login(h.winner.username or "")
    assert "保证金：已没收" in await winner.get("/me/registrations")

    # The runner-up declines, confirming it: the listing ends for relisting.
    runner_up = await browsers().login(h.runner_up.username or "")
    await runner_up.get(f"/listings/{lid}")
    done = await runner_up.post(f"/listings/{lid}/offer", {"decision": "decline", "confirm": "1"})
    page = await follow(runner_up, done)
    assert flash(page).startswith("您已放弃递补成交")
    assert "成交已撤销</strong>：候补竞买人放弃递补" in page and "本项目交易终结" in page
    no_raw_codes(page)
    mine = await runner_up.get("/me/registrations")
    assert "保证金将于" in mine and "前退还" in mine
    # Too late to answer again: said above the offer's form.
    again = await runner_up.post(
        f"/listings/{lid}/offer",
        {"decision": "accept", "_csrf": header_csrf(runner_up)},
        status=409,
    )
    assert general_error(again.text) == ("offer.not_open", "该项目没有待答复的递补成交通知")

    village = await browsers().login("xingtian")
    page = await village.get(f"/village/listings/{lid}")
    assert re.search(r'data-testid="voided-next">本项目成交已撤销（候补竞买人放弃递补）', page)
    assert "候补竞买人放弃递补" in page and "成交撤销" in page
    assert '<span class="badge state-failed">成交已撤销</span>' in page  # not 流拍
    listed = await village.get("/village")
    assert re.search(r"<dt>成交状态</dt><dd>成交已撤销</dd>", listed)
    no_raw_codes(page)
    await village.get(f"/village/listings/{lid}")
    done = await village.post(f"/village/listings/{lid}/relist", {})
    new_id = int(re.search(r"/village/listings/(\d+)", done.headers["location"]).group(1))  # type: ignore[union-attr]
    assert new_id != lid
    page = await follow(village, done)
    assert flash(page).startswith("已按原委托生成新的草稿")
    assert re.search(r'data-testid="on-default">向候补竞买人递补成交', page)


async def test_refusals_of_the_aftermath_forms_for_other_people(
    exchange: Exchange,
    browsers: Any,  # noqa: F811
) -> None:
    h = await hammer(exchange, "relist")
    lid = h.listing_id
    # The winner of a relist listing has no runner-up: no offer to anyone.
    assert (await deal_of(exchange, lid))["offer_number"] is None
    bidder = await browsers().login(h.runner_up.username or "")
    page = await bidder.get(f"/listings/{lid}")
    assert 'id="offer"' not in page
    refused = await bidder.post(f"/listings/{lid}/offer", {"decision": "maybe"}, status=400)
    assert general_error(refused.text) == ("request.invalid", "请选择接受或放弃递补成交")
    # A village cannot file an objection; an unknown objection is not found.
    village = await browsers().login("xingtian")
    await village.get("/village")
    assert (
        await village.client.post(f"/listings/{lid}/objections", data={"reasons": "x"})
    ).status_code == 403
    reviewer = await browsers().login("reviewer")
    await reviewer.get(f"/review/listings/{lid}")
    missing = await reviewer.post(
        "/review/objections/999999/decision",
        {"decision": "dismiss", "reason": "x", "_csrf": header_csrf(reviewer)},
        status=404,
    )
    assert "异议不存在" in missing.text
