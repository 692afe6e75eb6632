"""四议两公开 as data, in-process on SQLite and PostgreSQL: an entrustment goes to review only
with the village's resolution (its facts, checked against the law, and its document) unless
its category is exempt; the facts are published with the listing and carried into the
contract, and the certificate states what was checked and claims no more."""

from __future__ import annotations

import copy
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from contracts import content
from contracts.models import Contract
from core import settings as exchange_settings
from tests.integration.conftest import Exchange
from tests.integration.test_contracts import Sold, reach_deal
from tests.integration.test_pages import ENTRUSTMENT, Browser, browsers, entrust, error_of  # noqa: F401
from tests.support import (
    PASSWORD,
    SEED_LISTING,
    SEED_RESOLUTION,
    Http,
    attach_resolution,
    iso,
)

LISTINGS = "/api/v1/listings"
SENTENCE = (
    "2026年11月10日村民代表会议，应到30人，实到27人，同意25票，反对1票，弃权1票；"
    "决议公示期2026年11月11日至2026年11月17日"
)


def problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.text)
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    return body


def without_resolution(**changes: Any) -> dict[str, Any]:
    body = {k: v for k, v in copy.deepcopy(SEED_LISTING).items() if k != "resolution"}
    return body | changes


async def test_submission_needs_the_facts_and_the_document(exchange: Exchange) -> None:
    anon = exchange.http
    village, reviewer = await anon.login("xingtian"), await anon.login("reviewer")
    draft = await village.ok("POST", LISTINGS, without_resolution(), status=201)
    path = f"{LISTINGS}/{draft['id']}"
    assert "resolution" not in draft

    problem(await village.call("POST", f"{path}/submit", {}), 422, "submit.resolution_missing")
    # Another document is no resolution.
    other = await village.call(
        "POST",
        f"{path}/documents",
        files={"file": ("权属证明.pdf", b"%PDF-1.4\n%%EOF\n", "application/pdf")},
        data={"kind": "ownership_proof"},
    )
    assert other.status_code == 201
    patched = await village.ok("PATCH", path, {"resolution": SEED_RESOLUTION})
    assert patched["resolution"] == SEED_RESOLUTION | {"attendance_basis": "persons"}
    problem(
        await village.call("POST", f"{path}/submit", {}),
        422,
        "submit.resolution_document_missing",
    )
    assert (await village.ok("GET", path))["state"] == "draft"
    timeline = await (await anon.login("regulator")).ok("GET", f"{path}/timeline")
    assert "listing.submitted" not in [e["type"] for e in timeline["entries"]]

    await attach_resolution(village, draft["id"])
    assert (await village.ok("POST", f"{path}/submit", {}))["state"] == "submitted"
    accepted = await reviewer.ok("POST", f"{path}/review", {"decision": "accept"})
    assert accepted["resolution"]["votes_for"] == 25

    # Published with the announcement (决议公开): the public sees the facts.
    now = exchange.clock.now()
    await reviewer.ok(
        "POST",
        f"{path}/announce",
        {
            "registration_closes_at": iso(now.replace(day=11, hour=9)),
            "auction_starts_at": iso(now.replace(day=12, hour=2)),
        },
    )
    public = await anon.ok("GET", path)
    assert public["resolution"] == SEED_RESOLUTION | {"attendance_basis": "persons"}


