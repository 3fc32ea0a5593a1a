"""store each user's cohort week, on the user and on their activity rows

The cohort table, the tail patterns and the cohort sizes become index-only scans instead of a join
of every activity row to its user. On SQLite ``activity_weeks`` is rebuilt WITHOUT ROWID (its
primary key is then the table itself); on PostgreSQL the columns are added in place.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 11:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def _activity_table(name: str, *, cohort: bool, **kwargs: object) -> None:
    columns: list[sa.Column[int]] = [
        sa.Column('user_id', BIG_ID, nullable=False),
        sa.Column('week', sa.Integer(), nullable=False),
    ]
    if cohort:
        columns += [sa.Column('product_id', sa.Integer(), nullable=False),
                    sa.Column('cohort_week', sa.Integer(), nullable=False)]
    op.create_table(
        name, *columns,
        sa.ForeignKeyConstraint(['user_id'], ['product_users.id'], name=op.f('fk_activity_weeks_user_id_product_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('user_id', 'week', name=op.f('pk_activity_weeks')),
        **kwargs,
    )


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == 'sqlite'
    # Plain ALTERs (SQLite has ADD and DROP COLUMN): batch mode would rebuild product_users, which
    # activity_weeks references.
    op.add_column('product_users', sa.Column('cohort_week', sa.Integer(), nullable=True))
    op.drop_index('ix_product_users_product_signup_week', table_name='product_users')
    op.execute('UPDATE product_users SET cohort_week = coalesce(signup_week, first_week)')
    op.create_index('ix_product_users_product_signup_channel', 'product_users',
                    ['product_id', 'signup_week', 'channel_class'])
    op.create_index('ix_product_users_product_cohort_week', 'product_users', ['product_id', 'cohort_week'])

    fill = ('SELECT a.user_id, a.week, p.product_id, p.cohort_week FROM activity_weeks_old a '
            'JOIN product_users p ON p.id = a.user_id')
    if sqlite:
        op.rename_table('activity_weeks', 'activity_weeks_old')
        _activity_table('activity_weeks', cohort=True, sqlite_with_rowid=False)
        op.execute(f'INSERT INTO activity_weeks (user_id, week, product_id, cohort_week) {fill} '
                   'ORDER BY a.user_id, a.week')
        op.drop_table('activity_weeks_old')
    else:
        op.add_column('activity_weeks', sa.Column('product_id', sa.Integer(), nullable=True))
        op.add_column('activity_weeks', sa.Column('cohort_week', sa.Integer(), nullable=True))
        op.execute('UPDATE activity_weeks a SET product_id = p.product_id, cohort_week = p.cohort_week '
                   'FROM product_users p WHERE p.id = a.user_id')
        op.alter_column('activity_weeks', 'product_id', existing_type=sa.Integer(), nullable=False)
        op.alter_column('activity_weeks', 'cohort_week', existing_type=sa.Integer(), nullable=False)
    op.create_index('ix_activity_weeks_cohort', 'activity_weeks', ['product_id', 'cohort_week', 'week', 'user_id'])


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == 'sqlite'
    op.drop_index('ix_activity_weeks_cohort', table_name='activity_weeks')
    if sqlite:
        op.rename_table('activity_weeks', 'activity_weeks_old')
        _activity_table('activity_weeks', cohort=False)
        op.execute('INSERT INTO activity_weeks (user_id, week) SELECT user_id, week FROM activity_weeks_old')
        op.drop_table('activity_weeks_old')
    else:
        op.drop_column('activity_weeks', 'cohort_week')
        op.drop_column('activity_weeks', 'product_id')
    op.drop_index('ix_product_users_product_cohort_week', table_name='product_users')
    op.drop_index('ix_product_users_product_signup_channel', table_name='product_users')
    op.drop_column('product_users', 'cohort_week')
    op.create_index('ix_product_users_product_signup_week', 'product_users', ['product_id', 'signup_week'])
