"""auction

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 16:19:07.720009
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql


revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table('auctions',
    sa.Column('listing_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('rules', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('draw', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('round', sa.Integer(), nullable=False),
    sa.Column('current_fen', sa.BigInteger(), nullable=False),
    sa.Column('leader', sa.String(length=8), nullable=True),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('price_seq', sa.Integer(), nullable=False),
    sa.Column('paused_status', sa.String(length=16), nullable=True),
    sa.Column('paused_remaining_ms', sa.BigInteger(), nullable=True),
    sa.Column('next_deadline', sa.DateTime(timezone=True), nullable=True),
    sa.Column('result', sa.String(length=8), nullable=True),
    sa.Column('final_fen', sa.BigInteger(), nullable=True),
    sa.Column('winner_number', sa.String(length=8), nullable=True),
    sa.ForeignKeyConstraint(['listing_id'], ['listings.id'], name=op.f('fk_auctions_listing_id_listings')),
    sa.PrimaryKeyConstraint('listing_id', name=op.f('pk_auctions'))
    )
    with op.batch_alter_table('auctions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_auctions_next_deadline'), ['next_deadline'], unique=False)

    op.create_table('auction_events',
    sa.Column('listing_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('type', sa.String(length=16), nullable=False),
    sa.Column('payload', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['listing_id'], ['auctions.listing_id'], name=op.f('fk_auction_events_listing_id_auctions')),
    sa.PrimaryKeyConstraint('listing_id', 'seq', name=op.f('pk_auction_events'))
    )
    op.create_table('bids',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('listing_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('bidder_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('bidder_number', sa.String(length=8), nullable=True),
    sa.Column('ref', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=True),
    sa.Column('based_on_seq', sa.Integer(), nullable=True),
    sa.Column('outcome', sa.String(length=8), nullable=False),
    sa.Column('code', sa.String(length=24), nullable=True),
    sa.Column('seq', sa.Integer(), nullable=True),
    sa.Column('round', sa.Integer(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('channel', sa.String(length=8), nullable=False),
    sa.Column('ip', sa.String(length=64), nullable=True),
    sa.Column('device', sa.String(length=256), nullable=True),
    sa.ForeignKeyConstraint(['bidder_id'], ['users.id'], name=op.f('fk_bids_bidder_id_users')),
    sa.ForeignKeyConstraint(['listing_id'], ['auctions.listing_id'], name=op.f('fk_bids_listing_id_auctions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bids')),
    sa.UniqueConstraint('listing_id', 'bidder_id', 'ref', name=op.f('uq_bids_listing_id_bidder_id_ref'))
    )
    with op.batch_alter_table('bids', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bids_listing_id'), ['listing_id'], unique=False)

    op.create_table('deals',
    sa.Column('listing_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('registration_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('winner_number', sa.String(length=8), nullable=False),
    sa.Column('listing_fen', sa.BigInteger(), nullable=False),
    sa.Column('final_fen', sa.BigInteger(), nullable=False),
    sa.Column('rounds', sa.Integer(), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('contract_id', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['listing_id'], ['listings.id'], name=op.f('fk_deals_listing_id_listings')),
    sa.ForeignKeyConstraint(['registration_id'], ['registrations.id'], name=op.f('fk_deals_registration_id_registrations')),
    sa.PrimaryKeyConstraint('listing_id', name=op.f('pk_deals'))
    )



def downgrade() -> None:

    op.drop_table('deals')
    with op.batch_alter_table('bids', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bids_listing_id'))

    op.drop_table('bids')
    op.drop_table('auction_events')
    with op.batch_alter_table('auctions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_auctions_next_deadline'))

    op.drop_table('auctions')

