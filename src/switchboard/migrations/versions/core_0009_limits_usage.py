"""tiers, per-user limits, API-key scopes and budgets, run cost, trace context, rate-limit buckets

Revision ID: core_0009
Revises: core_0008
Create Date: 2026-11-28 05:15:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = 'core_0009'
down_revision: str | Sequence[str] | None = 'core_0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('users', sa.Column('tier', sa.String(length=32), server_default='free', nullable=False))
    op.add_column(
        'users', sa.Column('limits', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False)
    )
    op.add_column('api_keys', sa.Column('scopes', postgresql.ARRAY(sa.String(length=32)), nullable=True))
    op.add_column('api_keys', sa.Column('daily_cost_usd', sa.Numeric(14, 6), nullable=True))
    op.add_column('runs', sa.Column('cost_usd', sa.Numeric(18, 9), nullable=True))
    op.add_column('runs', sa.Column('api_key_id', sa.BigInteger(), nullable=True))
    op.create_foreign_key(
        op.f('fk_runs_api_key_id_api_keys'), 'runs', 'api_keys', ['api_key_id'], ['id'], ondelete='SET NULL'
    )
    op.add_column('runs', sa.Column('trace_context', postgresql.JSONB(none_as_null=True), nullable=True))
    op.add_column('run_steps', sa.Column('cost_usd', sa.Numeric(18, 9), nullable=True))
    # Model requests by when they were made: usage over a period, and a day's spend for budgets.
    op.create_index(
        'ix_run_steps_model_requests',
        'run_steps',
        ['started_at'],
        postgresql_where=sa.text("kind = 'model_request'"),
    )
    # The rate limiter's state (GCRA: each key's theoretical arrival time). UNLOGGED: fast, and a crash only
    # resets the limits.
    op.create_table(
        'rate_limit_buckets',
        sa.Column('key', sa.Text(), nullable=False),
        sa.Column('tat', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_rate_limit_buckets')),
        prefixes=['UNLOGGED'],
    )


def downgrade() -> None:
    op.drop_table('rate_limit_buckets')
    op.drop_index('ix_run_steps_model_requests', table_name='run_steps')
    op.drop_column('run_steps', 'cost_usd')
    op.drop_column('runs', 'trace_context')
    op.drop_constraint(op.f('fk_runs_api_key_id_api_keys'), 'runs', type_='foreignkey')
    op.drop_column('runs', 'api_key_id')
    op.drop_column('runs', 'cost_usd')
    op.drop_column('api_keys', 'daily_cost_usd')
    op.drop_column('api_keys', 'scopes')
    op.drop_column('users', 'limits')
    op.drop_column('users', 'tier')
