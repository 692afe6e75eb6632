"""listings: whom to call to see the asset (site_visit); listing_viewers: the distinct people
and browsers that opened an announcement (围观人数)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("listings") as batch:
        batch.add_column(
            sa.Column(
                "site_visit",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=True,
            )
        )
    op.create_table(
        "listing_viewers",
        sa.Column("listing_id", _ID, nullable=False),
        sa.Column("viewer", sa.String(length=32), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["listing_id"], ["listings.id"], name=op.f("fk_listing_viewers_listing_id_listings")
        ),
        sa.PrimaryKeyConstraint("listing_id", "viewer", name=op.f("pk_listing_viewers")),
    )


def downgrade() -> None:
    op.drop_table("listing_viewers")
    with op.batch_alter_table("listings") as batch:
        batch.drop_column("site_visit")
