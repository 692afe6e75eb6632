"""JSON columns written before they were typed still decode at the model (core.db.StructJson):
terms and announced rules stored as plain dicts, auction rules with millisecond stamps."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec
from sqlalchemy.dialects import postgresql, sqlite

from auction import engine
from core.db import StructJson
from core.settings import ExchangeSettings
from listings.announced import as_announced
from listings.models import Listing
from listings.schemas import AnnouncedRules, Terms

#: An auction row's rules as `rules_json` wrote them before `Auction.rules` was typed.
OLD_AUCTION_RULES: dict[str, Any] = {
    "start_fen": 1_200_000,
    "increment_fen": 24_000,
    "max_steps": 10,
    "starts_at": "2026-12-12T02:00:00.000Z",
    "reserve_fen": None,
    "self_outbid_allowed": False,
    "first_bid_may_equal_start": True,
    "mode": "countdown",
    "free_seconds": 3600,
    "countdown_seconds": 300,
    "duration_seconds": 0,
    "extension_seconds": 300,
    "hard_deadline": None,
    "priority_order": ["003", "001"],
}
#: A listing's announced rules from before the announcement recorded its notice period.
OLD_ANNOUNCED_RULES: dict[str, Any] = {
    "max_steps": 5,
    "free_bidding_minutes": 30,
    "countdown_seconds": 120,
    "reserve_used": False,
    "self_outbid_allowed": True,
    "first_bid_may_equal_start": False,
    "min_qualified_bidders": 3,
    "single_bidder_policy": "fail",
    "single_bidder_extension_working_days": 5,
}


def _read(column: StructJson[Any], stored: Any) -> Any:
    for dialect in (sqlite.dialect(), postgresql.dialect()):
        value = column.process_result_value(stored, dialect)
        assert column.process_bind_param(value, dialect) is not None
    return value


def test_old_auction_rules_decode_into_the_engines_rules() -> None:
    rules = _read(StructJson(engine.Rules), OLD_AUCTION_RULES)
    assert rules.starts_at == datetime(2026, 12, 12, 2, 0, tzinfo=UTC)
    assert rules.mode is engine.Mode.COUNTDOWN
    assert rules.priority_order == ("003", "001")
    # Written back, they read the same.
    again = msgspec.convert(msgspec.to_builtins(rules), engine.Rules)
    assert again == rules


def test_announced_rules_without_a_notice_period_keep_the_current_one() -> None:
    rules = _read(StructJson(AnnouncedRules), OLD_ANNOUNCED_RULES)
    assert rules.notice_period_working_days is None
    settings = ExchangeSettings(notice_period_working_days=9)
    listing = Listing(rules=rules)
    fixed = as_announced(listing, settings)
    assert (fixed.max_steps, fixed.single_bidder_policy) == (5, "fail")
    assert fixed.notice_period_working_days == 9


def test_stored_terms_decode_and_write_back_unchanged() -> None:
    stored = {
        "listing_price_fen": 1_200_000,
        "price_unit": "per_year",
        "area": None,
        "term_years": 10,
        "payment": "annual",
        "increment_fen": 24_000,
        "max_steps": None,
        "deposit_fen": 200_000,
        "reserve_fen": None,
        "escalation": {"every_years": 3, "percent": "2.5"},
        "rent_free_months": 0,
        "priority_holders": [],
        "permitted_use": None,
        "free_bidding_minutes": None,
        "countdown_seconds": None,
    }
    column = StructJson(Terms)
    terms = _read(column, stored)
    assert terms.escalation is not None and terms.escalation.percent == "2.5"
    # Written back, it carries the fields added since, at their defaults.
    again = column.process_bind_param(terms, sqlite.dialect())
    assert again == {
        **stored,
        "term_months": 0,
        "appraisal_fen": None,
        "price_reason": None,
        "on_default": "relist",
        "lease_start": None,
        "performance_deposit_fen": None,
        "auction_mode": "countdown",
        "duration_minutes": None,
        "extension_seconds": None,
        "hard_cap_minutes": None,
        "escalation": {"every_years": 3, "percent": "2.5", "kind": "compound"},
    }
