"""registry version: a counter every change to the agencies table moves (triggers)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 08:00:00

Each axis process keeps the registry (agencies, tokens, certificates) in memory and reloads it
when this counter moves; triggers bump it in the same transaction as any change to ``agencies``,
whoever makes it (the CLI, the web UI, another node, an operator's SQL).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_EVENTS = ("INSERT", "UPDATE", "DELETE")


def upgrade() -> None:
    op.create_table('registry_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_registry_version'))
    )
    op.execute("INSERT INTO registry_version (id, version) VALUES (1, 1)")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION bump_registry_version() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN UPDATE registry_version SET version = version + 1 WHERE id = 1; RETURN NULL; END $$"
        )
        op.execute(
            "CREATE TRIGGER agencies_bump_registry_version AFTER INSERT OR UPDATE OR DELETE ON agencies "
            "FOR EACH STATEMENT EXECUTE FUNCTION bump_registry_version()"
        )
    else:
        for event in _EVENTS:
            op.execute(
                f"CREATE TRIGGER agencies_bump_registry_version_{event.lower()} AFTER {event} ON agencies "
                "BEGIN UPDATE registry_version SET version = version + 1 WHERE id = 1; END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER agencies_bump_registry_version ON agencies")
        op.execute("DROP FUNCTION bump_registry_version()")
    else:
        for event in _EVENTS:
            op.execute(f"DROP TRIGGER agencies_bump_registry_version_{event.lower()}")
    op.drop_table('registry_version')
