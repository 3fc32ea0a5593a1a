"""why a signup's channel class is what it is, when it can change or needs telling

``product_users.channel_key`` (nullable): an ambiguous source's name (partner, podcast, a bare
google ...; the class is ``unknown`` until a manager classifies the name with
``organic.classify``), ``referral`` (class ``organic``, paid when the product's referrals are
rewarded), or ``click:<id>`` (class ``paid``: the landing URL or referrer carried an ad click id
such as gclid). Full URLs are never stored. Existing rows are simply without a key.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 16:45:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ALTER (see 0007): batch mode would rebuild product_users and empty activity_weeks.
    op.add_column('product_users', sa.Column('channel_key', sa.String(length=100), nullable=True))


def downgrade() -> None:
    op.drop_column('product_users', 'channel_key')
