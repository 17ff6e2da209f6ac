"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-21 21:09:42.098656
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
    op.create_index('ix_messages_sender_received', 'messages', ['sender_id', 'received_at'], unique=False)
    op.create_index(
        'uq_messages_new_document', 'messages', ['sender_id', 'document_id'], unique=True,
        postgresql_where=sa.text("kind = 'edoc' AND business_type = 0"),
        sqlite_where=sa.text("kind = 'edoc' AND business_type = 0"),
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




def downgrade() -> None:

    op.drop_index('ix_statuses_document', table_name='statuses')

    op.drop_table('statuses')
    op.drop_index('ix_deliveries_inbox', table_name='deliveries')
    op.drop_index('ix_deliveries_due', table_name='deliveries')

    op.drop_table('deliveries')
    op.drop_table('users')
    op.drop_index('ix_messages_sender_received', table_name='messages')
    op.drop_index('uq_messages_new_document', table_name='messages')
    op.drop_index('ix_messages_sender_document', table_name='messages')
    op.drop_index('ix_messages_response_for', table_name='messages')
    op.drop_index('ix_messages_received_at', table_name='messages')

    op.drop_table('messages')
    op.drop_table('audit_events')
    op.drop_table('agencies')

