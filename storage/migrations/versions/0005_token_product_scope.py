"""ingest tokens scoped to one product; message ids seen by the Segment-compatible API

``ingest_tokens.product_id`` (nullable: NULL = the whole workspace, as every existing token is)
makes a token usable as a product's write key. ``segment_messages`` remembers the ``messageId``
of each message taken, per product, so that a client's retry is reported as duplicates.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 16:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('ingest_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('product_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_ingest_tokens_product_id'), ['product_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_ingest_tokens_product_id_products'), 'products',
                                    ['product_id'], ['id'], ondelete='CASCADE')

    op.create_table(
        'segment_messages',
        sa.Column('product_id', sa.Integer(), nullable=False),
        sa.Column('message_id', sa.String(length=255), nullable=False),
        sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_segment_messages_product_id_products'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('product_id', 'message_id', name=op.f('pk_segment_messages')),
    )
    with op.batch_alter_table('segment_messages', schema=None) as batch_op:
        batch_op.create_index('ix_segment_messages_product_received', ['product_id', 'received_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('segment_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_segment_messages_product_received')
    op.drop_table('segment_messages')
    with op.batch_alter_table('ingest_tokens', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_ingest_tokens_product_id_products'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_ingest_tokens_product_id'))
        batch_op.drop_column('product_id')
