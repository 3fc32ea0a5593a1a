"""event names kept by imports: event_names and activity_event_weeks (retention.active_events)

``activity_weeks`` keeps one row per (user, week) whatever the event, which is all the default
rule needs. An import whose source names its events also writes each (user, week, event) into
``activity_event_weeks``, with the names numbered in ``event_names``, so that
``retention.active_events`` can include or exclude events by name. Data imported before this
carries no names: a non-default rule then says it cannot apply.

Revision ID: 0017
Revises: 0013
Create Date: 2026-12-07 16:50:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0017'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'event_names',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('product_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('user_weeks', sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_event_names_product_id_products'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_event_names')),
        sa.UniqueConstraint('product_id', 'name', name=op.f('uq_event_names_product_id_name')),
    )
    op.create_table(
        'activity_event_weeks',
        sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('week', sa.Integer(), nullable=False),
        sa.Column('event_id', sa.Integer(), nullable=False),
        sa.Column('product_id', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('user_id', 'week', 'event_id', name=op.f('pk_activity_event_weeks')),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table('activity_event_weeks')
    op.drop_table('event_names')
