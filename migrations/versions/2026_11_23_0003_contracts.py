"""contracts (lease contracts, signatures, settlement)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "contracts",
        sa.Column("id", ID, nullable=False),
        sa.Column("listing_id", ID, nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=24), nullable=False),
        sa.Column("village_id", ID, nullable=False),
        sa.Column("winner_id", ID, nullable=False),
        sa.Column("registration_id", ID, nullable=False),
        sa.Column("data", JSON, nullable=False),
        sa.Column("template_version", sa.String(length=16), nullable=False),
        sa.Column("lease_start", sa.Date(), nullable=False),
        _ts("sign_deadline"),
        _ts("render_at"),
        sa.Column("pdf_sha256", sa.String(length=64), nullable=True),
        sa.Column("certificate_number", sa.String(length=32), nullable=True),
        sa.Column("certificate_sha256", sa.String(length=64), nullable=True),
        _ts("drafted_at"),
        _ts("signed_at", True),
        _ts("certified_at", True),
        _ts("updated_at"),
        sa.ForeignKeyConstraint(["listing_id"], ["listings.id"],
                                name=op.f("fk_contracts_listing_id_listings")),
        sa.ForeignKeyConstraint(["village_id"], ["regions.id"],
                                name=op.f("fk_contracts_village_id_regions")),
        sa.ForeignKeyConstraint(["winner_id"], ["users.id"],
                                name=op.f("fk_contracts_winner_id_users")),
        sa.ForeignKeyConstraint(["registration_id"], ["registrations.id"],
                                name=op.f("fk_contracts_registration_id_registrations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contracts")),
        sa.UniqueConstraint("listing_id", name=op.f("uq_contracts_listing_id")),
        sa.UniqueConstraint("number", name=op.f("uq_contracts_number")),
    )
    with op.batch_alter_table("contracts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_contracts_state"), ["state"], unique=False)
        batch_op.create_index(batch_op.f("ix_contracts_village_id"), ["village_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_contracts_winner_id"), ["winner_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_contracts_sign_deadline"), ["sign_deadline"],
                              unique=False)

    op.create_table(
        "signing_certificates",
        sa.Column("id", ID, nullable=False),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("serial", sa.String(length=48), nullable=False),
        sa.Column("subject", sa.String(length=512), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("pem", sa.Text(), nullable=False),
        sa.Column("key_path", sa.String(length=256), nullable=False),
        _ts("not_before"),
        _ts("not_after"),
        _ts("issued_at"),
        _ts("revoked_at", True),
        sa.Column("revocation_reason", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"],
                                name=op.f("fk_signing_certificates_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signing_certificates")),
        sa.UniqueConstraint("serial", name=op.f("uq_signing_certificates_serial")),
    )
    with op.batch_alter_table("signing_certificates", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_signing_certificates_user_id"), ["user_id"],
                              unique=False)

    op.create_table(
        "contract_signatures",
        sa.Column("id", ID, nullable=False),
        sa.Column("contract_id", ID, nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("signer_id", ID, nullable=True),
        sa.Column("certificate_id", ID, nullable=True),
        sa.Column("field_name", sa.String(length=32), nullable=False),
        sa.Column("subject", sa.String(length=512), nullable=False),
        sa.Column("certificate_sha256", sa.String(length=64), nullable=False),
        sa.Column("input_sha256", sa.String(length=64), nullable=False),
        sa.Column("output_sha256", sa.String(length=64), nullable=False),
        _ts("signed_at"),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.Column("user_agent", sa.String(length=256), nullable=True),
        sa.ForeignKeyConstraint(["contract_id"], ["contracts.id"],
                                name=op.f("fk_contract_signatures_contract_id_contracts")),
        sa.ForeignKeyConstraint(["signer_id"], ["users.id"],
                                name=op.f("fk_contract_signatures_signer_id_users")),
        sa.ForeignKeyConstraint(
            ["certificate_id"], ["signing_certificates.id"],
            name=op.f("fk_contract_signatures_certificate_id_signing_certificates")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contract_signatures")),
        sa.UniqueConstraint("contract_id", "role",
                            name=op.f("uq_contract_signatures_contract_id_role")),
    )
    with op.batch_alter_table("contract_signatures", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_contract_signatures_contract_id"), ["contract_id"],
                              unique=False)

    op.create_table(
        "rent_items",
        sa.Column("id", ID, nullable=False),
        sa.Column("contract_id", ID, nullable=False),
        sa.Column("listing_id", ID, nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("credited_fen", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(["contract_id"], ["contracts.id"],
                                name=op.f("fk_rent_items_contract_id_contracts")),
        sa.ForeignKeyConstraint(["listing_id"], ["listings.id"],
                                name=op.f("fk_rent_items_listing_id_listings")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rent_items")),
        sa.UniqueConstraint("contract_id", "number",
                            name=op.f("uq_rent_items_contract_id_number")),
    )
    with op.batch_alter_table("rent_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rent_items_contract_id"), ["contract_id"],
                              unique=False)
        batch_op.create_index(batch_op.f("ix_rent_items_listing_id"), ["listing_id"],
                              unique=False)
        batch_op.create_index(batch_op.f("ix_rent_items_due_date"), ["due_date"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("rent_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rent_items_due_date"))
        batch_op.drop_index(batch_op.f("ix_rent_items_listing_id"))
        batch_op.drop_index(batch_op.f("ix_rent_items_contract_id"))
    op.drop_table("rent_items")
    with op.batch_alter_table("contract_signatures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contract_signatures_contract_id"))
    op.drop_table("contract_signatures")
    with op.batch_alter_table("signing_certificates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_signing_certificates_user_id"))
    op.drop_table("signing_certificates")
    with op.batch_alter_table("contracts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contracts_sign_deadline"))
        batch_op.drop_index(batch_op.f("ix_contracts_winner_id"))
        batch_op.drop_index(batch_op.f("ix_contracts_village_id"))
        batch_op.drop_index(batch_op.f("ix_contracts_state"))
    op.drop_table("contracts")
