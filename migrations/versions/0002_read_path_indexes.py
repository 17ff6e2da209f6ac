"""read path indexes: message ids in the sender index

The outbox (and an inbox filtered by sender) lists a sender's documents newest first and, for a
counterpart filter, probes deliveries with each message id. With the id in
ix_messages_sender_received those pages and their counts are index-only scans; without it every
candidate document was read from the table (at 10 million messages: 0.6-2.7 s for one month to
one counterpart, down to under 0.1 s).

A plain CREATE INDEX: each revision runs in its own transaction (migrations/env.py), where
CREATE INDEX CONCURRENTLY cannot run. On a large archive run `axis db upgrade` in a quiet hour:
the rebuild holds off writes to messages while it runs (about 45 s at 10 million messages).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 00:40:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index('ix_messages_sender_received', table_name='messages')
    op.create_index('ix_messages_sender_received', 'messages', ['sender_id', 'kind', 'received_at', 'id'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_messages_sender_received', table_name='messages')
    op.create_index('ix_messages_sender_received', 'messages', ['sender_id', 'kind', 'received_at'], unique=False)
