"""The reviewer's one-click qualification (确认全部已缴款竞买人资格, app/pages/qualify_all.py):
every paid application without a warning or a priority claim is qualified, each decision in
the ledger; the others are left for individual review and named on the page; nobody but a
reviewer of the listing's region may do it (SQLite and PostgreSQL)."""

from __future__ import annotations

import itertools
import re
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from core.accounts import Actor, NewUser, User, add_user, region_of
from core.errors import PermissionDenied
from core.ledger import LedgerEntry, verify_subject
from listings import qualification
from listings.models import Registration
from tests.integration.conftest import Exchange
from tests.integration.test_pages import BASE, Browser
from tests.integration.test_priority_claims import (
    holder_listing,
    register,
    sign_up,
    upload_proof,
)
from tests.support import PASSWORD, Http, resident_id

SHARED_ACCOUNT = "6222-0000-1234-5678"
OTHER_TOWN = "福建省/泉州市/泉州台商投资区/张坂镇"


_devices = itertools.count(1)


async def apply_and_pay(
    ex: Exchange,
    listing_id: int,
    name: str,
    *,
    payer_account: str | None = None,
    id_number: str | None = None,
    claim: bool = False,
) -> tuple[Http, dict[str, Any]]:
    """A bidder signs up, applies from a phone and an address of their own (a shared one
    raises a warning) and pays the deposit by the bank's callback."""
    bidder = await sign_up(ex.http, id_number or resident_id(), name)
    n = next(_devices)
    transport = httpx.ASGITransport(app=ex.app, client=(f"10.0.{n}.1", 40000))
    async with httpx.AsyncClient(
        transport=transport, base_url=BASE, headers={"User-Agent": f"phone-{n}"}
    ) as client:
        registration = await register(Http(client, bidder.token), listing_id, claim=claim)
    paid = await ex.http.pay(
        registration["payment_reference"], registration["deposit_fen"], payer_account=payer_account
    )
    assert paid.status_code == 200, paid.text
    return bidder, registration


async def states(ex: Exchange, listing_id: int) -> dict[int, tuple[str, str | None]]:
    async with ex.services.db.read() as session:
        rows = await session.scalars(
            select(Registration).where(Registration.listing_id == listing_id)
        )
        return {r.id: (r.state, r.bidder_number) for r in rows}


async def qualified_entries(ex: Exchange, listing_id: int) -> list[LedgerEntry]:
    async with ex.services.db.read() as session:
        return list(
            await session.scalars(
                select(LedgerEntry)
                .where(
                    LedgerEntry.subject == f"listing:{listing_id}",
                    LedgerEntry.type == "registration.qualified",
                )
                .order_by(LedgerEntry.subject_seq)
            )
        )


async def page_login(ex: Exchange, username: str) -> Browser:
    return await Browser(ex).login(username)


async def test_one_click_qualifies_the_clean_paid_applications_and_leaves_the_rest(
    exchange: Exchange,
) -> None:
    ex = exchange
    holder_id = resident_id()
    listing_id, _ = await holder_listing(ex, holder_id)
    _, clean_a = await apply_and_pay(ex, listing_id, "林一鸣")
    _, clean_b = await apply_and_pay(ex, listing_id, "陈秀兰")
    # Two applicants whose deposits came from one bank account: the regulators' warning.
    _, shared_c = await apply_and_pay(ex, listing_id, "王建国", payer_account=SHARED_ACCOUNT)
    _, shared_d = await apply_and_pay(ex, listing_id, "王建军", payer_account=SHARED_ACCOUNT)
    # A holder of the priority right, proof attached and paid: decided explicitly, alone.
    holder, claimed = await apply_and_pay(ex, listing_id, "陈阿明", id_number=holder_id, claim=True)
    assert (await upload_proof(holder, claimed["id"])).status_code == 201
    # One who has not paid yet.
    unpaid_bidder = await sign_up(ex.http, resident_id(), "赵未缴")
    unpaid = await register(unpaid_bidder, listing_id, claim=False)

    reviewer = await page_login(ex, "reviewer")
    html = await reviewer.get(f"/review/listings/{listing_id}")
    block = html[html.index('id="qualify-all"') :]
    block = block[: block.index("</div>")]
    assert "确认全部已缴款竞买人资格" in block
    assert "没有预警的报名共 2 份" in block
    assert "以下 3 份已缴款的报名有预警或声明了优先权" in block
    assert re.search(r"王建国</a>：竞买人银行账户相同", block)
    assert re.search(r"王建军</a>：竞买人银行账户相同", block)
    assert re.search(r"陈阿明</a>：声明了优先权", block)
    assert "林一鸣" not in block and "赵未缴" not in block
    assert SHARED_ACCOUNT not in html  # the kind of thing shared, never the value

    response = await reviewer.post(f"/review/listings/{listing_id}/qualify-paid", {})
    assert response.headers["location"] == f"/review/listings/{listing_id}?done=qualified_all"

    after = await states(ex, listing_id)
    for r in (clean_a, clean_b):
        state, number = after[r["id"]]
        assert state == "qualified" and number is not None and re.fullmatch(r"\d{4}", number)
    for r in (shared_c, shared_d, claimed):
        assert after[r["id"]] == ("deposit_paid", None)
    assert after[unpaid["id"]] == ("pending_deposit", None)

    # Each decision is its own ledger entry, by the reviewer, and the chain still verifies.
    entries = await qualified_entries(ex, listing_id)
    assert sorted(e.payload["registration_id"] for e in entries) == sorted(
        [clean_a["id"], clean_b["id"]]
    )
    async with ex.services.db.read() as session:
        reviewer_id = await session.scalar(select(User.id).where(User.username == "reviewer"))
        assert {e.actor for e in entries} == {f"user:{reviewer_id}"}
        assert await verify_subject(session, f"listing:{listing_id}") is None

    html = await reviewer.get(response.headers["location"])
    assert "已确认全部保证金已到账、无预警报名的竞买资格" in html
    block = html[html.index('id="qualify-all"') :]
    assert "确认全部已缴款竞买人资格" not in block[: block.index("</div>")]
    assert "以下 3 份已缴款的报名" in block

    # A second click finds nothing left to qualify at once, and writes nothing.
    await reviewer.get(f"/review/listings/{listing_id}")
    response = await reviewer.post(f"/review/listings/{listing_id}/qualify-paid", {})
    assert response.headers["location"].endswith("?done=qualified_none")
    assert len(await qualified_entries(ex, listing_id)) == 2
    html = await reviewer.get(response.headers["location"])
    assert "没有可一次确认的报名" in html


