"""rent as receivables: what each item has received, its transfer reference, waivers, and
the payments themselves

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_AT = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("rent_items") as batch:
        batch.add_column(sa.Column("paid_fen", sa.BigInteger(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("reference", sa.String(length=24), nullable=True))
        batch.add_column(sa.Column("waived_reason", sa.Text(), nullable=True))
        batch.create_unique_constraint(batch.f("uq_rent_items_reference"), ["reference"])
    op.create_table(
        "rent_payments",
        sa.Column("id", _ID, nullable=False),
        sa.Column("rent_item_id", _ID, nullable=False),
        sa.Column("listing_id", _ID, nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("bank_txn_id", sa.String(length=64), nullable=True),
        sa.Column("receipt_number", sa.String(length=64), nullable=True),
        sa.Column("receipt_sha256", sa.String(length=64), nullable=True),
        sa.Column("paid_at", _AT, nullable=False),
        sa.Column("recorded_by", _ID, nullable=True),
        sa.Column("recorded_at", _AT, nullable=False),
        sa.ForeignKeyConstraint(
            ["rent_item_id"], ["rent_items.id"], name=op.f("fk_rent_payments_rent_item_id_rent_items")
        ),
        sa.ForeignKeyConstraint(
            ["listing_id"], ["listings.id"], name=op.f("fk_rent_payments_listing_id_listings")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by"], ["users.id"], name=op.f("fk_rent_payments_recorded_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rent_payments")),
        sa.UniqueConstraint("bank_txn_id", name=op.f("uq_rent_payments_bank_txn_id")),
    )
    with op.batch_alter_table("rent_payments") as batch:
        batch.create_index(batch.f("ix_rent_payments_rent_item_id"), ["rent_item_id"])
        batch.create_index(batch.f("ix_rent_payments_listing_id"), ["listing_id"])


def downgrade() -> None:
    op.drop_table("rent_payments")
    with op.batch_alter_table("rent_items") as batch:
        batch.drop_constraint(batch.f("uq_rent_items_reference"), type_="unique")
        for column in ("waived_reason", "reference", "paid_fen"):
            batch.drop_column(column)
