"""orders may be refunded

Revision ID: demo_0002
Revises: demo_0001
Create Date: 2026-11-21 06:10:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = 'demo_0002'
down_revision: str | Sequence[str] | None = 'demo_0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_constraint(op.f('ck_orders_status'), 'orders', type_='check')
    op.create_check_constraint(
        op.f('ck_orders_status'),
        'orders',
        "status IN ('pending', 'processing', 'shipped', 'delivered', 'cancelled', 'refunded')",
    )


def downgrade() -> None:
    op.drop_constraint(op.f('ck_orders_status'), 'orders', type_='check')
    op.create_check_constraint(
        op.f('ck_orders_status'), 'orders', "status IN ('pending', 'processing', 'shipped', 'delivered', 'cancelled')"
    )
