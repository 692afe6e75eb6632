"""What the regulator side's API answers, as typed wire structs (documented at `/schema`).

The services build plain values (the pages read the same ones); `msgspec.convert` turns them
into these structs at the edge. Every struct forbids unknown fields, so a key a service adds
and the struct lacks fails loudly instead of silently leaving the answer. A key that is
absent in some answers (not null) is `UNSET` by default, which msgspec leaves out.
"""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec
from msgspec import UNSET, UnsetType

T = TypeVar("T")


class Out(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Base of the answers: strict about their keys."""


def out(value: Any, kind: type[T]) -> T:
    """`value` (plain dicts and lists from a service) as the wire struct `kind`."""
    return msgspec.convert(value, kind)


# --- the verifiable log -------------------------------------------------------------------


class CheckpointOut(Out):
    size: int
    root: str
    created_at: str
    reason: str
    note: str


class CheckpointList(Out):
    items: list[CheckpointOut]


class ConsistencyOut(Out):
    first: int
    second: int
    proof: list[str]


class BundleEntry(Out):
    index: int
    #: The entry document exactly as hashed (docs/oversight.md, "The log").
    entry: dict[str, Any]
    inclusion_proof: list[str]


class BundleConsistency(Out):
    old_size: int
    new_size: int
    proof: list[str]


class LedgerBundle(Out):
    format: str
    subject: str
    checkpoint: str
    key: str
    tree_size: int
    entries: list[BundleEntry]
    pending: int
    consistency: BundleConsistency | UnsetType = UNSET
    head: str | UnsetType = UNSET


# --- timeline and ladder ------------------------------------------------------------------


class TimelineActor(Out, kw_only=True):
    kind: str
    id: int | UnsetType = UNSET
    role: str | None
    role_name: str | None
    name: str | None
    bidder_number: str | UnsetType | None = UNSET


class TimelineEntry(Out):
    seq: int
    type: str
    type_name: str
    at: str
    actor: TimelineActor
    state: str | None
    reason: str | None
    documents: list[dict[str, Any]]
    details: dict[str, Any]
    hash: str
    index: int | None


class Timeline(Out):
    listing_id: int
    title: str
    state: str
    village: str
    entries: list[TimelineEntry]


class LadderBid(Out):
    id: int
    at: str
    bidder_number: str | None
    kind: str
    amount_fen: int | None
    outcome: str
    code: str | None
    seq: int | None
    round: int | None
    channel: str
    ip: str | UnsetType | None = UNSET
    device: str | UnsetType | None = UNSET


class BidderIdentity(Out):
    user_id: int
    name: str
    id_type: str | None
    id_number: str | None
    phone: str | None
    registration_id: int
    registration_ip: str | None
    registration_device: str | None
    bid_ips: list[str]
    bid_devices: list[str]


class Ladder(Out):
    listing_id: int
    status: str
    result: str | None
    final_fen: int | None
    winner_number: str | None
    rounds: int
    accepted: int
    rejected: int
    bids: list[LadderBid]
    identities_revealed: bool
    #: By bidder number; only for a regulator once the auction has ended.
    bidders: dict[str, BidderIdentity] | None


# --- statistics ---------------------------------------------------------------------------


class StatsRow(Out, kw_only=True):
    """One group (or the totals, `group` "合计"): its dimensions, then the measures."""

    county: str | UnsetType | None = UNSET
    county_id: int | UnsetType | None = UNSET
    county_path: str | UnsetType | None = UNSET
    town: str | UnsetType | None = UNSET
    town_id: int | UnsetType | None = UNSET
    town_path: str | UnsetType | None = UNSET
    village: str | UnsetType | None = UNSET
    village_id: int | UnsetType | None = UNSET
    village_path: str | UnsetType | None = UNSET
    category: str | UnsetType | None = UNSET
    category_name: str | UnsetType | None = UNSET
    month: str | UnsetType = UNSET
    buyer_type: str | UnsetType | None = UNSET
    buyer_type_name: str | UnsetType | None = UNSET
    group: str
    listings: int
    failed: int
    deals: int
    listing_total_fen: int
    deal_total_fen: int
    premium_rate: str | None
    premium_rate_median: str | None
    premium_per_year_fen: int
    premium_over_term_fen: int
    contract_value_fen: int


class StatsFilters(Out):
    from_: str | None = msgspec.field(name="from")
    to: str | None
    region: str | None
    category: str | None


class Stats(Out):
    group_by: list[str]
    rows: list[StatsRow]
    totals: StatsRow
    filters: StatsFilters


# --- the dashboard's figures ------------------------------------------------------------


class CollectionVillage(Out):
    """One village's rent items due so far: what was due and received, and its arrears."""

    village_id: int
    village: str | None
    village_path: str | None
    leases: int
    due_fen: int
    received_fen: int
    outstanding_fen: int
    collection_rate: str | None
    arrears_fen: int
    overdue_items: int
    days_overdue_max: int


class Collection(Out):
    today: str
    filters: StatsFilters
    leases: int
    due_fen: int
    received_fen: int
    outstanding_fen: int
    collection_rate: str | None
    arrears_fen: int
    overdue_items: int
    villages_in_arrears: int
    #: By arrears, largest first.
    villages: list[CollectionVillage]


class PremiumBand(Out):
    band: str
    name: str
    #: Rates in (low, high] percent; `below` (< 0) and `zero` (= 0) have no low bound,
    #: the last band no high one.
    low_percent: int | None
    high_percent: int | None
    deals: int
    share: str | None
    deal_total_fen: int
    premium_over_term_fen: int


class PremiumDistribution(Out):
    filters: StatsFilters
    deals: int
    bands: list[PremiumBand]


class DealMonth(Out):
    month: str
    deals: int
    deal_total_fen: int
    premium_over_term_fen: int


class DealMonthTotals(Out):
    deals: int
    deal_total_fen: int
    premium_over_term_fen: int


class DealsByMonth(Out):
    filters: StatsFilters
    months: list[DealMonth]
    totals: DealMonthTotals


# --- warnings -----------------------------------------------------------------------------


class WarningOut(Out):
    id: int
    kind: str
    kind_name: str
    listing_id: int | None
    state: str
    evidence: dict[str, Any]
    detected_at: str
    updated_at: str
    acknowledged_by: int | None
    acknowledged_at: str | None
    note: str | None


class WarningPage(Out):
    items: list[WarningOut]
    total: int
    #: Kinds not computed, with why; every detector runs now, so always empty.
    not_computed: dict[str, str]
