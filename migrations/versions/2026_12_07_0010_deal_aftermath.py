"""after the deal: result publicity, objections, defaults and runner-up offers, refund dates

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_AT = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("deals") as batch:
        # Deals made before publicity existed were final when made.
        batch.add_column(
            sa.Column("state", sa.String(length=12), nullable=False, server_default="confirmed")
        )
        batch.add_column(sa.Column("confirmed_at", _AT, nullable=True))
        batch.add_column(sa.Column("voided_at", _AT, nullable=True))
        batch.add_column(sa.Column("void_reason", sa.String(length=24), nullable=True))
        batch.add_column(sa.Column("offer_expires_at", _AT, nullable=True))
        batch.add_column(sa.Column("runner_up_id", _ID, nullable=True))
        batch.create_index(batch.f("ix_deals_state"), ["state"])
    op.execute("UPDATE deals SET confirmed_at = decided_at")
    with op.batch_alter_table("listings") as batch:
        batch.add_column(sa.Column("publicity_ends_at", _AT, nullable=True))
    with op.batch_alter_table("registrations") as batch:
        batch.add_column(sa.Column("refund_due_at", _AT, nullable=True))
    # A voided contract stays on record; only one contract per listing is current.
    with op.batch_alter_table("contracts") as batch:
        batch.drop_constraint(op.f("uq_contracts_listing_id"), type_="unique")
        batch.create_index(batch.f("ix_contracts_listing_id"), ["listing_id"])
    op.create_index(
        "uq_contracts_current",
        "contracts",
        ["listing_id"],
        unique=True,
        postgresql_where=sa.text("state <> 'voided'"),
        sqlite_where=sa.text("state <> 'voided'"),
    )
    op.create_table(
        "objections",
        sa.Column("id", _ID, nullable=False),
        sa.Column("listing_id", _ID, nullable=False),
        sa.Column("registration_id", _ID, nullable=False),
        sa.Column("reasons", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("filed_at", _AT, nullable=False),
        sa.Column("decided_at", _AT, nullable=True),
        sa.Column("decided_by", _ID, nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["listing_id"], ["listings.id"], name=op.f("fk_objections_listing_id_listings")
        ),
        sa.ForeignKeyConstraint(
            ["registration_id"],
            ["registrations.id"],
            name=op.f("fk_objections_registration_id_registrations"),
        ),
        sa.ForeignKeyConstraint(
            ["decided_by"], ["users.id"], name=op.f("fk_objections_decided_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_objections")),
    )
    with op.batch_alter_table("objections") as batch:
        batch.create_index(batch.f("ix_objections_listing_id"), ["listing_id"])


def downgrade() -> None:
    op.drop_table("objections")
    op.drop_index("uq_contracts_current", table_name="contracts")
    with op.batch_alter_table("contracts") as batch:
        batch.drop_index(batch.f("ix_contracts_listing_id"))
        batch.create_unique_constraint(op.f("uq_contracts_listing_id"), ["listing_id"])
    with op.batch_alter_table("registrations") as batch:
        batch.drop_column("refund_due_at")
    with op.batch_alter_table("listings") as batch:
        batch.drop_column("publicity_ends_at")
    with op.batch_alter_table("deals") as batch:
        batch.drop_index(batch.f("ix_deals_state"))
        for column in (
            "runner_up_id",
            "offer_expires_at",
            "void_reason",
            "voided_at",
            "confirmed_at",
            "state",
        ):
            batch.drop_column(column)
