"""SQL sources: a database per product that the clock pulls (user, week) pairs and signups from

One row per product. The URL is stored without its password; the password is Fernet-encrypted in
``password_enc`` (SPEC §9). The sync state (last synced week, last signup time, rows read, weeks
covered, last error) is what ``pmfbot source list``, App Home and the digest show.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 16:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'sql_sources',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('product_id', sa.Integer(), nullable=False),
        sa.Column('url', sa.Text(), nullable=False),
        sa.Column('password_enc', sa.Text(), nullable=True),
        sa.Column('signups_query', sa.Text(), nullable=False),
        sa.Column('events_query', sa.Text(), nullable=False),
        sa.Column('timeout_seconds', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_attempt_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_sync_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_sync_seconds', sa.Float(), nullable=True),
        sa.Column('rows_read', sa.BigInteger(), nullable=True),
        sa.Column('weeks_covered', sa.Integer(), nullable=True),
        sa.Column('first_week', sa.Integer(), nullable=True),
        sa.Column('last_synced_week', sa.Integer(), nullable=True),
        sa.Column('last_signup_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_error', sa.String(length=500), nullable=True),
        sa.Column('last_error_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_sql_sources_product_id_products'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_sql_sources')),
        sa.UniqueConstraint('product_id', name=op.f('uq_sql_sources_product_id')),
    )


def downgrade() -> None:
    op.drop_table('sql_sources')
