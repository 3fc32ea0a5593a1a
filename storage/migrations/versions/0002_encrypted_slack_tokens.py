"""widen slack_sdk's token columns for encrypted tokens

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 12:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = {
    'slack_bots': ('bot_token', 'bot_refresh_token'),
    'slack_installations': ('bot_token', 'bot_refresh_token', 'user_token', 'user_refresh_token'),
}


def upgrade() -> None:
    for table, columns in COLUMNS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in columns:
                batch_op.alter_column(column, existing_type=sa.String(length=200), type_=sa.String(length=1000),
                                      existing_nullable=True)


def downgrade() -> None:
    for table, columns in COLUMNS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in columns:
                batch_op.alter_column(column, existing_type=sa.String(length=1000), type_=sa.String(length=200),
                                      existing_nullable=True)