async def test_the_facts_are_checked_when_entered(exchange: Exchange) -> None:
    village = await exchange.http.login("xingtian")

    def body(**changes: Any) -> dict[str, Any]:
        return without_resolution(resolution=SEED_RESOLUTION | changes)

    # 30 representatives entitled, 19 present: two thirds (20) were needed.
    refused = problem(
        await village.call(
            "POST", LISTINGS, body(present=19, votes_for=19, votes_against=0, abstentions=0)
        ),
        422,
        "resolution.no_quorum",
    )
    assert refused["quorum"] == 20
    # 20 present, 10 for: not more than half.
    refused = problem(
        await village.call(
            "POST", LISTINGS, body(present=20, votes_for=10, votes_against=9, abstentions=1)
        ),
        422,
        "resolution.not_adopted",
    )
    assert refused["votes_needed"] == 11
    for changes, code in [
        ({"votes_for": 26}, "resolution.votes_exceed_present"),
        ({"present": 31}, "resolution.present_exceeds_entitled"),
        ({"meeting_date": "2026-12-02"}, "resolution.meeting_in_future"),  # the clock: Dec 1
        ({"publicity_end": "2026-11-10"}, "resolution.publicity_order"),
        ({"publicity_start": "2026-11-09"}, "resolution.publicity_before_meeting"),
    ]:
        problem(await village.call("POST", LISTINGS, body(**changes)), 400, code)
    problem(
        await village.call("POST", LISTINGS, body(meeting_kind="party_meeting")),
        400,
        "request.invalid",
    )
    assert (await village.ok("GET", LISTINGS))["items"] == []

    # 11 of 20 carry it; but not to lease construction land (two thirds of all 30: 20).
    created = await village.ok(
        "POST", LISTINGS, body(present=20, votes_for=11, votes_against=9, abstentions=0), status=201
    )
    path = f"{LISTINGS}/{created['id']}"
    refused = problem(
        await village.call("PATCH", path, {"category": "collective_construction_land"}),
        422,
        "resolution.two_thirds_required",
    )
    assert refused["votes_needed"] == 20
    problem(
        await village.call("PATCH", path, {"resolution": SEED_RESOLUTION | {"entitled": 26}}),
        400,
        "resolution.present_exceeds_entitled",
    )
    assert (await village.ok("GET", path))["resolution"]["votes_for"] == 11
    cleared = await village.ok("PATCH", path, {"resolution": None})
    assert "resolution" not in cleared


async def test_an_exempt_category_is_submitted_without_a_resolution(exchange: Exchange) -> None:
    anon = exchange.http
    admin, village = await anon.login("admin"), await anon.login("xingtian")
    problem(
        await admin.call(
            "PUT", "/api/v1/settings", {"resolution_optional_categories": ["orchards"]}
        ),
        400,
        "settings.invalid",
    )
    settings = await admin.ok(
        "PUT", "/api/v1/settings", {"resolution_optional_categories": ["farm_facilities"]}
    )
    assert settings["resolution_optional_categories"] == ["farm_facilities"]

    shed = await village.ok(
        "POST", LISTINGS, without_resolution(category="farm_facilities"), status=201
    )
    submitted = await village.ok("POST", f"{LISTINGS}/{shed['id']}/submit", {})
    assert submitted["state"] == "submitted" and "resolution" not in submitted
    ground = await village.ok("POST", LISTINGS, without_resolution(), status=201)
    problem(
        await village.call("POST", f"{LISTINGS}/{ground['id']}/submit", {}),
        422,
        "submit.resolution_missing",
    )
    # Facts given for an exempt category are still checked.
    problem(
        await village.call(
            "POST",
            LISTINGS,
            without_resolution(
                category="farm_facilities",
                resolution=SEED_RESOLUTION | {"present": 19, "votes_for": 17},
            ),
        ),
        422,
        "resolution.no_quorum",
    )


# --- the contract and the certificate ---------------------------------------------------------


async def certify(exchange: Exchange, sold: Sold) -> str:
    """Both parties sign, the exchange certifies; the certificate's text in content order."""
    path = f"/api/v1/contracts/{sold.contract_id}"
    await sold.village.ok("POST", f"{path}/sign", {"password": PASSWORD})
    await sold.winner.relogin()
    await sold.winner.ok("POST", f"{path}/sign", {"password": PASSWORD})
    reviewer: Http = await sold.reviewer.relogin()
    await reviewer.ok("POST", f"{path}/certify", {})
    pdf = await reviewer.call("GET", f"{path}/certificate.pdf")
    assert pdf.status_code == 200
    return text_of(pdf.content, Path(exchange.services.config.data_dir))


def text_of(pdf: bytes, where: Path) -> str:
    if shutil.which("pdftotext") is None:
        return ""
    path = where / "certificate-text.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(
        ["pdftotext", "-raw", str(path), "-"], capture_output=True, check=True, timeout=60
    )
    return "".join(out.stdout.decode("utf-8").split())


async def entrustment_of(exchange: Exchange, listing_id: int) -> dict[str, str]:
    async with exchange.services.db.read() as session:
        contract = await session.scalar(select(Contract).where(Contract.listing_id == listing_id))
    assert contract is not None and contract.template_version == content.TEMPLATE_VERSION
    kept: dict[str, str] = contract.data["entrustment"]
    return kept


