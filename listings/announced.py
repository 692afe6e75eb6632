"""The rules an announcement fixes for its listing (竞价须知, docs/security.md §5): a later
change of the exchange settings never reaches a listing already announced."""

from __future__ import annotations

import msgspec

from core.settings import ExchangeSettings
from listings.models import Listing
from listings.schemas import AnnouncedRules, Terms

#: Rules the terms of a listing may set for itself, over the exchange's.
_TERMS_OVERRIDE = ("max_steps", "free_bidding_minutes", "countdown_seconds")


def announced_rules(terms: Terms, settings: ExchangeSettings) -> AnnouncedRules:
    """The rules in force for a listing announced now: its terms', else the exchange's.
    (The holiday calendar is not among them: holidays are facts the State Council publishes.)"""
    rules = {name: getattr(settings, name) for name in AnnouncedRules.__struct_fields__}
    for name in _TERMS_OVERRIDE:
        if getattr(terms, name) is not None:
            rules[name] = getattr(terms, name)
    return AnnouncedRules(**rules)


def as_announced(listing: Listing, settings: ExchangeSettings) -> ExchangeSettings:
    """The exchange settings as the listing's announcement fixed them (current settings for
    the parts it does not fix, and for a listing announced before rules were fixed)."""
    if listing.rules is None:
        return settings
    fixed = {k: v for k, v in msgspec.structs.asdict(listing.rules).items() if v is not None}
    return msgspec.structs.replace(settings, **fixed)
