"""keyed email hashes for respondent matching; a survey's channel member count

``product_users.email_hash`` (with an index on product and hash) holds the keyed hash of a
signup's email, never the address; ``survey_responses.email_hash`` the same hash of a named
Slack respondent's email, so the two can be joined. ``surveys.channel_members`` is the number of
people in the channel when the survey was posted (the base of the response rate of answers that
cannot be matched). All nullable: existing rows are simply unmatched.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 17:15:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ALTERs (SQLite has ADD and DROP COLUMN): batch mode would rebuild product_users, and
    # with it, by cascade, empty activity_weeks, which references it.
    op.add_column('product_users', sa.Column('email_hash', sa.String(length=64), nullable=True))
    op.create_index('ix_product_users_product_email_hash', 'product_users', ['product_id', 'email_hash'])
    op.add_column('survey_responses', sa.Column('email_hash', sa.String(length=64), nullable=True))
    op.add_column('surveys', sa.Column('channel_members', sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column('surveys', 'channel_members')
    op.drop_column('survey_responses', 'email_hash')
    op.drop_index('ix_product_users_product_email_hash', table_name='product_users')
    op.drop_column('product_users', 'email_hash')
