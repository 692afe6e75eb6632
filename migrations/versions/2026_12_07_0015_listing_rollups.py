"""statistics from rollups: listing_rollups (the facts summed per grain and cell, with deals
per premium-rate bin), filled from the facts; facts indexed by announcement date; the median
indexes led by the dimensions with many values, covering what a statistic filters by

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07
"""

from collections.abc import Sequence
from itertools import pairwise
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As of this revision (oversight.stats.rollups, oversight.facts).
VILLAGE, CATEGORY, MONTH, BUYER = 1, 2, 4, 8
GRAINS = (0, 8, 2, 10, 4, 12, 6, 14, 1, 9, 3, 11, 5, 15)
KEY = ("grain", "month", "category", "buyer_type", "county_id", "town_id", "village_id")
MEASURES = (
    "listings",
    "failed",
    "deals",
    "listing_total_fen",
    "deal_total_fen",
    "sold_listing_total_fen",
    "premium_per_year_fen",
    "premium_over_term_fen",
    "contract_value_fen",
)
EDGES = (
    *range(100_000, 120_001, 1_000),
    *range(125_000, 150_001, 5_000),
    160_000,
    175_000,
    200_000,
    250_000,
)
BINS = tuple(f"premium_bin_{i:02d}" for i in range(len(EDGES) + 1))
MEDIAN_COVERED = (
    "final_fen",
    "listing_fen",
    "county_id",
    "town_id",
    "village_id",
    "village_path",
    "category",
    "month",
    "buyer_type",
    "announced_on",
)
OLD_MEDIANS = [
    ("county", ["county_id"]),
    ("town", ["town_id"]),
    ("village", ["village_id"]),
    ("category", ["category"]),
    ("month", ["month"]),
    ("buyer_type", ["buyer_type"]),
    ("all", []),
]
NEW_MEDIANS = [(n, c) for n, c in OLD_MEDIANS if n not in ("county", "buyer_type")]


def _medians(indexes: list[tuple[str, list[str]]], covered: Sequence[str]) -> None:
    for name, columns in indexes:
        op.create_index(
            f"ix_listing_facts_median_{name}",
            "listing_facts",
            [*columns, "premium_bucket", "premium_key"],
            postgresql_include=[c for c in covered if c not in columns],
            postgresql_where=sa.text("is_sold = 1"),
            sqlite_where=sa.text("is_sold = 1"),
        )


def upgrade() -> None:
    op.create_table(
        "listing_rollups",
        sa.Column("grain", sa.SmallInteger(), nullable=False),
        sa.Column("month", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(40), nullable=False),
        sa.Column("buyer_type", sa.String(16), nullable=False),
        sa.Column("county_id", sa.BigInteger(), nullable=False),
        sa.Column("town_id", sa.BigInteger(), nullable=False),
        sa.Column("village_id", sa.BigInteger(), nullable=False),
        sa.Column("region_path", sa.String(512), nullable=False),
        *[sa.Column(name, sa.BigInteger(), nullable=False) for name in MEASURES],
        *[sa.Column(name, sa.Integer(), nullable=False) for name in BINS],
        sa.PrimaryKeyConstraint(*KEY, "region_path", name=op.f("pk_listing_rollups")),
    )
    op.create_index(op.f("ix_listing_facts_announced_on"), "listing_facts", ["announced_on"])
    for name, _ in OLD_MEDIANS:
        op.drop_index(f"ix_listing_facts_median_{name}", table_name="listing_facts")
    _medians(NEW_MEDIANS, MEDIAN_COVERED)
    for grain in GRAINS:
        op.execute(_summed(grain))


def _summed(grain: int) -> Any:
    """The cells of a grain from the facts (a county's path is its region's; without a county
    the village's path has at most three segments)."""
    facts = sa.table(
        "listing_facts",
        *[
            sa.column(name)
            for name in (
                "village_id",
                "town_id",
                "county_id",
                "village_path",
                "category",
                "month",
                "buyer_type",
                "is_sold",
                "is_failed",
                "listing_total_fen",
                "deal_total_fen",
                "premium_per_year_fen",
                "premium_over_term_fen",
                "contract_value_fen",
                "premium_bucket",
            )
        ],
    )
    fact = facts.c
    county = sa.table("regions", sa.column("id"), sa.column("path")).alias("county")
    zero, blank = sa.literal_column("0"), sa.literal_column("''")
    village = grain & VILLAGE
    kept: dict[str, Any] = {"county_id": sa.func.coalesce(fact.county_id, zero)}
    if grain & MONTH:
        kept["month"] = fact.month
    if grain & CATEGORY:
        kept["category"] = fact.category
    if grain & BUYER:
        kept["buyer_type"] = sa.func.coalesce(fact.buyer_type, blank)
    if village:
        kept["town_id"] = sa.func.coalesce(fact.town_id, zero)
        kept["village_id"] = fact.village_id
        kept["region_path"] = fact.village_path
    else:
        kept["region_path"] = sa.func.coalesce(county.c.path, fact.village_path)
    absent = {"grain": sa.literal_column(str(grain)), "category": blank, "buyer_type": blank}
    key = [kept.get(name, absent.get(name, zero)) for name in (*KEY, "region_path")]
    sold = fact.is_sold == 1
    sums = [
        sa.func.count(),
        sa.func.sum(fact.is_failed),
        sa.func.sum(fact.is_sold),
        sa.func.sum(fact.listing_total_fen),
        sa.func.sum(fact.deal_total_fen),
        sa.func.sum(sa.case((sold, fact.listing_total_fen), else_=0)),
        sa.func.sum(fact.premium_per_year_fen),
        sa.func.sum(fact.premium_over_term_fen),
        sa.func.sum(fact.contract_value_fen),
    ]
    bounds = [0, *EDGES, 2**62 + 1]
    for low, high in pairwise(bounds):
        inside = sa.and_(sold, fact.premium_bucket >= low, fact.premium_bucket < high)
        sums.append(sa.func.sum(sa.case((inside, 1), else_=0)))
    cells = sa.select(*key, *sums).select_from(facts)
    if not village:
        cells = cells.outerjoin(county, county.c.id == fact.county_id)
    cells = cells.group_by(*kept.values())
    columns = [*KEY, "region_path", *MEASURES, *BINS]
    rollups = sa.table("listing_rollups", *[sa.column(n) for n in columns])
    return sa.insert(rollups).from_select(columns, cells)


def downgrade() -> None:
    for name, _ in NEW_MEDIANS:
        op.drop_index(f"ix_listing_facts_median_{name}", table_name="listing_facts")
    _medians(OLD_MEDIANS, ["final_fen", "listing_fen"])
    op.drop_index(op.f("ix_listing_facts_announced_on"), table_name="listing_facts")
    op.drop_table("listing_rollups")
