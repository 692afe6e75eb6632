"""The listing's auction variant (竞价方式, docs/domain.md §5): the terms each variant needs
(listings.rules.check_auction_variant), the engine rules they make (auction.rows.variant),
and how the pages state them (app.pages.labels)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.pages.labels import auction_phase_zh, auction_variant_zh
from auction import engine
from auction.models import Auction
from auction.rows import variant
from core.errors import InvalidInput
from listings.rules import check_auction_variant
from listings.schemas import AnnouncedRules, Terms

START = datetime(2026, 12, 12, 2, 0, tzinfo=UTC)
BASE: dict[str, Any] = {
    "listing_price_fen": 1_200_000,
    "term_years": 10,
    "increment_fen": 24_000,
    "deposit_fen": 200_000,
}
FIXED: dict[str, Any] = {
    "auction_mode": "fixed_end",
    "duration_minutes": 60,
    "extension_seconds": 300,
    "hard_cap_minutes": 90,
}


def terms(**fields: Any) -> Terms:
    return msgspec.convert({**BASE, **fields}, Terms)


def check(t: Terms) -> None:
    check_auction_variant(
        t.auction_mode,
        duration_minutes=t.duration_minutes,
        extension_seconds=t.extension_seconds,
        hard_cap_minutes=t.hard_cap_minutes,
        free_bidding_minutes=t.free_bidding_minutes,
        countdown_seconds=t.countdown_seconds,
    )


def code_of(t: Terms) -> str | None:
    try:
        check(t)
    except InvalidInput as exc:
        assert exc.message  # every refusal says why, in Chinese
        return exc.code
    return None


def test_countdown_is_the_default_and_needs_nothing() -> None:
    t = terms()
    assert t.auction_mode == "countdown"
    assert code_of(t) is None
    assert code_of(terms(free_bidding_minutes=0, countdown_seconds=60)) is None
    assert variant(t, START) == {"mode": engine.Mode.COUNTDOWN}


@pytest.mark.parametrize(
    "fields,code",
    [
        (FIXED, None),
        ({**FIXED, "hard_cap_minutes": None}, None),
        ({**FIXED, "hard_cap_minutes": 60}, None),  # a cap at the scheduled end: no extension
        ({**FIXED, "duration_minutes": None}, "terms.fixed_end.duration_required"),
        ({**FIXED, "extension_seconds": None}, "terms.fixed_end.extension_required"),
        (  # a window as long as the period: every bid extends
            {**FIXED, "duration_minutes": 5, "extension_seconds": 300, "hard_cap_minutes": None},
            None,
        ),
        (
            {**FIXED, "duration_minutes": 4, "extension_seconds": 300, "hard_cap_minutes": None},
            "terms.fixed_end.extension_too_long",
        ),
        ({**FIXED, "hard_cap_minutes": 59}, "terms.fixed_end.cap_before_end"),
        ({**FIXED, "countdown_seconds": 60}, "terms.fixed_end.countdown_fields"),
        ({**FIXED, "free_bidding_minutes": 0}, "terms.fixed_end.countdown_fields"),
        ({"duration_minutes": 60}, "terms.countdown.fixed_end_fields"),
        ({"extension_seconds": 300}, "terms.countdown.fixed_end_fields"),
        ({"hard_cap_minutes": 90}, "terms.countdown.fixed_end_fields"),
    ],
)
def test_each_variant_needs_its_own_fields(fields: dict[str, Any], code: str | None) -> None:
    assert code_of(terms(**fields)) == code


@pytest.mark.parametrize(
    "fields",
    [
        {"auction_mode": "judicial"},
        {**FIXED, "duration_minutes": 0},
        {**FIXED, "duration_minutes": 10081},
        {**FIXED, "extension_seconds": 4},
        {**FIXED, "extension_seconds": 3601},
        {**FIXED, "hard_cap_minutes": 0},
        {**FIXED, "hard_cap_minutes": 20161},
    ],
)
def test_out_of_bounds_values_are_refused_by_the_wire_type(fields: dict[str, Any]) -> None:
    with pytest.raises(msgspec.ValidationError):
        terms(**fields)


def test_a_fixed_end_makes_the_engines_fixed_end_rules() -> None:
    made = variant(terms(**FIXED), START)
    assert made == {
        "mode": engine.Mode.FIXED_END,
        "duration_seconds": 3600,
        "extension_seconds": 300,
        "hard_deadline": START + timedelta(minutes=90),
    }
    assert variant(terms(**{**FIXED, "hard_cap_minutes": None}), START)["hard_deadline"] is None


@given(
    duration=st.integers(1, 10080),
    extension=st.integers(5, 3600),
    cap=st.none() | st.integers(1, 20160),
)
def test_terms_the_check_accepts_always_make_valid_engine_rules(
    duration: int, extension: int, cap: int | None
) -> None:
    t = terms(
        auction_mode="fixed_end",
        duration_minutes=duration,
        extension_seconds=extension,
        hard_cap_minutes=cap,
    )
    try:
        check(t)
    except InvalidInput:
        assert extension > 60 * duration or (cap is not None and cap < duration)
        return
    rules = engine.Rules(
        start_fen=1_200_000,
        increment_fen=24_000,
        max_steps=10,
        starts_at=START,
        **variant(t, START),
    )
    assert rules.fixed_end == START + timedelta(minutes=duration)
    assert rules.hard_deadline is None or rules.hard_deadline >= rules.fixed_end


def test_the_pages_state_each_variant() -> None:
    fixed = auction_variant_zh(terms(**FIXED))
    assert fixed == (
        "限时竞价：竞价期 60 分钟，最后 300 秒内有出价的，结束时间延至该出价后 300 秒，"
        "最长延至开始后 90 分钟"
    )
    uncapped = auction_variant_zh(terms(**{**FIXED, "hard_cap_minutes": None}))
    assert uncapped.endswith("不设最长延时")
    announced = AnnouncedRules(
        max_steps=10,
        free_bidding_minutes=60,
        countdown_seconds=120,
        reserve_used=True,
        self_outbid_allowed=False,
        first_bid_may_equal_start=True,
        min_qualified_bidders=2,
        single_bidder_policy="agreement",
        single_bidder_extension_working_days=5,
    )
    # The listing's own countdown, else the announced one, else the exchange's rules.
    assert auction_variant_zh(terms(countdown_seconds=60), announced) == (
        "自由竞价＋倒计时（每次出价后重新计时 60 秒）"
    )
    assert auction_variant_zh(terms(), announced) == "自由竞价＋倒计时（每次出价后重新计时 120 秒）"
    assert auction_variant_zh(terms()) == "自由竞价＋倒计时（每次出价后重新计时，时长按交易规则）"


def test_a_fixed_end_auction_is_bidding_then_extended() -> None:
    rules = engine.Rules(
        start_fen=1_200_000,
        increment_fen=24_000,
        max_steps=10,
        starts_at=START,
        **variant(terms(**FIXED), START),
    )
    row = Auction(rules=rules, status="free", ends_at=rules.fixed_end)
    assert auction_phase_zh(row) == "竞价中"
    row.ends_at = rules.fixed_end + timedelta(seconds=100)
    assert auction_phase_zh(row) == "延时竞价"
    row.status, row.ends_at = "paused", None
    assert auction_phase_zh(row) == "已暂停"
    countdown = engine.Rules(start_fen=1, increment_fen=1, max_steps=1, starts_at=START)
    assert auction_phase_zh(Auction(rules=countdown, status="free", ends_at=START)) == "自由竞价"
