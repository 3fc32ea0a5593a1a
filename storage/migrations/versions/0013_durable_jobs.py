"""durable post-ack work: jobs (SQLite's in-process queue), job_effects, report_cache (reports
shared by the workers), procrastinate's schema;
pending_work (0008) goes: an acked job is now stored before the ack and run to the end, not
reported lost

``jobs`` holds what a SQLite deployment acked and has not finished (replayed at start-up);
``job_effects`` records each external effect a job completed, so a rerun skips it. On PostgreSQL
this migration also installs procrastinate's own schema (its ``schema.sql`` for the pinned 3.x
release, in this migration's transaction): the queue's tables are then versioned with ours, one
``pmfbot db upgrade`` sets up everything, and a later procrastinate upgrade is a later migration
that runs the package's own migration files. SQLite has no procrastinate tables.

Revision ID: 0013
Revises: 0011
Create Date: 2026-12-07 16:20:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0013'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PROCRASTINATE_TABLES = ('procrastinate_events', 'procrastinate_periodic_defers', 'procrastinate_jobs',
                        'procrastinate_workers')


def _run_raw(sql: str) -> None:
    """Several statements in one call: psycopg sends a query without parameters with the simple
    protocol (SQLAlchemy's text() would take the SQL's ``::`` casts for bind parameters)."""
    dbapi = op.get_bind().connection.driver_connection
    with dbapi.cursor() as cur:
        cur.execute(sql)


def upgrade() -> None:
    op.create_table(
        'jobs',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('job_key', sa.String(length=64), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('args', sa.JSON(), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_jobs')),
        sa.UniqueConstraint('job_key', name=op.f('uq_jobs_job_key')),
    )
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_jobs_created_at'), ['created_at'], unique=False)
    op.create_table(
        'job_effects',
        sa.Column('job_key', sa.String(length=64), nullable=False),
        sa.Column('step', sa.String(length=100), nullable=False),
        sa.Column('result', sa.String(length=500), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('job_key', 'step', name=op.f('pk_job_effects')),
    )
    with op.batch_alter_table('job_effects', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_job_effects_created_at'), ['created_at'], unique=False)
    op.create_table(
        'report_cache',
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('report', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'),
                  nullable=False),
        sa.Column('chart', sa.LargeBinary(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_report_cache')),
    )
    with op.batch_alter_table('report_cache', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_cache_created_at'), ['created_at'], unique=False)
    with op.batch_alter_table('pending_work', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pending_work_started_at'))
    op.drop_table('pending_work')
    if op.get_bind().dialect.name == 'postgresql':
        from procrastinate.schema import SchemaManager

        _run_raw(SchemaManager.get_schema())


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        _run_raw(f"DROP TABLE IF EXISTS {', '.join(PROCRASTINATE_TABLES)} CASCADE")
        bind = op.get_bind()
        functions = bind.execute(sa.text(
            "SELECT p.oid::regprocedure::text FROM pg_proc p WHERE p.pronamespace = current_schema()::regnamespace "
            "AND p.proname LIKE 'procrastinate\\_%'")).scalars().all()
        for fn in functions:
            _run_raw(f"DROP FUNCTION IF EXISTS {fn} CASCADE")
        types = bind.execute(sa.text(
            "SELECT t.typname FROM pg_type t WHERE t.typnamespace = current_schema()::regnamespace "
            "AND t.typname LIKE 'procrastinate\\_%' AND t.typtype IN ('e', 'c')")).scalars().all()
        for name in types:
            _run_raw(f"DROP TYPE IF EXISTS {name} CASCADE")
    with op.batch_alter_table('report_cache', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_report_cache_created_at'))
    op.drop_table('report_cache')
    with op.batch_alter_table('job_effects', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_job_effects_created_at'))
    op.drop_table('job_effects')
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_jobs_created_at'))
    op.drop_table('jobs')
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
