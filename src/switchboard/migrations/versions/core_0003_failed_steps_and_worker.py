"""failed model-request steps; the worker that ran a run

Revision ID: core_0003
Revises: core_0002
Create Date: 2026-11-27 20:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'core_0003'
down_revision: str | Sequence[str] | None = 'core_0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD_STEP_STATUSES = "('running', 'succeeded', 'retried', 'unknown', 'awaiting_approval', 'denied')"
_NEW_STEP_STATUSES = "('running', 'succeeded', 'failed', 'retried', 'unknown', 'awaiting_approval', 'denied')"


def upgrade() -> None:
    # Which worker last executed the run: the lease owner is cleared when the run settles, this stays.
    op.add_column('runs', sa.Column('worker_id', sa.String(length=200), nullable=True))
    # A model request that failed (and was retried, or ended the run) is a step of the timeline too.
    op.drop_constraint(op.f('ck_run_steps_status'), 'run_steps', type_='check')
    op.create_check_constraint(op.f('ck_run_steps_status'), 'run_steps', f"status IN {_NEW_STEP_STATUSES}")


def downgrade() -> None:
    op.execute("DELETE FROM run_steps WHERE status = 'failed'")
    op.drop_constraint(op.f('ck_run_steps_status'), 'run_steps', type_='check')
    op.create_check_constraint(op.f('ck_run_steps_status'), 'run_steps', f"status IN {_OLD_STEP_STATUSES}")
    op.drop_column('runs', 'worker_id')
