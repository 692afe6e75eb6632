"""The pages in-process on SQLite and PostgreSQL: every role's pages render, forms need their
CSRF field, villages cannot see each other's drafts, errors appear next to their fields."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.integration.conftest import Exchange
from tests.support import PASSWORD, phone, resident_id

BASE = "http://testserver.local"


class Browser:
    """A cookie-keeping client that talks to the pages as a browser would (forms, redirects)."""

    def __init__(self, exchange: Exchange) -> None:
        self.client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=exchange.app), base_url=BASE, follow_redirects=False
        )
        self.last = ""

    async def get(self, path: str, status: int = 200) -> str:
        response = await self.client.get(path)
        assert response.status_code == status, (path, response.status_code, response.text[:2000])
        self.last = response.text
        return response.text

    def csrf(self, html: str | None = None) -> str:
        page = html or self.last
        # The forms of the page itself (not the header's sign-out form) must carry it.
        match = re.search(r'name="_csrf" value="([^"]+)"', page[page.find("<main") :])
        assert match, "no _csrf field in the page's forms"
        return match.group(1)

    async def post(
        self,
        path: str,
        data: dict[str, Any],
        *,
        status: int = 303,
        files: Any = None,
        csrf: bool = True,
    ) -> httpx.Response:
        body = dict(data)
        if csrf and "_csrf" not in body:
            body["_csrf"] = self.csrf()
        response = await self.client.post(path, data=body, files=files)
        assert response.status_code == status, (path, response.status_code, response.text[:3000])
        self.last = response.text
        return response

    async def login(self, username: str, password: str = PASSWORD) -> Browser:
        html = await self.get("/login")
        token = re.search(r'name="_form" value="([^"]+)"', html)
        assert token
        response = await self.post(
            "/login",
            {"_form": token.group(1), "username": username, "password": password},
            csrf=False,
        )
        assert "ruralx_session" in self.client.cookies
        await self.get(response.headers["location"].split("#")[0])
        return self

    async def sign_up(
        self, name: str, id_number: str, mobile: str, status: int = 303
    ) -> httpx.Response:
        html = await self.get("/signup")
        token = re.search(r'name="_form" value="([^"]+)"', html)
        assert token
        return await self.post(
            "/signup",
            {
                "_form": token.group(1),
                "name": name,
                "id_type": "resident_id",
                "id_number": id_number,
                "phone": mobile,
                "password": PASSWORD,
                "password2": PASSWORD,
            },
            csrf=False,
            status=status,
        )

    async def close(self) -> None:
        await self.client.aclose()


@pytest.fixture
async def browsers(exchange: Exchange) -> AsyncIterator[Any]:
    opened: list[Browser] = []

    def make() -> Browser:
        opened.append(Browser(exchange))
        return opened[-1]

    yield make
    for b in opened:
        await b.close()


def error_of(html: str, field: str) -> tuple[str, str]:
    """The error shown next to a field: (code, message)."""
    match = re.search(rf'<p class="error" id="e-{field}" data-code="([^"]+)">([^<]+)</p>', html)
    assert match, f"no error next to {field}"
    return match.group(1), match.group(2)


ENTRUSTMENT = {
    "title": "杏田村杏秀路口水泥地面公开招租",
    "category": "collective_operating_assets",
    "location": "洛阳镇杏田村杏秀路口",
    "area": "600",
    "area_unit": "square_meter",
    "description": "水泥硬化地面，可用于停车、仓储等合法用途。",
    "listing_price": "12,000",
    "price_unit": "per_year",
    "term_years": "10",
    "payment": "annual",
    "increment": "240",
    "max_steps": "10",
    "deposit": "2000",
    "resolution_meeting_kind": "representatives_meeting",
    "resolution_meeting_date": "2026-11-10",
    "resolution_attendance_basis": "persons",
    "resolution_entitled": "30",
    "resolution_present": "27",
    "resolution_votes_for": "25",
    "resolution_votes_against": "1",
    "resolution_abstentions": "1",
    "resolution_publicity_start": "2026-11-11",
    "resolution_publicity_end": "2026-11-17",
}
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


async def entrust(village: Browser, **changes: Any) -> int:
    await village.get("/village/listings/new")
    response = await village.post(
        "/village/listings/new",
        {**ENTRUSTMENT, **changes},
        files={"village_resolution": ("决议.pdf", PDF, "application/pdf")},
    )
    match = re.match(r"/village/listings/(\d+)", response.headers["location"])
    assert match
    await village.get(response.headers["location"])
    return int(match.group(1))


# ----- every role's pages ---------------------------------------------------------------


async def test_public_pages_render_in_chinese(browsers: Any) -> None:
    anon = browsers()
    for path in (
        "/",
        "/listings",
        "/listings?state=announced&category=forest_rights",
        "/login",
        "/signup",
    ):
        html = await anon.get(path)
        assert '<html lang="zh-CN">' in html
        assert "农村产权流转交易平台" in html
    await anon.get("/listings/999", status=404)
    await anon.get("/auctions/999", status=404)


@pytest.mark.parametrize(
    ("username", "pages"),
    [
        ("xingtian", ["/village", "/village/listings/new", "/listings", "/"]),
        ("reviewer", ["/review", "/listings", "/"]),
        ("regulator", ["/oversight", "/listings"]),
        ("admin", ["/admin/settings", "/admin/users", "/oversight"]),
    ],
)
async def test_each_staff_role_sees_its_pages(
    browsers: Any, username: str, pages: list[str]
) -> None:
    who = await browsers().login(username)
    for path in pages:
        html = await who.get(path)
        assert re.search(r'name="_csrf" value="[0-9a-f]{64}"', html)  # the sign-out form


async def test_bidder_pages(browsers: Any) -> None:
    bidder = browsers()
    mobile = phone()
    response = await bidder.sign_up("张三", resident_id(), mobile)
    assert response.headers["location"].startswith("/me/registrations")
    assert "张三" in await bidder.get("/me/registrations")
    await bidder.get("/me/deals")


async def test_anonymous_is_sent_to_login_and_other_roles_are_refused(browsers: Any) -> None:
    anon = browsers()
    response = await anon.client.get("/village")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/village"
    bidder = browsers()
    await bidder.sign_up("李四", resident_id(), phone())
    html = await bidder.get("/review", status=403)
    assert 'data-code="auth.forbidden"' in html
    assert '<html lang="zh-CN">' in html  # a page, not problem JSON


async def test_login_with_a_wrong_password_shows_the_error_at_the_field(browsers: Any) -> None:
    anon = browsers()
    html = await anon.get("/login")
    token = re.search(r'name="_form" value="([^"]+)"', html)
    assert token
    response = await anon.post(
        "/login",
        {"_form": token.group(1), "username": "xingtian", "password": "wrong-password"},
        csrf=False,
        status=401,
    )
    assert error_of(response.text, "password")[0] == "auth.invalid_credentials"
    assert "ruralx_session" not in anon.client.cookies


async def test_login_goes_back_to_a_local_page_only(browsers: Any) -> None:
    anon = browsers()
    html = await anon.get("/login?next=/village/listings/new")
    token = re.search(r'name="_form" value="([^"]+)"', html)
    assert token
    response = await anon.post(
        "/login",
        {
            "_form": token.group(1),
            "username": "xingtian",
            "password": PASSWORD,
            "next": "//evil.example/x",
        },
        csrf=False,
    )
    assert response.headers["location"] == "/village"


# ----- CSRF -------------------------------------------------------------------------------


async def test_forms_refuse_a_missing_or_wrong_csrf_field(browsers: Any) -> None:
    village = await browsers().login("xingtian")
    for token in (None, "0" * 64):
        data = dict(ENTRUSTMENT) | ({"_csrf": token} if token else {})
        response = await village.client.post("/village/listings/new", data=data)
        assert response.status_code == 403
        assert 'data-code="auth.csrf"' in response.text
    assert "杏秀路口" not in await village.get("/village")  # nothing was created

    listing_id = await entrust(village)
    for path in (f"/village/listings/{listing_id}/submit", "/logout"):
        response = await village.client.post(path, data={"_csrf": "forged"})
        assert response.status_code == 403, path
    assert "草稿" in await village.get(f"/village/listings/{listing_id}")

    # A token from another session is worth nothing either.
    other = await browsers().login("xingtian")
    response = await other.client.post(
        f"/village/listings/{listing_id}/submit", data={"_csrf": village.csrf()}
    )
    assert response.status_code == 403


async def test_anonymous_forms_need_their_pre_session_token(browsers: Any) -> None:
    anon = browsers()
    await anon.get("/login")
    response = await anon.client.post("/login", data={"username": "xingtian", "password": PASSWORD})
    assert response.status_code == 403
    assert "ruralx_session" not in anon.client.cookies
    response = await anon.client.post(
        "/signup",
        data={
            "_form": "x" * 32,
            "name": "王五",
            "id_type": "resident_id",
            "id_number": resident_id(),
            "phone": phone(),
            "password": PASSWORD,
            "password2": PASSWORD,
        },
    )
    assert response.status_code == 403


# ----- other villages ----------------------------------------------------------------------


async def test_a_village_cannot_open_another_villages_draft(browsers: Any) -> None:
    xingtian = await browsers().login("xingtian")
    listing_id = await entrust(xingtian)
    other = await browsers().login("other-village")
    for path in (
        f"/village/listings/{listing_id}",
        f"/village/listings/{listing_id}/edit",
        f"/listings/{listing_id}",
    ):
        html = await other.get(path, status=404)
        assert "杏秀路口" not in html
    token = other.csrf(await other.get("/village/listings/new"))
    response = await other.client.post(
        f"/village/listings/{listing_id}/submit", data={"_csrf": token}
    )
    assert response.status_code == 404
    assert "杏秀路口" not in await other.get("/village")
    # Nor can the public or a reviewer see a draft.
    await browsers().get(f"/listings/{listing_id}", status=404)
    reviewer = await browsers().login("reviewer")
    await reviewer.get(f"/review/listings/{listing_id}", status=404)


# ----- errors next to fields ---------------------------------------------------------------


async def test_sign_up_shows_an_id_checksum_error_at_the_id_field(browsers: Any) -> None:
    anon = browsers()
    good = resident_id()
    bad = good[:17] + ("0" if good[17] != "0" else "1")
    response = await anon.sign_up("赵六", bad, phone(), status=400)
    code, message = error_of(response.text, "id_number")
    assert code == "id.checksum"
    assert "校验位" in message
    assert 'aria-invalid="true"' in response.text
    assert "赵六" in response.text  # what was typed is kept

    response = await anon.sign_up("赵六", good, "12345", status=400)
    assert error_of(response.text, "phone")[0] == "request.invalid"

    mobile = phone()
    await browsers().sign_up("钱七", resident_id(), mobile)
    response = await browsers().sign_up("孙八", resident_id(), mobile, status=409)
    assert error_of(response.text, "phone")[0] == "user.exists"


async def test_entrustment_errors_appear_next_to_their_fields(browsers: Any) -> None:
    village = await browsers().login("xingtian")
    await village.get("/village/listings/new")
    response = await village.post(
        "/village/listings/new", {**ENTRUSTMENT, "listing_price": "12,00.5"}, status=400
    )
    assert error_of(response.text, "listing_price")[0] == "money.format"

    await village.get("/village/listings/new")
    response = await village.post(
        "/village/listings/new",
        {**ENTRUSTMENT, "category": "collective_construction_land", "term_years": "25"},
        status=400,
    )
    code, message = error_of(response.text, "term_years")
    assert code == "terms.term_too_long"
    assert "20" in message

    await village.get("/village/listings/new")
    response = await village.post(
        "/village/listings/new",
        ENTRUSTMENT,
        files={"ownership_proof": ("证明.pdf", b"not a pdf at all", "application/pdf")},
        status=400,
    )
    assert error_of(response.text, "ownership_proof")[0] == "document.unsupported_type"

    await village.get("/village/listings/new")
    response = await village.post("/village/listings/new", {**ENTRUSTMENT, "title": ""}, status=400)
    assert error_of(response.text, "title")[0] == "form.required"


async def test_the_deposit_follows_the_exchange_rule_when_left_empty(browsers: Any) -> None:
    village = await browsers().login("xingtian")
    listing_id = await entrust(village, deposit="")
    html = await village.get(f"/village/listings/{listing_id}")
    # 5 % of 12,000 × 10 years (the default rule).
    assert re.search(r'data-testid="deposit">.*¥6,000\.00.*陆仟元整', html)


async def test_the_entrustment_takes_a_lease_start_and_a_performance_deposit(
    browsers: Any,
) -> None:
    village = await browsers().login("xingtian")
    await village.get("/village/listings/new")
    response = await village.post(
        "/village/listings/new", {**ENTRUSTMENT, "lease_start": "2027-02-30"}, status=400
    )
    code, message = error_of(response.text, "lease_start")
    assert code == "request.invalid" and "有效日期" in message
    # Without a date the panel states the rule; with one, the date.
    html = await village.get(f"/village/listings/{await entrust(village)}")
    assert 'data-testid="lease-start">合同签订期满次月1日<' in html
    assert 'data-testid="performance-deposit"' not in html
    listing_id = await entrust(village, lease_start="2027-03-15", performance_deposit="5000")
    html = await village.get(f"/village/listings/{listing_id}")
    assert 'data-testid="lease-start">2027年3月15日<' in html
    assert re.search(r'data-testid="performance-deposit">.*¥5,000\.00.*伍仟元整', html)
    # The edit form gives both back.
    form = await village.get(f"/village/listings/{listing_id}/edit")
    assert re.search(r'id="f-lease_start" name="lease_start" type="date" value="2027-03-15"', form)
    assert re.search(r'id="f-performance_deposit" [^>]*value="5,000.00"', form)


async def test_a_return_without_reason_is_refused_at_the_reason_field(browsers: Any) -> None:
    village = await browsers().login("xingtian")
    listing_id = await entrust(village)
    await village.post(f"/village/listings/{listing_id}/submit", {})
    reviewer = await browsers().login("reviewer")
    await reviewer.get(f"/review/listings/{listing_id}")
    response = await reviewer.post(
        f"/review/listings/{listing_id}/review", {"decision": "return", "reason": ""}, status=400
    )
    assert error_of(response.text, "reason")[0] == "review.reason_required"
    await reviewer.post(
        f"/review/listings/{listing_id}/review", {"decision": "return", "reason": "缺少权属证明"}
    )
    html = await village.get(f"/village/listings/{listing_id}")
    assert "缺少权属证明" in html
    assert "已退回" in html


async def test_settings_errors_appear_next_to_their_fields(browsers: Any) -> None:
    admin = await browsers().login("admin")
    html = await admin.get("/admin/settings")
    values = dict(re.findall(r'name="([a-z_]+)" type="text" value="([^"]*)"', html))
    assert values["countdown_seconds"] == "300"
    form = {
        **values,
        "single_bidder_policy": "agreement",
        "deposit_kind": "percent_of_total",
        "first_bid_may_equal_start": "1",
        "reserve_used": "1",
    }
    response = await admin.post("/admin/settings", {**form, "countdown_seconds": "2"}, status=400)
    assert error_of(response.text, "countdown_seconds")[0] == "form.range"
    await admin.get("/admin/settings")
    await admin.post(
        "/admin/settings", {**form, "countdown_seconds": "8", "notice_period_working_days": "0"}
    )
    html = await admin.get("/admin/settings?done=settings")
    assert 'name="countdown_seconds" type="text" value="8"' in html
    assert "交易规则已更新" in html
