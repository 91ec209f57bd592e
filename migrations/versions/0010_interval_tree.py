"""The as-of replay on an interval tree in ordinary indexes, instead of an R*Tree or GiST.

``stance_intervals`` gains ``valid_node``, ``valid_lo`` and ``valid_hi`` (the valid range in
whole microseconds and its node in the tree; see ``service.store.interval_index``) and four
B-tree indexes on them (two over the open rectangles, two over the closed ones), and loses the
spatial index: SQLite's R*Tree with its triggers, and PostgreSQL's GiST index. A rebuild fills
B-trees by sorting, which took the index work of 514,000 rectangles from 6.0 s (R*Tree) and
8.6 s (GiST) to about a second. The rectangles also stop copying their version's columns
(quote, source, stance, ...) and the transaction times: they name the version, and the
transaction range is log positions only. The stance-rule index of ``statement_versions`` goes
too: no query has searched it since 0008, and every write and rebuild still paid for its eight
columns.

The new columns are computed from the stance rule, not from SQL, so the table is emptied and
made again, and on a database holding statements the upgrade leaves the ``REBUILD_MARKER``: the
first catch-up of any process (or ``stance projections rebuild``) refills it from the log, as
after 0008, announcing nothing to the webhooks. The downgrade does the same towards 0009's form.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from service.projections import checkpoints
from service.store import legacy_interval_index
from service.store.types import UTCDateTime, json_type, position_type

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OPEN = "known_until_position IS NULL"


def upgrade() -> None:
    bind = op.get_bind()
    legacy_interval_index.drop(bind)
    op.drop_table("stance_intervals")
    op.create_table(
        "stance_intervals",
        sa.Column("interval_id", position_type(), primary_key=True, autoincrement=False),
        sa.Column("actor_id", sa.String(64), nullable=False),
        sa.Column("topic_id", sa.String(64), nullable=False),
        sa.Column("valid_node", position_type(), nullable=False),
        sa.Column("valid_lo", position_type(), nullable=False),
        sa.Column("valid_hi", position_type(), nullable=False),
        sa.Column("known_from_position", position_type(), nullable=False),
        sa.Column("known_until_position", position_type(), nullable=True),
        sa.Column("version_position", position_type(), nullable=False),
        sa.Column("previous_stance", sa.String(20), nullable=True),
    )
    _pair_indexes("valid_lo")
    for half, where, until in (
        ("open", "known_until_position IS NULL", []),
        ("closed", "known_until_position IS NOT NULL", ["known_until_position"]),
    ):
        for bound in ("hi", "lo"):
            op.create_index(
                f"ix_stance_intervals_{half}_{bound}",
                "stance_intervals",
                ["valid_node", f"valid_{bound}", "known_from_position", *until],
                sqlite_where=sa.text(where),
                postgresql_where=sa.text(where),
                postgresql_include=["interval_id"],  # SQLite's entries hold it as the rowid
            )
    op.drop_index("ix_statement_versions_stance_rule", table_name="statement_versions")
    _mark_for_rebuild()


def downgrade() -> None:
    bind = op.get_bind()
    op.create_index(  # as 0003 made it
        "ix_statement_versions_stance_rule",
        "statement_versions",
        [
            "actor_id",
            "topic_id",
            "stated_at",
            "recorded_position",
            "known_from",
            "known_until",
            "stance",
            "caused_by_position",
        ],
        sqlite_where=sa.text("counts"),
        postgresql_where=sa.text("counts"),
    )
    op.drop_table("stance_intervals")
    op.create_table(  # as 0008 made it
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
    _pair_indexes("valid_from")
    if bind.dialect.name == "sqlite":
        legacy_interval_index.create_sqlite_rtree(bind)
    else:
        bind.exec_driver_sql(legacy_interval_index.POSTGRES_INDEX_0009)
    _mark_for_rebuild()


def _pair_indexes(valid_start: str) -> None:
    """The open rectangles of a pair by where they start (unique), and all of them."""
    op.create_index(
        "ix_stance_intervals_open",
        "stance_intervals",
        ["actor_id", "topic_id", valid_start],
        unique=True,
        sqlite_where=sa.text(_OPEN),
        postgresql_where=sa.text(_OPEN),
    )
    op.create_index(
        "ix_stance_intervals_pair", "stance_intervals", ["actor_id", "topic_id", valid_start]
    )


def _mark_for_rebuild() -> None:
    """Leave the marker that makes the next catch-up rebuild, if there is history to replay."""
    bind = op.get_bind()
    if bind.execute(sa.text("SELECT 1 FROM statement_versions LIMIT 1")).first() is not None:
        checkpoints.require_rebuild(bind)
