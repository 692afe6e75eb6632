"""One account per ID number; priority rights claimed with a proof and confirmed by a reviewer

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    shared = op.get_bind().execute(
        sa.text(
            "SELECT id_type, id_number, count(*) FROM users WHERE id_number IS NOT NULL "
            "GROUP BY id_type, id_number HAVING count(*) > 1"
        )
    ).all()
    if shared:
        # Which account is the person's is for the exchange to decide, not for a migration.
        raise RuntimeError(
            f"{len(shared)} ID numbers belong to more than one account; deactivate or correct "
            "the extra accounts (users.id_number) before upgrading"
        )
    with op.batch_alter_table("users") as batch:
        batch.create_unique_constraint(op.f("uq_users_id_type_id_number"), ["id_type", "id_number"])
    with op.batch_alter_table("registrations") as batch:
        batch.add_column(sa.Column("priority_claim", sa.String(length=12), nullable=True))
    # A right recognised before claims existed counts as confirmed.
    op.execute("UPDATE registrations SET priority_claim = 'confirmed' WHERE priority_holder")
    op.create_table(
        "registration_documents",
        sa.Column("id", _ID, nullable=False),
        sa.Column("registration_id", _ID, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("content_type", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["registration_id"],
            ["registrations.id"],
            name=op.f("fk_registration_documents_registration_id_registrations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registration_documents")),
    )
    with op.batch_alter_table("registration_documents") as batch:
        batch.create_index(
            batch.f("ix_registration_documents_registration_id"), ["registration_id"]
        )


def downgrade() -> None:
    op.drop_table("registration_documents")
    with op.batch_alter_table("registrations") as batch:
        batch.drop_column("priority_claim")
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint(op.f("uq_users_id_type_id_number"), type_="unique")
