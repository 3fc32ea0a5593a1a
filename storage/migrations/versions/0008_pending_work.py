"""pending post-ack work, so work lost with its process leaves a trace

``pending_work`` holds one row per "Working on…" placeholder whose work has not finished; the
next request or start-up replaces the placeholder of a row whose process is gone.

Revision ID: 0008
Revises: 0007 (the lead re-chains it after 0006/0007)
Create Date: 2026-12-04 17:20:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'pending_work',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('team_id', sa.String(length=32), nullable=False),
        sa.Column('response_url', sa.String(length=500), nullable=False),
        sa.Column('what', sa.String(length=200), nullable=False),
        sa.Column('owner', sa.String(length=100), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_pending_work')),
    )
    with op.batch_alter_table('pending_work', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pending_work_started_at'), ['started_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('pending_work', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pending_work_started_at'))
    op.drop_table('pending_work')
