"""whether a run streams its model's tokens

Revision ID: core_0004
Revises: core_0003
Create Date: 2026-11-27 23:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'core_0004'
down_revision: str | Sequence[str] | None = 'core_0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # False: the run asks the model for each response whole (its requester waits for the whole answer anyway).
    op.add_column('runs', sa.Column('stream_tokens', sa.Boolean(), server_default=sa.true(), nullable=False))


def downgrade() -> None:
    op.drop_column('runs', 'stream_tokens')