async def test_nobody_but_a_reviewer_of_the_region_may_qualify_in_one_click(
    exchange: Exchange,
) -> None:
    ex = exchange
    listing_id, _ = await holder_listing(ex, resident_id())
    await apply_and_pay(ex, listing_id, "林一鸣")
    await apply_and_pay(ex, listing_id, "陈秀兰")
    async with ex.services.db.write() as session:
        await add_user(
            session,
            NewUser("far-reviewer", "reviewer", PASSWORD, "张坂镇审核员", OTHER_TOWN),
            actor="test",
            now=ex.clock.now(),
            passwords=ex.services.passwords,
        )
    before = await states(ex, listing_id)

    # The pages: every other role is turned away by the guard, a reviewer of another town
    # by the policy (the listing's review page does not exist for them).
    for username, status in (
        ("regulator", 403),
        ("admin", 403),
        ("xingtian", 403),
        ("far-reviewer", 404),
    ):
        browser = await page_login(ex, username)
        token = re.search(r'name="_csrf" value="([^"]+)"', browser.last)
        assert token
        await browser.post(
            f"/review/listings/{listing_id}/qualify-paid", {"_csrf": token.group(1)}, status=status
        )
        await browser.close()
    assert await states(ex, listing_id) == before
    assert await qualified_entries(ex, listing_id) == []

    # The use case itself asks the policy, whoever calls it.
    async with ex.services.db.write() as session:
        for username, code in (
            ("regulator", "auth.forbidden"),
            ("admin", "auth.forbidden"),
            ("far-reviewer", "listing.outside_jurisdiction"),
        ):
            user = await session.scalar(select(User).where(User.username == username))
            assert user is not None
            region = await region_of(session, user)
            with pytest.raises(PermissionDenied) as refused:
                await qualification.qualify_all_paid(
                    session,
                    Actor(user, region),
                    listing_id,
                    ex.clock.now(),
                    lambda _session, _paid: _nothing(),
                )
            assert refused.value.code == code
    assert await states(ex, listing_id) == before


async def _nothing() -> dict[int, list[str]]:
    return {}


async def test_after_registration_closes_the_click_is_refused_on_the_page(
    exchange: Exchange,
) -> None:
    ex = exchange
    listing_id, _ = await holder_listing(ex, resident_id())
    await apply_and_pay(ex, listing_id, "林一鸣")
    await apply_and_pay(ex, listing_id, "陈秀兰")
    # Registration closes: the system qualifies both; the button is gone.
    ex.clock.advance(timedelta(days=10, minutes=1))
    await ex.tick()
    reviewer = await page_login(ex, "reviewer")
    html = await reviewer.get(f"/review/listings/{listing_id}")
    assert "确认全部已缴款竞买人资格" not in html
    # A page left open from before the close posts it anyway: refused above the block. (The
    # page has no form left to take the token from; any page's will do.)
    token = reviewer.csrf(await reviewer.get("/account/password"))
    response = await reviewer.post(
        f"/review/listings/{listing_id}/qualify-paid", {"_csrf": token}, status=409
    )
    assert 'data-code="registration.listing_not_open"' in response.text
    assert "项目已不在报名阶段，不能再审核报名" in response.text
