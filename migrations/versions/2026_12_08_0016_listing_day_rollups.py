"""statistics: listing_day_rollups, the facts summed per day (Beijing announcement date) for
the grains that keep the month, filled from the facts; they answer the days of a period's
partial first and last months instead of listing_facts

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-08
"""

from collections.abc import Sequence
from itertools import pairwise
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As of this revision (oversight.stats.rollups, oversight.facts).
VILLAGE, CATEGORY, MONTH, BUYER = 1, 2, 4, 8
DAY_GRAINS = (4, 12, 6, 14, 5, 15)
KEY = ("grain", "day", "month", "category", "buyer_type", "county_id", "town_id", "village_id")
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


def upgrade() -> None:
    op.create_table(
        "listing_day_rollups",
        sa.Column("grain", sa.SmallInteger(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("month", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(40), nullable=False),
        sa.Column("buyer_type", sa.String(16), nullable=False),
        sa.Column("county_id", sa.BigInteger(), nullable=False),
        sa.Column("town_id", sa.BigInteger(), nullable=False),
        sa.Column("village_id", sa.BigInteger(), nullable=False),
        sa.Column("region_path", sa.String(512), nullable=False),
        *[sa.Column(name, sa.BigInteger(), nullable=False) for name in MEASURES],
        *[sa.Column(name, sa.Integer(), nullable=False) for name in BINS],
        sa.PrimaryKeyConstraint(*KEY, "region_path", name=op.f("pk_listing_day_rollups")),
    )
    for grain in DAY_GRAINS:
        op.execute(_summed(grain))


def _summed(grain: int) -> Any:
    """The day cells of a grain from the facts (a county's path is its region's; without a
    county the village's path has at most three segments)."""
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
                "announced_on",
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
    kept: dict[str, Any] = {
        "county_id": sa.func.coalesce(fact.county_id, zero),
        "day": fact.announced_on,
        "month": fact.month,
    }
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
    rollups = sa.table("listing_day_rollups", *[sa.column(n) for n in columns])
    return sa.insert(rollups).from_select(columns, cells)


def downgrade() -> None:
    op.drop_table("listing_day_rollups")
