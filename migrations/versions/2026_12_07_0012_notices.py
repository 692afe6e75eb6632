"""notices: the inbox and outbox of messages to people, their opt-outs, the sweeps' marks

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_AT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "notices",
        sa.Column("id", _ID, nullable=False),
        sa.Column("user_id", _ID, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=True),
        sa.Column("title", sa.String(length=64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("link", sa.String(length=256), nullable=True),
        sa.Column("created_at", _AT, nullable=False),
        sa.Column("read_at", _AT, nullable=True),
        sa.Column("delivery_state", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", _AT, nullable=True),
        sa.Column("delivered_at", _AT, nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_notices_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notices")),
        sa.UniqueConstraint("user_id", "kind", "subject", name="uq_notices_user_kind_subject"),
    )
    op.create_index("ix_notices_inbox", "notices", ["user_id", "id"])
    op.create_index("ix_notices_unread", "notices", ["user_id", "read_at"])
    op.create_index("ix_notices_delivery", "notices", ["delivery_state", "next_attempt_at"])
    op.create_table(
        "notice_opt_outs",
        sa.Column("user_id", _ID, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_notice_opt_outs_user_id_users")
        ),
        sa.PrimaryKeyConstraint("user_id", "kind", name=op.f("pk_notice_opt_outs")),
    )
    op.create_table(
        "notice_marks",
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("at", _AT, nullable=False),
        sa.PrimaryKeyConstraint("kind", "subject", name=op.f("pk_notice_marks")),
    )


def downgrade() -> None:
    op.drop_table("notice_marks")
    op.drop_table("notice_opt_outs")
    op.drop_index("ix_notices_delivery", table_name="notices")
    op.drop_index("ix_notices_unread", table_name="notices")
    op.drop_index("ix_notices_inbox", table_name="notices")
    op.drop_table("notices")