async def test_the_certificate_states_the_checked_resolution(exchange: Exchange) -> None:
    sold = await reach_deal(exchange)
    assert await entrustment_of(exchange, sold.listing_id) == {
        "documents": "村民（代表）会议决议（四议两公开） 1 份",
        "resolution": SENTENCE,
        "resolution_documents": "1",
    }
    text = await certify(exchange, sold)
    if not text:
        pytest.skip("pdftotext is not installed")
    assert "".join(SENTENCE.split()) in text
    assert "民主决策情况已记录在案" in text and "程序合法" not in text


async def test_an_exempt_listing_is_certified_without_a_finding_on_the_decision(
    exchange: Exchange,
) -> None:
    admin = await exchange.http.login("admin")
    await admin.ok(
        "PUT",
        "/api/v1/settings",
        {"resolution_optional_categories": ["collective_operating_assets"]},
    )
    sold = await reach_deal(exchange, listing=without_resolution(), resolution_document=False)
    kept = await entrustment_of(exchange, sold.listing_id)
    assert kept == {"documents": "", "resolution": "", "resolution_documents": "0"}
    text = await certify(exchange, sold)
    if not text:
        pytest.skip("pdftotext is not installed")
    assert "村集体决议未提交" in text and "提交材料：未提交" in text
    assert "不对村集体经济组织的决策程序作出认定" in text
    assert "记录在案" not in text and "程序合法" not in text


# --- the pages ------------------------------------------------------------------------------------


async def test_the_pages_enter_check_show_and_require_the_resolution(
    exchange: Exchange,
    browsers: Any,  # noqa: F811
) -> None:
    village = await browsers().login("xingtian")
    # An error lands next to its input.
    await village.get("/village/listings/new")
    response = await village.post(
        "/village/listings/new",
        {**ENTRUSTMENT, "resolution_present": "19", "resolution_votes_for": "17"},
        status=422,
    )
    code, message = error_of(response.text, "resolution_present")
    assert code == "resolution.no_quorum" and "至少须到 20 人" in message
    response = await village.post(
        "/village/listings/new", {**ENTRUSTMENT, "resolution_meeting_date": ""}, status=400
    )
    assert error_of(response.text, "resolution_meeting_date")[0] == "form.required"

    # Left blank, the entrustment is saved, but submitting says what is missing.
    blank = {k: ("" if k.startswith("resolution_") else v) for k, v in ENTRUSTMENT.items()}
    await village.get("/village/listings/new")
    created = await village.post("/village/listings/new", blank)
    listing_path = created.headers["location"].split("?")[0]
    html = await village.get(listing_path)
    assert "未提交村民会议或村民代表会议决议" in html
    response = await village.post(f"{listing_path}/submit", {}, status=422)
    assert 'data-code="submit.resolution_missing"' in response.text

    # Entered with its document, it is submitted; the reviewer and the public read it.
    listing_id = await entrust(village)
    edit = await village.get(f"/village/listings/{listing_id}/edit")
    assert 'name="resolution_votes_for" type="text" value="25"' in edit
    await village.post(f"/village/listings/{listing_id}/submit", {})
    reviewer = await browsers().login("reviewer")
    review = await reviewer.get(f"/review/listings/{listing_id}")
    shown = re.search(r'data-testid="resolution">([^<]+)<', review)
    assert shown and shown.group(1) == SENTENCE

    # The administrator exempts a category on the settings page.
    admin = await browsers().login("admin")
    page = await admin.get("/admin/settings")
    assert 'name="resolution_optional_farm_facilities"' in page
    values = dict(re.findall(r'name="([a-z_]+)" type="text" value="([^"]*)"', page))
    form = {
        **values,
        "single_bidder_policy": "agreement",
        "deposit_kind": "percent_of_total",
        "resolution_optional_farm_facilities": "1",
    }
    await admin.post("/admin/settings", form)
    html = await admin.get("/admin/settings")
    assert re.search(r'id="f-resolution_optional_farm_facilities"[^>]*checked', html)
    assert not re.search(r'id="f-resolution_optional_forest_rights"[^>]*checked', html)
    async with exchange.services.db.read() as session:
        assert (await exchange_settings.load(session)).resolution_optional_categories == (
            "farm_facilities",
        )
