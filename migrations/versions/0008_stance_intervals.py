"""Stance intervals: the bitemporal rectangles of each pair's stance, and their spatial index.

A new read model (see ``StanceIntervalRow``): for each (actor, topic), rectangles in valid time x
transaction time, each naming the statement version that answers there and the stance it flips
from, so the as-of matrix is one probe of a spatial index (an R*Tree on SQLite, GiST on
PostgreSQL, both from ``service.store.legacy_interval_index``) instead of a query per pair.

The table starts empty. On a database that already holds statements the upgrade leaves a
``REBUILD_MARKER`` checkpoint row, and the projector's first catch-up in any process (serve,
worker, ``stance projections catch-up``) sees it and rebuilds the read models, which fills the
table and removes the marker in one transaction; ``stance projections rebuild`` does the same at
once. Resetting the checkpoint instead would also refill it, but the catch-up loop would announce
every past stance change to the webhooks again; a rebuild announces nothing.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from service.projections import checkpoints
from service.store import legacy_interval_index
from service.store.types import UTCDateTime, json_type, position_type

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OPEN = "known_until_position IS NULL"


def upgrade() -> None:
    op.create_table(
        "stance_intervals",
        sa.Column("interval_id", position_type(), primary_key=True, autoincrement=False),
        sa.Column("actor_id", sa.String(64), nullable=False),
        sa.Column("topic_id", sa.String(64), nullable=False),
        sa.Column("valid_from", UTCDateTime(), nullable=False),
        sa.Column("valid_until", UTCDateTime(), nullable=True),
        sa.Column("known_from", UTCDateTime(), nullable=False),
        sa.Column("known_until", UTCDateTime(), nullable=True),
        sa.Column("known_from_position", position_type(), nullable=False),
        sa.Column("known_until_position", position_type(), nullable=True),
        sa.Column("statement_id", sa.Uuid(), nullable=False),
        sa.Column("version_position", position_type(), nullable=False),
        sa.Column("stance", sa.String(20), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("previous_stance", sa.String(20), nullable=True),
        sa.Column("flip", sa.Boolean(), nullable=False),
        sa.Column("quote", sa.String(), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("source", json_type(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
    )
    op.create_index(
        "ix_stance_intervals_open",
        "stance_intervals",
        ["actor_id", "topic_id", "valid_from"],
        unique=True,
        sqlite_where=sa.text(_OPEN),
        postgresql_where=sa.text(_OPEN),
    )
    op.create_index(
        "ix_stance_intervals_pair", "stance_intervals", ["actor_id", "topic_id", "valid_from"]
    )
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        legacy_interval_index.create_sqlite_rtree(bind)
    else:  # as this revision made it; 0009 replaces it
        bind.exec_driver_sql(legacy_interval_index.POSTGRES_INDEX_0008)
    if bind.execute(sa.text("SELECT 1 FROM statement_versions LIMIT 1")).first() is not None:
        checkpoints.require_rebuild(bind)


def downgrade() -> None:
    checkpoints.clear_rebuild_marker(op.get_bind())
    legacy_interval_index.drop(op.get_bind())
    op.drop_table("stance_intervals")
