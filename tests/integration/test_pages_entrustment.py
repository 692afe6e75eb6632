"""The village's entrustment form and listing page, and the reviewer's qualification cards,
in-process on SQLite and PostgreSQL (docs/ui.md): every error of a form in one answer, files
kept across a refused submission, the countdown's own lengths saved and kept when the form is
saved, the 下一步 following the deal and its contract, and warnings on the cards."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from oversight import jobs
from tests.integration.conftest import Exchange
from tests.integration.test_deal_aftermath import hammer
from tests.integration.test_pages import (  # noqa: F401
    ENTRUSTMENT,
    PDF,
    Browser,
    browsers,
    error_of,
)
from tests.support import (
    PASSWORD,
    SEED_LISTING,
    SEED_TERMS,
    entrust_review_announce,
    new_bidder,
    resident_id,
)

EMPTY_FORM_FIELDS = ("title", "category", "location", "listing_price", "term_years", "increment")


def summary_links(html: str) -> list[str]:
    """The inputs the summary above the form links to, in its order."""
    match = re.search(r'data-testid="error-summary">(.*?)</div>', html, re.S)
    assert match, "no summary of errors above the form"
    return re.findall(r'<a href="#f-([a-z_]+)">', match.group(1))


def form_values(html: str) -> dict[str, str]:
    """What a browser would send for the form as the page shows it (inputs, selects,
    text areas)."""
    values = dict(
        re.findall(r'<input id="f-[a-z_]+" name="([a-z_]+)" type="[a-z]+" value="([^"]*)"', html)
    )
    for select in re.findall(r"<select .*?</select>", html, re.S):
        name = re.search(r'name="([a-z_]+)"', select)
        chosen = re.search(r'<option value="([^"]*)" selected>', select)
        if name:
            values[name.group(1)] = chosen.group(1) if chosen else ""
    values.update(re.findall(r'<textarea id="f-[a-z_]+" name="([a-z_]+)"[^>]*>([^<]*)<', html))
    return values


def kept_token(html: str, field: str) -> str:
    match = re.search(rf'name="kept_{field}" value="([^"]+)"', html)
    assert match, f"no file kept for {field}"
    return match.group(1)


async def test_an_empty_form_shows_every_error_at_once(browsers: Any) -> None:  # noqa: F811
    village = await browsers().login("xingtian")
    await village.get("/village/listings/new")
    response = await village.post("/village/listings/new", {"category": ""}, status=400)
    html = response.text
    for field in EMPTY_FORM_FIELDS:
        assert error_of(html, field)[0] == "form.required", field
    assert summary_links(html) == list(EMPTY_FORM_FIELDS)
    assert "项目名称：请填写项目名称" in html
    assert "杏秀路口" not in await village.get("/village")  # nothing was written


async def test_field_errors_rules_and_the_resolution_are_all_reported_in_one_answer(
    browsers: Any,  # noqa: F811
) -> None:
    village = await browsers().login("xingtian")
    await village.get("/village/listings/new")
    response = await village.post(
        "/village/listings/new",
        {
            **ENTRUSTMENT,
            "title": "",  # a field of its own
            "category": "collective_construction_land",
            "term_years": "25",  # over the category's 20 years (the settings)
            "reserve": "11000",  # below the listing price of 12,000
            "countdown_seconds": "3",  # under 5 seconds
            "resolution_present": "19",  # no quorum of 30 representatives
            "resolution_votes_for": "17",
            "resolution_publicity_end": "2026-11-01",  # before its start
        },
        status=400,
    )
    html = response.text
    assert error_of(html, "title")[0] == "form.required"
    assert error_of(html, "term_years")[0] == "terms.term_too_long"
    assert error_of(html, "reserve")[0] == "terms.reserve_below_start"
    assert error_of(html, "countdown_seconds")[0] == "form.range"
    assert error_of(html, "resolution_publicity_end")[0] == "resolution.publicity_order"
    assert error_of(html, "resolution_present")[0] == "resolution.no_quorum"
    assert error_of(html, "resolution_votes_for")[0] == "resolution.two_thirds_required"
    assert summary_links(html) == [
        "title",
        "term_years",
        "reserve",
        "countdown_seconds",
        "resolution_present",
        "resolution_votes_for",  # two thirds of all 30 for construction land
        "resolution_publicity_end",
    ]


async def test_a_refused_file_keeps_the_accepted_ones(
    exchange: Exchange,
    browsers: Any,  # noqa: F811
) -> None:
    village = await browsers().login("xingtian")
    await village.get("/village/listings/new")
    response = await village.post(
        "/village/listings/new",
        ENTRUSTMENT,
        files={
            "village_resolution": ("决议.pdf", PDF, "application/pdf"),
            "ownership_proof": ("证明.txt", b"not a document", "text/plain"),
        },
        status=400,
    )
    html = response.text
    code, message = error_of(html, "ownership_proof")
    assert code == "document.unsupported_type"
    assert message.startswith("“证明.txt”未能上传：") and message.endswith("请重新选择文件")
    assert 'data-testid="kept-village_resolution">已上传：决议.pdf（可替换）<' in html
    token = kept_token(html, "village_resolution")

    # Another village's official cannot bring the file along with the note.
    other = await browsers().login("other-village")
    await other.get("/village/listings/new")
    forged = await other.post(
        "/village/listings/new",
        {**ENTRUSTMENT, "title": "", "kept_village_resolution": token},
        status=400,
    )
    assert "kept_village_resolution" not in forged.text

    # A refused replacement leaves the kept file in place and says so.
    response = await village.post(
        "/village/listings/new",
        {**ENTRUSTMENT, "kept_village_resolution": token},
        files={"village_resolution": ("新决议.pdf", b"%PDF-1.4 truncated", "application/pdf")},
        status=400,
    )
    message = error_of(response.text, "village_resolution")[1]
    assert "仍保留先前上传的“决议.pdf”" in message
    token = kept_token(response.text, "village_resolution")

    # The form sent again without choosing the file saves the entrustment with it.
    created = await village.post(
        "/village/listings/new", {**ENTRUSTMENT, "kept_village_resolution": token}
    )
    listing_id = int(created.headers["location"].split("?")[0].rsplit("/", 1)[1])
    api = await exchange.http.login("xingtian")
    shown = await api.ok("GET", f"/api/v1/listings/{listing_id}")
    assert [(d["kind"], d["filename"]) for d in shown["documents"]] == [
        ("village_resolution", "决议.pdf")
    ]


async def test_the_countdown_lengths_are_saved_and_an_api_value_is_kept(
    exchange: Exchange,
    browsers: Any,  # noqa: F811
) -> None:
    api = await exchange.http.login("xingtian")
    holder = {"name": "林某", "id_type": "resident_id", "id_number": resident_id()}
    terms = {**SEED_TERMS, "free_bidding_minutes": 0, "countdown_seconds": 90}
    created = await api.ok(
        "POST",
        "/api/v1/listings",
        {**SEED_LISTING, "terms": {**terms, "priority_holders": [holder]}},
        status=201,
    )
    path = f"/village/listings/{created['id']}/edit"
    village = await browsers().login("xingtian")
    form = await village.get(path)
    assert re.search(
        r'id="f-free_bidding_minutes" name="free_bidding_minutes" [^>]*value="0"', form
    )
    assert re.search(r'id="f-countdown_seconds" name="countdown_seconds" [^>]*value="90"', form)

    # Saved as shown, with another title: what the API set stays.
    values = form_values(form)
    await village.post(path, {**values, "title": "改名后的项目"})
    saved = await api.ok("GET", f"/api/v1/listings/{created['id']}")
    assert saved["title"] == "改名后的项目"
    assert saved["terms"]["free_bidding_minutes"] == 0
    assert saved["terms"]["countdown_seconds"] == 90
    assert saved["terms"]["priority_holders"] == [holder]

    # Changed on the form, and refused beyond the settings' limits.
    await village.get(path)
    await village.post(
        path,
        {**values, "free_bidding_minutes": "15", "countdown_seconds": ""},
    )
    saved = await api.ok("GET", f"/api/v1/listings/{created['id']}")
    assert saved["terms"]["free_bidding_minutes"] == 15
    assert "countdown_seconds" not in saved["terms"] or saved["terms"]["countdown_seconds"] is None
    await village.get(path)
    response = await village.post(path, {**values, "free_bidding_minutes": "1441"}, status=400)
    assert error_of(response.text, "free_bidding_minutes")[1] == "自由竞价时长应在 0 至 1440 之间"


async def test_the_next_step_follows_the_deal_and_the_contract(exchange: Exchange) -> None:
    h = await hammer(exchange, "relist")
    village = await Browser(exchange).login("xingtian")
    page = f"/village/listings/{h.listing_id}"
    html = await village.get(page)
    assert 'data-step="publicity"' in html and "成交结果公示中（至 2026-12-18 24:00）" in html

    await exchange.past_publicity(h.listing_id)
    village = await Browser(exchange).login("xingtian")
    html = await village.get(page)
    deal = await exchange.http.ok("GET", f"/api/v1/listings/{h.listing_id}/deal")
    contract_id = deal["contract_id"]
    assert 'data-step="sign"' in html
    assert re.search(r'data-testid="sign-next">请签署合同：', html)
    assert f'<a class="btn" href="#sign-{contract_id}">签署合同</a>' in html
    assert f'id="sign-{contract_id}"' in html  # the link leads to the signing form
    assert "请等待合同生成" not in html

    api = await exchange.http.login("xingtian")
    contract = await api.ok("GET", f"/api/v1/contracts/{contract_id}")
    await api.ok(
        "POST",
        f"/api/v1/contracts/{contract_id}/sign",
        {"password": PASSWORD, "sha256": contract["pdf_sha256"]},
    )
    html = await village.get(page)
    assert 'data-step="await_winner"' in html and "等待竞得人签署" in html
    await (await h.winner.relogin()).ok(
        "POST", f"/api/v1/contracts/{contract_id}/sign", {"password": PASSWORD}
    )
    html = await village.get(page)
    assert 'data-step="await_certificate"' in html and "等待交易中心出具交易鉴证书" in html


async def test_the_reviewers_cards_show_the_warnings_found(exchange: Exchange) -> None:
    anon = exchange.http
    listing_id, _, _ = await entrust_review_announce(
        anon, exchange.clock.now(), closes_in=timedelta(days=10), starts_in=timedelta(days=11)
    )
    names, registrations = ["王一", "王二"], []
    for name in names:
        bidder = await new_bidder(anon, name)
        # Both apply from one browser on one machine: the same device and address.
        registration = await bidder.ok(
            "POST",
            f"/api/v1/listings/{listing_id}/registrations",
            {},
            status=201,
            headers={"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) SharedOfficePC"},
        )
        paid = await anon.pay(registration["payment_reference"], registration["deposit_fen"])
        assert paid.status_code == 200, paid.text
        registrations.append(registration)
    svc = exchange.services
    await jobs.scan_warnings(jobs.JobContext.of(svc.config, svc.db, svc.clock), force=True)
    regulator = await anon.login("regulator")
    found = await regulator.ok("GET", f"/api/v1/warnings?listing_id={listing_id}")
    device = next(w for w in found["items"] if w["kind"] == "shared_device")

    reviewer = await Browser(exchange).login("reviewer")
    # The queue of deposits to qualify says which have warnings.
    queue = await reviewer.get("/review")
    kinds = {w["kind"] for w in found["items"]}
    flagged = re.findall(r'data-testid="queue-warnings">有 (\d+) 项预警', queue)
    assert flagged == [str(len(kinds))] * 2
    html = await reviewer.get(f"/review/listings/{listing_id}")
    for registration, other in zip(registrations, reversed(names), strict=True):
        card = re.search(rf'id="reg-{registration["id"]}">(.*?)</article>', html, re.S)
        assert card, registration["id"]
        # Applicants are named to the reviewer while qualifying them (the policy's
        # applicants facet); the shared value itself is not shown.
        assert f"报名时与报名人{other}使用同一设备" in card.group(1)
        assert f'href="#warning-{device["id"]}"' in card.group(1)
        assert "Mozilla" not in card.group(1)
    assert f'id="warning-{device["id"]}"' in html
    assert "竞买人设备（浏览器标识）相同：2 名报名人使用同一设备" in html
    assert "shared_device" not in re.sub(r"<[^>]+>", "", html[html.find("<main") :])
