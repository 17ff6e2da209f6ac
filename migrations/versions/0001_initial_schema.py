"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-21 21:16:05.328148
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('agencies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=13), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('organization_in_charge', sa.String(length=255), nullable=False),
    sa.Column('certificate_pem', sa.Text(), nullable=True),
    sa.Column('certificate_fingerprint', sa.String(length=64), nullable=True),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('endpoint_url', sa.String(length=1024), nullable=True),
    sa.Column('delivery_mode', sa.String(length=8), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agencies')),
    sa.UniqueConstraint('code', name=op.f('uq_agencies_code')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_agencies_token_hash'))
    )
    op.create_table('audit_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=128), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('subject', sa.String(length=128), nullable=False),
    sa.Column('details', sa.Text(), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_events')),
    sa.UniqueConstraint('hash', name=op.f('uq_audit_events_hash'))
    )
    op.create_table('audit_heads',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('event_id', sa.BigInteger(), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.Column('signed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('signed_xml', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_heads'))
    )
    op.create_table('blobs',
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('stored_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_checked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_outcome', sa.String(length=16), nullable=True),
    sa.Column('disposed_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('sha256', name=op.f('pk_blobs'))
    )
    op.create_index('ix_blobs_checked', 'blobs', ['last_checked_at'], unique=False)
    op.create_index('ix_blobs_stored', 'blobs', ['stored_at'], unique=False)

    op.create_table('disposals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('proposed_by', sa.String(length=64), nullable=False),
    sa.Column('proposed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('executed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('certificate_sha256', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_disposals'))
    )
    op.create_table('fixity_checks',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('checked_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fixity_checks'))
    )
    op.create_index('ix_fixity_checks_blob', 'fixity_checks', ['sha256', 'checked_at'], unique=False)

    op.create_table('job_leases',
    sa.Column('job', sa.String(length=64), nullable=False),
    sa.Column('holder', sa.String(length=128), nullable=True),
    sa.Column('until', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('job', name=op.f('pk_job_leases'))
    )
    op.create_table('job_runs',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('job', sa.String(length=64), nullable=False),
    sa.Column('node', sa.String(length=128), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_job_runs'))
    )
    op.create_index('ix_job_runs_job', 'job_runs', ['job', 'started_at'], unique=False)

    op.create_table('legal_holds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('authority', sa.String(length=255), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('query', sa.Text(), nullable=True),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('released_by', sa.String(length=64), nullable=True),
    sa.Column('released_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_legal_holds'))
    )
    op.create_table('login_attempts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('login', sa.String(length=64), nullable=False),
    sa.Column('address', sa.String(length=64), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_attempts'))
    )
    op.create_index('ix_login_attempts_address', 'login_attempts', ['address', 'at'], unique=False)
    op.create_index('ix_login_attempts_login', 'login_attempts', ['login', 'at'], unique=False)

    op.create_table('messages',
    sa.Column('id', sa.String(length=26), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('document_id', sa.String(length=255), nullable=False),
    sa.Column('sender_id', sa.Integer(), nullable=False),
    sa.Column('business_type', sa.SmallInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('subject', sa.Text(), nullable=False),
    sa.Column('code_number', sa.String(length=64), nullable=False),
    sa.Column('code_notation', sa.String(length=128), nullable=False),
    sa.Column('type_name', sa.String(length=128), nullable=False),
    sa.Column('type_abbreviation', sa.String(length=16), nullable=False),
    sa.Column('priority', sa.SmallInteger(), nullable=False),
    sa.Column('promulgation_date', sa.String(length=10), nullable=True),
    sa.Column('attachment_count', sa.Integer(), nullable=False),
    sa.Column('status_code', sa.String(length=2), nullable=True),
    sa.Column('response_for_id', sa.String(length=26), nullable=True),
    sa.Column('receipt_xml', sa.LargeBinary(), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['response_for_id'], ['messages.id'], name=op.f('fk_messages_response_for_id_messages')),
    sa.ForeignKeyConstraint(['sender_id'], ['agencies.id'], name=op.f('fk_messages_sender_id_agencies')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_messages')),
    sa.UniqueConstraint('sender_id', 'sha256', name='uq_messages_sender_sha256')
    )
    op.create_index('ix_messages_received_at', 'messages', ['received_at'], unique=False)
    op.create_index('ix_messages_response_for', 'messages', ['response_for_id'], unique=False)
    op.create_index('ix_messages_sender_document', 'messages', ['sender_id', 'document_id'], unique=False)
    op.create_index('ix_messages_sender_received', 'messages', ['sender_id', 'kind', 'received_at'], unique=False)
    op.create_index('uq_messages_new_document', 'messages', ['sender_id', 'document_id'], unique=True, postgresql_where=sa.text("kind = 'edoc' AND business_type = 0"), sqlite_where=sa.text("kind = 'edoc' AND business_type = 0"))

    op.create_table('monthly_stats',
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('sent', sa.Integer(), nullable=False),
    sa.Column('received', sa.Integer(), nullable=False),
    sa.Column('delivered', sa.Integer(), nullable=False),
    sa.Column('refused', sa.Integer(), nullable=False),
    sa.Column('failed', sa.Integer(), nullable=False),
    sa.Column('median_receipt_s', sa.Float(), nullable=True),
    sa.Column('p95_receipt_s', sa.Float(), nullable=True),
    sa.Column('bytes_in', sa.BigInteger(), nullable=False),
    sa.Column('storage_growth_bytes', sa.BigInteger(), nullable=False),
    sa.Column('disposed', sa.Integer(), nullable=False),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_monthly_stats_agency_id_agencies')),
    sa.PrimaryKeyConstraint('agency_id', 'month', name=op.f('pk_monthly_stats'))
    )
    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('login', sa.String(length=64), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('failed_logins', sa.Integer(), nullable=False),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_users_agency_id_agencies')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('login', name=op.f('uq_users_login'))
    )
    op.create_table('deliveries',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('message_id', sa.String(length=26), nullable=False),
    sa.Column('recipient_id', sa.Integer(), nullable=False),
    sa.Column('mode', sa.String(length=8), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('claimed_by', sa.String(length=64), nullable=True),
    sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('retrieved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('receipt_message_id', sa.String(length=26), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], name=op.f('fk_deliveries_message_id_messages')),
    sa.ForeignKeyConstraint(['receipt_message_id'], ['messages.id'], name=op.f('fk_deliveries_receipt_message_id_messages')),
    sa.ForeignKeyConstraint(['recipient_id'], ['agencies.id'], name=op.f('fk_deliveries_recipient_id_agencies')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deliveries')),
    sa.UniqueConstraint('message_id', 'recipient_id', name='uq_deliveries_message_recipient')
    )
    op.create_index('ix_deliveries_due', 'deliveries', ['state', 'next_attempt_at'], unique=False)
    op.create_index('ix_deliveries_inbox', 'deliveries', ['recipient_id', 'state', 'message_id'], unique=False)
    op.create_index(
        'ix_deliveries_waiting', 'deliveries', ['recipient_id', 'message_id'], unique=False,
        postgresql_where=sa.text("state IN ('queued', 'retrieved') AND mode = 'pull'"),
        sqlite_where=sa.text("state IN ('queued', 'retrieved') AND mode = 'pull'"),
    )

    op.create_table('disposal_approvals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('disposal_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('approved_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['disposal_id'], ['disposals.id'], name=op.f('fk_disposal_approvals_disposal_id_disposals')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_disposal_approvals_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_disposal_approvals')),
    sa.UniqueConstraint('disposal_id', 'user_id', name='uq_disposal_approvals_user')
    )
    op.create_table('disposal_items',
    sa.Column('disposal_id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.String(length=26), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=True),
    sa.ForeignKeyConstraint(['disposal_id'], ['disposals.id'], name=op.f('fk_disposal_items_disposal_id_disposals')),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], name=op.f('fk_disposal_items_message_id_messages')),
    sa.PrimaryKeyConstraint('disposal_id', 'message_id', name=op.f('pk_disposal_items'))
    )
    op.create_table('legal_hold_items',
    sa.Column('hold_id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.String(length=26), nullable=False),
    sa.ForeignKeyConstraint(['hold_id'], ['legal_holds.id'], name=op.f('fk_legal_hold_items_hold_id_legal_holds')),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], name=op.f('fk_legal_hold_items_message_id_messages')),
    sa.PrimaryKeyConstraint('hold_id', 'message_id', name=op.f('pk_legal_hold_items'))
    )
    op.create_table('register_entries',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('direction', sa.String(length=3), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.String(length=26), nullable=False),
    sa.Column('registered_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_register_entries_agency_id_agencies')),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], name=op.f('fk_register_entries_message_id_messages')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_register_entries')),
    sa.UniqueConstraint('agency_id', 'direction', 'message_id', name='uq_register_entries_message'),
    sa.UniqueConstraint('agency_id', 'direction', 'year', 'number', name='uq_register_entries_number')
    )
    op.create_table('retention_assignments',
    sa.Column('message_id', sa.String(length=26), nullable=False),
    sa.Column('schedule_code', sa.String(length=32), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=True),
    sa.Column('assigned_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('disposed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('disposal_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['disposal_id'], ['disposals.id'], name=op.f('fk_retention_assignments_disposal_id_disposals')),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], name=op.f('fk_retention_assignments_message_id_messages')),
    sa.PrimaryKeyConstraint('message_id', name=op.f('pk_retention_assignments'))
    )
    op.create_index('ix_retention_due', 'retention_assignments', ['due_date'], unique=False)

    op.create_table('statuses',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('document_message_id', sa.String(length=26), nullable=False),
    sa.Column('status_message_id', sa.String(length=26), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('status_code', sa.String(length=2), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('stated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_statuses_agency_id_agencies')),
    sa.ForeignKeyConstraint(['document_message_id'], ['messages.id'], name=op.f('fk_statuses_document_message_id_messages')),
    sa.ForeignKeyConstraint(['status_message_id'], ['messages.id'], name=op.f('fk_statuses_status_message_id_messages')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_statuses')),
    sa.UniqueConstraint('status_message_id', name=op.f('uq_statuses_status_message_id'))
    )
    op.create_index('ix_statuses_document', 'statuses', ['document_message_id', 'id'], unique=False)

    op.create_table('web_sessions',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('csrf_token', sa.String(length=64), nullable=False),
    sa.Column('language', sa.String(length=2), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_web_sessions_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_web_sessions'))
    )
    op.create_index('ix_web_sessions_user', 'web_sessions', ['user_id'], unique=False)



def downgrade() -> None:
    op.drop_index('ix_web_sessions_user', table_name='web_sessions')

    op.drop_table('web_sessions')
    op.drop_index('ix_statuses_document', table_name='statuses')

    op.drop_table('statuses')
    op.drop_index('ix_retention_due', table_name='retention_assignments')

    op.drop_table('retention_assignments')
    op.drop_table('register_entries')
    op.drop_table('legal_hold_items')
    op.drop_table('disposal_items')
    op.drop_table('disposal_approvals')
    op.drop_index('ix_deliveries_waiting', table_name='deliveries')
    op.drop_index('ix_deliveries_inbox', table_name='deliveries')
    op.drop_index('ix_deliveries_due', table_name='deliveries')

    op.drop_table('deliveries')
    op.drop_table('users')
    op.drop_table('monthly_stats')
    op.drop_index('uq_messages_new_document', table_name='messages', postgresql_where=sa.text("kind = 'edoc' AND business_type = 0"), sqlite_where=sa.text("kind = 'edoc' AND business_type = 0"))
    op.drop_index('ix_messages_sender_received', table_name='messages')
    op.drop_index('ix_messages_sender_document', table_name='messages')
    op.drop_index('ix_messages_response_for', table_name='messages')
    op.drop_index('ix_messages_received_at', table_name='messages')

    op.drop_table('messages')
    op.drop_index('ix_login_attempts_login', table_name='login_attempts')
    op.drop_index('ix_login_attempts_address', table_name='login_attempts')

    op.drop_table('login_attempts')
    op.drop_table('legal_holds')
    op.drop_index('ix_job_runs_job', table_name='job_runs')

    op.drop_table('job_runs')
    op.drop_table('job_leases')
    op.drop_index('ix_fixity_checks_blob', table_name='fixity_checks')

    op.drop_table('fixity_checks')
    op.drop_table('disposals')
    op.drop_index('ix_blobs_stored', table_name='blobs')
    op.drop_index('ix_blobs_checked', table_name='blobs')

    op.drop_table('blobs')
    op.drop_table('audit_heads')
    op.drop_table('audit_events')
    op.drop_table('agencies')
