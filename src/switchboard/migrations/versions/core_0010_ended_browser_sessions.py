"""console sessions signed out before they expired

Revision ID: core_0010
Revises: core_0009
Create Date: 2026-11-28 08:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'core_0010'
down_revision: str | Sequence[str] | None = 'core_0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'ended_browser_sessions',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_ended_browser_sessions')),
    )
    op.create_index(
        op.f('ix_ended_browser_sessions_expires_at'), 'ended_browser_sessions', ['expires_at'], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f('ix_ended_browser_sessions_expires_at'), table_name='ended_browser_sessions')
    op.drop_table('ended_browser_sessions')
