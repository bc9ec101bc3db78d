"""child runs and pipelines

Revision ID: core_0006
Revises: core_0005
Create Date: 2026-11-28 02:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'core_0006'
down_revision: str | Sequence[str] | None = 'core_0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATUSES = "('queued', 'running', 'requires_action', 'succeeded', 'failed', 'cancelled', 'timed_out')"
WITH_WAITING = "('queued', 'running', 'requires_action', 'waiting', 'succeeded', 'failed', 'cancelled', 'timed_out')"


def upgrade() -> None:
    op.drop_constraint(op.f('ck_runs_status'), 'runs', type_='check')
    op.create_check_constraint(op.f('ck_runs_status'), 'runs', f"status IN {WITH_WAITING}")
    op.add_column('runs', sa.Column('parent_id', sa.Uuid(), nullable=True))
    op.add_column('runs', sa.Column('step', sa.String(length=200), nullable=True))
    op.create_foreign_key('fk_runs_parent_id_runs', 'runs', 'runs', ['parent_id'], ['id'], ondelete='CASCADE')
    op.create_index(
        'uq_runs_parent_step', 'runs', ['parent_id', 'step'], unique=True,
        postgresql_where=sa.text('parent_id IS NOT NULL'),
    )
    op.add_column('threads', sa.Column('parent_run_id', sa.Uuid(), nullable=True))
    op.create_foreign_key(
        'fk_threads_parent_run_id_runs', 'threads', 'runs', ['parent_run_id'], ['id'], ondelete='CASCADE'
    )


def downgrade() -> None:
    op.drop_constraint('fk_threads_parent_run_id_runs', 'threads', type_='foreignkey')
    op.drop_column('threads', 'parent_run_id')
    op.drop_index('uq_runs_parent_step', table_name='runs', postgresql_where=sa.text('parent_id IS NOT NULL'))
    op.drop_constraint('fk_runs_parent_id_runs', 'runs', type_='foreignkey')
    op.drop_column('runs', 'step')
    op.drop_column('runs', 'parent_id')
    op.execute("DELETE FROM runs WHERE status = 'waiting'")
    op.drop_constraint(op.f('ck_runs_status'), 'runs', type_='check')
    op.create_check_constraint(op.f('ck_runs_status'), 'runs', f"status IN {STATUSES}")
