"""rent items: the due-date index covers what the income board and the dashboard's
collection read (PostgreSQL INCLUDE, so they scan the index alone); rent is due by the first
day it pays for

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COVERED = [
    "contract_id",
    "listing_id",
    "state",
    "amount_fen",
    "credited_fen",
    "paid_fen",
    "period_start",
    "period_end",
]


def upgrade() -> None:
    op.drop_index("ix_rent_items_due_date", table_name="rent_items")
    # Ignored on SQLite: a plain index on the due date, as before.
    op.create_index(
        "ix_rent_items_due_date", "rent_items", ["due_date"], postgresql_include=_COVERED
    )
    with op.batch_alter_table("rent_items") as batch:
        batch.create_check_constraint(
            op.f("ck_rent_items_paid_in_advance"), "due_date <= period_start"
        )


def downgrade() -> None:
    with op.batch_alter_table("rent_items") as batch:
        batch.drop_constraint(op.f("ck_rent_items_paid_in_advance"), type_="check")
    op.drop_index("ix_rent_items_due_date", table_name="rent_items")
    op.create_index("ix_rent_items_due_date", "rent_items", ["due_date"])
