"""application context on threads

Revision ID: core_0007
Revises: core_0006
Create Date: 2026-11-28 02:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = 'core_0007'
down_revision: str | Sequence[str] | None = 'core_0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('threads', sa.Column('context', postgresql.JSONB(none_as_null=True), nullable=True))


def downgrade() -> None:
    op.drop_column('threads', 'context')
