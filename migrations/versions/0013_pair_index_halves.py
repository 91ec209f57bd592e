"""The rectangles' pair index over the closed half only, and the read models' actor and topic
ids compared byte by byte on PostgreSQL.

``ix_stance_intervals_pair`` indexed every rectangle by (actor_id, topic_id, valid_lo), where the
open ones already have ``ix_stance_intervals_open`` on the same columns: two in five of its
entries repeated that index. It becomes ``ix_stance_intervals_pair_closed``, over the closed
rectangles only, and a replay of a few pairs reads a range of each half (``queries.stances``).

On PostgreSQL the ``actor_id`` and ``topic_id`` columns of the read models take ``COLLATE "C"``
(``service.store.types.slug_type``): the order SQLite and the matrix's sort in Python already
use, whatever collation the server was set up with, and cheaper to sort by. The indexes on them
are rebuilt by the change; no value changes, and nothing needs a rebuild.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CLOSED = "known_until_position IS NOT NULL"
_PAIR_COLUMNS = ["actor_id", "topic_id", "valid_lo"]
_IDS = {
    "actors": ["actor_id"],
    "topics": ["topic_id"],
    "statement_versions": ["actor_id", "topic_id"],
    "stance_intervals": ["actor_id", "topic_id"],
    "stance_pairs": ["actor_id", "topic_id"],
    "current_stances": ["actor_id", "topic_id"],
    "stance_changes": ["actor_id", "topic_id"],
}
"""The columns holding actor and topic ids in each read model."""


def upgrade() -> None:
    op.drop_index("ix_stance_intervals_pair", table_name="stance_intervals")
    op.create_index(
        "ix_stance_intervals_pair_closed",
        "stance_intervals",
        _PAIR_COLUMNS,
        sqlite_where=sa.text(_CLOSED),
        postgresql_where=sa.text(_CLOSED),
    )
    _collate('"C"')


def downgrade() -> None:
    _collate('"default"')
    op.drop_index("ix_stance_intervals_pair_closed", table_name="stance_intervals")
    op.create_index("ix_stance_intervals_pair", "stance_intervals", _PAIR_COLUMNS)


def _collate(collation: str) -> None:
    """Give the id columns ``collation`` on PostgreSQL, one statement per table, so each table's
    indexes are rebuilt once; SQLite compares text by its bytes already."""
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, columns in _IDS.items():
        changes = ", ".join(
            f"ALTER COLUMN {column} TYPE varchar(64) COLLATE {collation}" for column in columns
        )
        op.execute(f"ALTER TABLE {table} {changes}")
