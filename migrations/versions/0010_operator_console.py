"""operator console: message search, people management

Indexes for the operators' hub-wide message search (DocumentId, SHA-256, a sender's and a
recipient's messages newest first by id, documents' subject text by trigrams on PostgreSQL), the audit entries
of one message,
and a table of push attempts that did not deliver (time, outcome, error) for a message's story.

pg_trgm is a trusted extension in PostgreSQL 13+ (a database owner may create it); where it cannot
be created the subject index is left out and the search reads subjects without it.

A plain CREATE INDEX, as in 0002: on a large archive run `axis db upgrade` in a quiet hour.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _trigrams_available() -> bool:
    """Create pg_trgm if it is not there yet; False when this role may not (the subject index is then skipped)."""
    bind = op.get_bind()
    nested = bind.begin_nested()
    try:
        bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
    except sa.exc.DBAPIError:
        nested.rollback()
        return False
    nested.commit()
    return True


def upgrade() -> None:
    op.create_index('ix_messages_document_id', 'messages', ['document_id'], unique=False)
    op.create_index('ix_messages_sha256', 'messages', ['sha256'], unique=False)
    op.create_index('ix_messages_sender_id', 'messages', ['sender_id', 'id'], unique=False)
    op.create_index('ix_deliveries_recipient_message', 'deliveries', ['recipient_id', 'message_id'], unique=False)
    if op.get_bind().dialect.name == 'postgresql':
        if _trigrams_available():
            op.create_index('ix_messages_subject_trgm', 'messages', ['subject'], unique=False,
                            postgresql_using='gin', postgresql_ops={'subject': 'gin_trgm_ops'},
                            postgresql_where=sa.text("kind = 'edoc'"))
    else:
        # Same name, column and predicate as the model; SQLite searches subjects with LIKE, reading the table.
        op.create_index('ix_messages_subject_trgm', 'messages', ['subject'], unique=False,
                        sqlite_where=sa.text("kind = 'edoc'"))
    op.create_index('ix_audit_events_subject', 'audit_events', ['subject'], unique=False)
    op.create_table('delivery_attempts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('delivery_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('error', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['delivery_id'], ['deliveries.id'],
                            name=op.f('fk_delivery_attempts_delivery_id_deliveries')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_delivery_attempts'))
    )
    op.create_index('ix_delivery_attempts_delivery', 'delivery_attempts', ['delivery_id', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_delivery_attempts_delivery', table_name='delivery_attempts')
    op.drop_table('delivery_attempts')
    op.drop_index('ix_audit_events_subject', table_name='audit_events')
    op.execute(sa.text('DROP INDEX IF EXISTS ix_messages_subject_trgm'))
    op.drop_index('ix_deliveries_recipient_message', table_name='deliveries')
    op.drop_index('ix_messages_sender_id', table_name='messages')
    op.drop_index('ix_messages_sha256', table_name='messages')
    op.drop_index('ix_messages_document_id', table_name='messages')
