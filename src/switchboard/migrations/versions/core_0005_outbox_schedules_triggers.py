"""notifications outbox, schedules and triggers

Revision ID: core_0005
Revises: core_0004
Create Date: 2026-11-28 00:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = 'core_0005'
down_revision: str | Sequence[str] | None = 'core_0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    
    op.create_table('webhook_endpoints',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('url', sa.String(length=2048), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('event_types', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('secret', sa.Text(), nullable=False),
    sa.Column('previous_secret', sa.Text(), nullable=True),
    sa.Column('previous_secret_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('failing_since', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_success_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('disabled_reason', sa.Text(), nullable=True),
    sa.Column('disabled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_webhook_endpoints_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_endpoints'))
    )
    op.create_index(op.f('ix_webhook_endpoints_user_id'), 'webhook_endpoints', ['user_id'], unique=False)
    op.create_table('schedules',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('api_key_id', sa.BigInteger(), nullable=True),
    sa.Column('agent', sa.String(length=100), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('cron', sa.String(length=200), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('thread_id', sa.Uuid(), nullable=True),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('end_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('metadata', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False),
    sa.Column('limits', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False),
    sa.Column('notify', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('next_fire_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_fired_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_run_id', sa.Uuid(), nullable=True),
    sa.Column('missed_ticks', sa.Integer(), server_default='0', nullable=False),
    sa.Column('last_missed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('disabled_reason', sa.Text(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['api_key_id'], ['api_keys.id'], name=op.f('fk_schedules_api_key_id_api_keys'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['thread_id'], ['threads.id'], name=op.f('fk_schedules_thread_id_threads'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_schedules_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_schedules'))
    )
    op.create_index('ix_schedules_due', 'schedules', ['next_fire_at'], unique=False, postgresql_where=sa.text('enabled'))
    op.create_index('ix_schedules_user', 'schedules', ['user_id', 'created_at', 'id'], unique=False)
    op.create_table('triggers',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('api_key_id', sa.BigInteger(), nullable=True),
    sa.Column('agent', sa.String(length=100), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('instructions', sa.Text(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('thread_id', sa.Uuid(), nullable=True),
    sa.Column('notify', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('signature', sa.String(length=16), nullable=False),
    sa.Column('secret', sa.Text(), nullable=False),
    sa.Column('previous_secret', sa.Text(), nullable=True),
    sa.Column('previous_secret_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("signature IN ('standard', 'github')", name=op.f('ck_triggers_signature')),
    sa.ForeignKeyConstraint(['api_key_id'], ['api_keys.id'], name=op.f('fk_triggers_api_key_id_api_keys'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['thread_id'], ['threads.id'], name=op.f('fk_triggers_thread_id_threads'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_triggers_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_triggers'))
    )
    op.create_index('ix_triggers_user', 'triggers', ['user_id', 'created_at', 'id'], unique=False)
    op.create_table('outbox_messages',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('run_id', sa.Uuid(), nullable=True),
    sa.Column('type', sa.String(length=100), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], name=op.f('fk_outbox_messages_run_id_runs'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_outbox_messages_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox_messages'))
    )
    op.create_index(op.f('ix_outbox_messages_run_id'), 'outbox_messages', ['run_id'], unique=False)
    op.create_table('trigger_events',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('trigger_id', sa.Uuid(), nullable=False),
    sa.Column('event_id', sa.String(length=200), nullable=False),
    sa.Column('run_id', sa.Uuid(), nullable=True),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('body_sha256', sa.String(length=64), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], name=op.f('fk_trigger_events_run_id_runs'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['trigger_id'], ['triggers.id'], name=op.f('fk_trigger_events_trigger_id_triggers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_trigger_events')),
    sa.UniqueConstraint('trigger_id', 'event_id', name=op.f('uq_trigger_events_trigger_id_event_id')),
    sa.UniqueConstraint('trigger_id', 'body_sha256', name=op.f('uq_trigger_events_trigger_id_body_sha256'))
    )
    op.create_index('ix_trigger_events_trigger', 'trigger_events', ['trigger_id', 'id'], unique=False)
    op.create_index('ix_trigger_events_run', 'trigger_events', ['run_id'], unique=False)
    op.create_table('deliveries',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('message_id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('endpoint_id', sa.Uuid(), nullable=True),
    sa.Column('target', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=True),
    sa.Column('lease_owner', sa.String(length=200), nullable=True),
    sa.Column('last_status_code', sa.Integer(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("channel IN ('webhook', 'slack', 'email')", name=op.f('ck_deliveries_channel')),
    sa.CheckConstraint("status IN ('pending', 'failed', 'succeeded', 'dead')", name=op.f('ck_deliveries_status')),
    sa.ForeignKeyConstraint(['endpoint_id'], ['webhook_endpoints.id'], name=op.f('fk_deliveries_endpoint_id_webhook_endpoints'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['message_id'], ['outbox_messages.id'], name=op.f('fk_deliveries_message_id_outbox_messages'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_deliveries_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deliveries'))
    )
    op.create_index('ix_deliveries_due', 'deliveries', ['next_attempt_at'], unique=False, postgresql_where=sa.text("status IN ('pending', 'failed')"))
    op.create_index('ix_deliveries_endpoint', 'deliveries', ['endpoint_id', 'created_at'], unique=False)
    op.create_index(op.f('ix_deliveries_message_id'), 'deliveries', ['message_id'], unique=False)
    op.create_table('delivery_attempts',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('delivery_id', sa.Uuid(), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('duration_ms', sa.Float(), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=True),
    sa.Column('response_excerpt', sa.Text(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['delivery_id'], ['deliveries.id'], name=op.f('fk_delivery_attempts_delivery_id_deliveries'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_delivery_attempts'))
    )
    op.create_index('ix_delivery_attempts_delivery', 'delivery_attempts', ['delivery_id', 'attempt'], unique=False)
    op.add_column('runs', sa.Column('notify', postgresql.JSONB(astext_type=sa.Text()), nullable=True))
    op.add_column('runs', sa.Column('schedule_id', sa.Uuid(), nullable=True))
    op.add_column('runs', sa.Column('scheduled_for', sa.DateTime(timezone=True), nullable=True))
    op.add_column('runs', sa.Column('trigger_id', sa.Uuid(), nullable=True))
    op.create_index('ix_runs_schedule', 'runs', ['schedule_id', 'created_at'], unique=False, postgresql_where=sa.text('schedule_id IS NOT NULL'))
    op.create_index('ix_runs_trigger', 'runs', ['trigger_id'], unique=False, postgresql_where=sa.text('trigger_id IS NOT NULL'))
    op.create_index('uq_runs_schedule_tick', 'runs', ['schedule_id', 'scheduled_for'], unique=True, postgresql_where=sa.text('scheduled_for IS NOT NULL'))
    op.create_foreign_key(op.f('fk_runs_schedule_id_schedules'), 'runs', 'schedules', ['schedule_id'], ['id'], ondelete='SET NULL')
    op.create_foreign_key(op.f('fk_runs_trigger_id_triggers'), 'runs', 'triggers', ['trigger_id'], ['id'], ondelete='SET NULL')



def downgrade() -> None:
    
    op.drop_constraint(op.f('fk_runs_trigger_id_triggers'), 'runs', type_='foreignkey')
    op.drop_constraint(op.f('fk_runs_schedule_id_schedules'), 'runs', type_='foreignkey')
    op.drop_index('uq_runs_schedule_tick', table_name='runs', postgresql_where=sa.text('scheduled_for IS NOT NULL'))
    op.drop_index('ix_runs_trigger', table_name='runs', postgresql_where=sa.text('trigger_id IS NOT NULL'))
    op.drop_index('ix_runs_schedule', table_name='runs', postgresql_where=sa.text('schedule_id IS NOT NULL'))
    op.drop_column('runs', 'trigger_id')
    op.drop_column('runs', 'scheduled_for')
    op.drop_column('runs', 'schedule_id')
    op.drop_column('runs', 'notify')
    op.drop_index('ix_delivery_attempts_delivery', table_name='delivery_attempts')
    op.drop_table('delivery_attempts')
    op.drop_index(op.f('ix_deliveries_message_id'), table_name='deliveries')
    op.drop_index('ix_deliveries_endpoint', table_name='deliveries')
    op.drop_index('ix_deliveries_due', table_name='deliveries', postgresql_where=sa.text("status IN ('pending', 'failed')"))
    op.drop_table('deliveries')
    op.drop_index('ix_trigger_events_run', table_name='trigger_events')
    op.drop_index('ix_trigger_events_trigger', table_name='trigger_events')
    op.drop_table('trigger_events')
    op.drop_index(op.f('ix_outbox_messages_run_id'), table_name='outbox_messages')
    op.drop_table('outbox_messages')
    op.drop_index('ix_triggers_user', table_name='triggers')
    op.drop_table('triggers')
    op.drop_index('ix_schedules_user', table_name='schedules')
    op.drop_index('ix_schedules_due', table_name='schedules', postgresql_where=sa.text('enabled'))
    op.drop_table('schedules')
    op.drop_index(op.f('ix_webhook_endpoints_user_id'), table_name='webhook_endpoints')
    op.drop_table('webhook_endpoints')

