"""oversight (Merkle log sequencing, checkpoints, warnings)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
SORT_KEY = sa.String(64).with_variant(sa.String(64, collation="C"), "postgresql")
MEDIAN_INDEXES = [
    (f"ix_listing_facts_median_{name}", columns)
    for name, columns in [("county", ["county_id"]), ("town", ["town_id"]),
                          ("village", ["village_id"]), ("category", ["category"]),
                          ("month", ["month"]), ("buyer_type", ["buyer_type"]), ("all", [])]
]


def upgrade() -> None:
    op.create_table(
        "ledger_tree",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("frontier", JSON, nullable=False),
        sa.Column("root", sa.String(64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_tree")),
    )
    op.create_table(
        "ledger_nodes",
        sa.Column("level", sa.SmallInteger(), nullable=False),
        sa.Column("idx", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.LargeBinary(32), nullable=False),
        sa.PrimaryKeyConstraint("level", "idx", name=op.f("pk_ledger_nodes")),
    )
    op.create_table(
        "ledger_checkpoints",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("root", sa.String(64), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("reason", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_checkpoints")),
        sa.UniqueConstraint("size", name=op.f("uq_ledger_checkpoints_size")),
    )
    # The sequencer's work queue: only the (few) entries not yet in the log are indexed.
    op.create_index(
        "ix_ledger_entries_unsequenced", "ledger_entries", ["id"], unique=False,
        postgresql_where=sa.text("leaf_index IS NULL"), sqlite_where=sa.text("leaf_index IS NULL"),
    )
    op.create_table(
        "listing_facts",
        sa.Column("listing_id", BIG_ID, nullable=False),
        sa.Column("village_id", sa.BigInteger(), nullable=False),
        sa.Column("town_id", sa.BigInteger(), nullable=True),
        sa.Column("county_id", sa.BigInteger(), nullable=True),
        sa.Column("village_path", sa.String(512), nullable=False),
        sa.Column("category", sa.String(40), nullable=False),
        sa.Column("announced_on", sa.Date(), nullable=False),
        sa.Column("month", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("is_sold", sa.SmallInteger(), nullable=False),
        sa.Column("is_failed", sa.SmallInteger(), nullable=False),
        sa.Column("buyer_type", sa.String(16), nullable=True),
        sa.Column("term_years", sa.Integer(), nullable=False),
        sa.Column("listing_total_fen", sa.BigInteger(), nullable=False),
        sa.Column("listing_fen", sa.BigInteger(), nullable=False),
        sa.Column("final_fen", sa.BigInteger(), nullable=True),
        sa.Column("deal_total_fen", sa.BigInteger(), nullable=False),
        sa.Column("premium_per_year_fen", sa.BigInteger(), nullable=False),
        sa.Column("premium_over_term_fen", sa.BigInteger(), nullable=False),
        sa.Column("contract_value_fen", sa.BigInteger(), nullable=False),
        sa.Column("premium_bucket", sa.BigInteger(), nullable=True),
        sa.Column("premium_key", SORT_KEY, nullable=True),
        sa.Column("decided_on", sa.Date(), nullable=True),
        sa.Column("lease_ends_on", sa.Date(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["listing_id"], ["listings.id"],
                                name=op.f("fk_listing_facts_listing_id_listings")),
        sa.PrimaryKeyConstraint("listing_id", name=op.f("pk_listing_facts")),
    )
    op.create_index(op.f("ix_listing_facts_lease_ends_on"), "listing_facts", ["lease_ends_on"])
    # Deals in premium-rate order per statistics dimension: medians without sorting.
    for name, columns in MEDIAN_INDEXES:
        op.create_index(
            name, "listing_facts", [*columns, "premium_bucket", "premium_key"],
            postgresql_include=["final_fen", "listing_fen"],
            postgresql_where=sa.text("is_sold = 1"), sqlite_where=sa.text("is_sold = 1"))
    op.create_table(
        "warnings",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("listing_id", BIG_ID, nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("evidence", JSON, nullable=False),
        sa.Column("detected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_by", BIG_ID, nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["listing_id"], ["listings.id"],
                                name=op.f("fk_warnings_listing_id_listings")),
        sa.ForeignKeyConstraint(["acknowledged_by"], ["users.id"],
                                name=op.f("fk_warnings_acknowledged_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_warnings")),
        sa.UniqueConstraint("kind", "key", name=op.f("uq_warnings_kind_key")),
    )
    op.create_index(op.f("ix_warnings_kind"), "warnings", ["kind"])
    op.create_index(op.f("ix_warnings_listing_id"), "warnings", ["listing_id"])
    op.create_index(op.f("ix_warnings_state"), "warnings", ["state"])
    op.create_table(
        "oversight_cursors",
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("run_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_oversight_cursors")),
    )


def downgrade() -> None:
    op.drop_table("oversight_cursors")
    op.drop_index(op.f("ix_warnings_state"), table_name="warnings")
    op.drop_index(op.f("ix_warnings_listing_id"), table_name="warnings")
    op.drop_index(op.f("ix_warnings_kind"), table_name="warnings")
    op.drop_table("warnings")
    for name, _ in MEDIAN_INDEXES:
        op.drop_index(name, table_name="listing_facts")
    op.drop_index(op.f("ix_listing_facts_lease_ends_on"), table_name="listing_facts")
    op.drop_table("listing_facts")
    op.drop_index("ix_ledger_entries_unsequenced", table_name="ledger_entries")
    op.drop_table("ledger_checkpoints")
    op.drop_table("ledger_nodes")
    op.drop_table("ledger_tree")
