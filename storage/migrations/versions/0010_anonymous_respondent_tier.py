"""anonymous Slack answers keep their respondent's activity tier, never an identity

``survey_responses.respondent_tier`` (light / regular / heavy) and ``respondent_active`` are
set at answer time on an anonymous survey's answer whose respondent matched a signup (by the
keyed hash of their email, which is not stored), so the answer is weighted like a named one
(SPEC §5 "Who answered"). Both nullable: null is an answer that matched nobody (or a named or
imported one, matched when the report is computed).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 16:10:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ALTERs (SQLite has ADD and DROP COLUMN): batch mode would rebuild survey_responses,
    # and with it, by cascade, empty survey_comments.
    op.add_column('survey_responses', sa.Column('respondent_tier', sa.String(length=10), nullable=True))
    op.add_column('survey_responses', sa.Column('respondent_active', sa.Boolean(), nullable=True))


def downgrade() -> None:
    op.drop_column('survey_responses', 'respondent_active')
    op.drop_column('survey_responses', 'respondent_tier')
