"""Tables of the regulator side: per-listing facts and their rollups for statistics, warnings,
job cursors."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Final

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, BigId, Json, UTCDateTime, table_of
from oversight.facts import PREMIUM_BINS

#: Exact-order sort key column: byte order on both databases (PostgreSQL collation "C").
SortKey = String(64).with_variant(String(64, collation="C"), "postgresql")


class ListingFact(Base):
    """One row per listing that reached the market, with its deal economics precomputed.

    Written by the oversight job when the log shows the listing changed (and in bulk by the
    demo generator), so statistics are plain SUM/COUNT over one narrow table. Money is
    integer fen; `listing_total_fen` and `deal_total_fen` are the rent over the whole term
    at the listing and at the final price (the schedule's exact total, rounded half-up once).
    """

    __tablename__ = "listing_facts"

    listing_id: Mapped[int] = mapped_column(ForeignKey("listings.id"), primary_key=True)
    village_id: Mapped[int] = mapped_column(BigInteger)
    town_id: Mapped[int | None] = mapped_column(BigInteger)
    county_id: Mapped[int | None] = mapped_column(BigInteger)
    village_path: Mapped[str] = mapped_column(String(512))
    category: Mapped[str] = mapped_column(String(40))
    #: The listing's announcement date in Beijing (the period of every statistic; the day of
    #: its day rollup cells).
    announced_on: Mapped[date] = mapped_column(Date, index=True)
    month: Mapped[int] = mapped_column(Integer)  # yyyymm of announced_on
    state: Mapped[str] = mapped_column(String(16))  # open | sold | failed
    is_sold: Mapped[int] = mapped_column(SmallInteger)
    is_failed: Mapped[int] = mapped_column(SmallInteger)
    #: individual | organisation (the winner's ID type); NULL without a deal.
    buyer_type: Mapped[str | None] = mapped_column(String(16))
    term_years: Mapped[int] = mapped_column(Integer)
    listing_total_fen: Mapped[int] = mapped_column(BigInteger)
    #: Listing and final price per price unit (the premium rate is their exact ratio).
    listing_fen: Mapped[int] = mapped_column(BigInteger)
    final_fen: Mapped[int | None] = mapped_column(BigInteger)
    deal_total_fen: Mapped[int] = mapped_column(BigInteger)
    premium_per_year_fen: Mapped[int] = mapped_column(BigInteger)
    premium_over_term_fen: Mapped[int] = mapped_column(BigInteger)
    contract_value_fen: Mapped[int] = mapped_column(BigInteger)
    #: floor(final / listing · 10^5): sorts like the premium rate, ties broken by premium_key.
    premium_bucket: Mapped[int | None] = mapped_column(BigInteger)
    #: floor(final / listing · 10^40), zero-padded: sorts exactly like the premium rate.
    premium_key: Mapped[str | None] = mapped_column(SortKey)
    decided_on: Mapped[date | None] = mapped_column(Date)
    lease_ends_on: Mapped[date | None] = mapped_column(Date, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


#: The medians read, per group, the deals of one premium-rate bin in exact rate order
#: (`oversight.stats.medians`): one partial index led by each dimension with many values (and
#: one overall, for the others), carrying every column a statistic filters or groups by, so
#: PostgreSQL reads them from the index alone.
MEDIAN_DIMENSIONS: Final = ("town_id", "village_id", "category", "month")
MEDIAN_COVERED: Final = (
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
for _dimension in (*MEDIAN_DIMENSIONS, None):
    Index(
        f"ix_listing_facts_median_{(_dimension or 'all').removesuffix('_id')}",
        *([_dimension] if _dimension else []),
        "premium_bucket",
        "premium_key",
        postgresql_include=[c for c in MEDIAN_COVERED if c != _dimension],
        postgresql_where=ListingFact.is_sold == 1,
        sqlite_where=ListingFact.is_sold == 1,
        _table=table_of(ListingFact),
    )


#: The sums a rollup cell keeps, in this order (`oversight.stats.shaping.Measures`).
ROLLUP_MEASURES: Final = (
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
#: The deals of a cell per premium-rate bin (`oversight.facts.PREMIUM_BIN_EDGES`).
PREMIUM_BIN_COLUMNS: Final = tuple(f"premium_bin_{i:02d}" for i in range(PREMIUM_BINS))


def _cells(*key: Column[Any]) -> list[Column[Any]]:
    """A rollup cell's columns: `key` (the grain, its time), the dimensions, the sums."""
    return [
        *key,
        Column("category", String(40), primary_key=True),
        Column("buyer_type", String(16), primary_key=True),
        Column("county_id", BigInteger, primary_key=True),
        Column("town_id", BigInteger, primary_key=True),
        Column("village_id", BigInteger, primary_key=True),
        Column("region_path", String(512), primary_key=True),
        *[Column(name, BigInteger, nullable=False) for name in ROLLUP_MEASURES],
        *[Column(name, Integer, nullable=False) for name in PREMIUM_BIN_COLUMNS],
    ]


#: The facts summed per cell of each grain (`oversight.stats.rollups`): one row per grain and
#: combination of the dimensions it keeps (the others hold 0 or ''), kept by the same
#: transaction that writes the facts. `region_path` is the village's path, or its first three
#: segments (the county) where the grain drops the village; a missing town, county or buyer
#: type is 0 or ''.
listing_rollups = Table(
    "listing_rollups",
    Base.metadata,
    *_cells(
        Column("grain", SmallInteger, primary_key=True),
        Column("month", Integer, primary_key=True),
    ),
)

#: The same sums per day (`announced_on`, a Beijing date) for the grains that keep the month
#: (`oversight.stats.rollups.DAY_GRAINS`), kept by the same transaction: they answer the days
#: of a period's partial first and last months. `month` is the day's yyyymm (grouping by month).
listing_day_rollups = Table(
    "listing_day_rollups",
    Base.metadata,
    *_cells(
        Column("grain", SmallInteger, primary_key=True),
        Column("day", Date, primary_key=True),
        Column("month", Integer, primary_key=True),
    ),
)


class WarningRow(Base):
    """An anomaly found by the oversight job, with the evidence it was found on."""

    __tablename__ = "warnings"
    __table_args__ = (UniqueConstraint("kind", "key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    #: What makes this warning one (e.g. "listing:5:ip:10.0.0.7"): the same finding is one row.
    key: Mapped[str] = mapped_column(String(255))
    listing_id: Mapped[int | None] = mapped_column(ForeignKey("listings.id"), index=True)
    state: Mapped[str] = mapped_column(String(16), index=True)  # open | acknowledged
    evidence: Mapped[dict[str, Any]] = mapped_column(Json)
    detected_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    acknowledged_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(Text)


class Cursor(Base):
    """Progress of a periodic job: a position in the log and/or when it last ran."""

    __tablename__ = "oversight_cursors"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    position: Mapped[int] = mapped_column(BigInteger)
    run_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
