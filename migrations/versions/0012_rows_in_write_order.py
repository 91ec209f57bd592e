"""The versions keyed by the event that made them, and the rectangles by no digest: rows stored
in the order they are written.

``statement_versions`` was keyed by (statement_id, version_no), a random UUID first; it is now
keyed by ``caused_by_position``, which names a version on its own (an event makes at most one),
and on SQLite is the rowid. (statement_id, version_no) stays unique, as an index; the separate
unique index on ``caused_by_position`` goes, being the key now. ``stance_intervals`` was keyed by
``interval_id``, a digest, so in random order; it now has no primary key (SQLite gives its rows
a rowid of their own), the id is a unique index, and the interval tree's four indexes hold the
id as their last column (on SQLite the rowid they held was the id). Versions and rectangles are
made in log order, so every write now lands at the right-hand edge of its table, and a rebuild
loads both without sorting them by a key unrelated to where their values lie in memory (see
``StatementVersionRow`` and ``STANCE_INTERVALS``).

No value changes, so the rows are copied as they are, in the new key's order, and nothing needs
a rebuild. The downgrade puts 0011's keys back the same way.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from alembic import op

from service.store.types import UTCDateTime, json_type, position_type

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OPEN = "known_until_position IS NULL"
_CLOSED = "known_until_position IS NOT NULL"


@dataclass(frozen=True)
class _IndexSpec:
    name: str
    columns: list[str]
    unique: bool = False
    where: str | None = None
    include: list[str] = field(default_factory=list)


def upgrade() -> None:
    _remake(
        "statement_versions",
        _version_columns(keyed_by_position=True),
        order="caused_by_position",
        indexes=_version_indexes(
            _IndexSpec(
                "ix_statement_versions_statement", ["statement_id", "version_no"], unique=True
            )
        ),
    )
    _remake(
        "stance_intervals",
        _interval_columns(keyed=False),
        order="known_from_position, interval_id",
        indexes=[
            _IndexSpec("ix_stance_intervals_id", ["interval_id"], unique=True),
            *_pair_indexes(),
            *_tree_indexes(id_as_key=True),
        ],
    )


def downgrade() -> None:
    _remake(
        "statement_versions",
        _version_columns(keyed_by_position=False),
        order="statement_id, version_no",
        indexes=_version_indexes(
            _IndexSpec("ix_statement_versions_caused_by", ["caused_by_position"], unique=True)
        ),
    )
    _remake(
        "stance_intervals",
        _interval_columns(keyed=True),
        order="interval_id",
        indexes=[*_pair_indexes(), *_tree_indexes(id_as_key=False)],
    )


def _remake(
    name: str, columns: list[sa.Column[Any]], *, order: str, indexes: list[_IndexSpec]
) -> None:
    """Make table ``name`` again with ``columns`` (their keys included) and ``indexes``, its rows
    copied over in ``order``. SQLite cannot change a table's key in place; PostgreSQL could, but
    one way for both is one way to test, and the copy is what a rebuild would write anyway."""
    bind = op.get_bind()
    inspector = sa.inspect(bind)
    for index in inspector.get_indexes(name):
        op.drop_index(str(index["name"]), table_name=name)
    key = inspector.get_pk_constraint(name).get("name")
    if key and bind.dialect.name == "postgresql":  # its name would clash with the new table's
        op.drop_constraint(key, name, type_="primary")
    old = f"_old_{name}"
    op.rename_table(name, old)
    op.create_table(name, *columns)
    names = ", ".join(column.name for column in columns)
    op.execute(f"INSERT INTO {name} ({names}) SELECT {names} FROM {old} ORDER BY {order}")
    op.drop_table(old)
    for spec in indexes:
        op.create_index(
            spec.name,
            name,
            spec.columns,
            unique=spec.unique,
            sqlite_where=sa.text(spec.where) if spec.where else None,
            postgresql_where=sa.text(spec.where) if spec.where else None,
            postgresql_include=spec.include,
        )


def _version_columns(*, keyed_by_position: bool) -> list[sa.Column[Any]]:
    """``statement_versions`` as 0003 made it, keyed by position or by (statement, number)."""
    by_statement = not keyed_by_position
    return [
        sa.Column("statement_id", sa.Uuid(), primary_key=by_statement, nullable=False),
        sa.Column("version_no", sa.Integer(), primary_key=by_statement, nullable=False),
        sa.Column("actor_id", sa.String(64), nullable=False),
        sa.Column("topic_id", sa.String(64), nullable=False),
        sa.Column("stance", sa.String(20), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("quote", sa.String(), nullable=False),
        sa.Column("stated_at", UTCDateTime(), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("source", json_type(), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("method", sa.String(20), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("counts", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.String(), nullable=True),
        sa.Column("recorded_position", position_type(), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.Column(
            "caused_by_position",
            position_type(),
            primary_key=keyed_by_position,
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("caused_by_type", sa.String(40), nullable=False),
        sa.Column("known_from", UTCDateTime(), nullable=False),
        sa.Column("known_until", UTCDateTime(), nullable=True),
        sa.Column("known_until_position", position_type(), nullable=True),
    ]


def _interval_columns(*, keyed: bool) -> list[sa.Column[Any]]:
    """``stance_intervals`` as 0010 made it, keyed by the id or by nothing."""
    return [
        sa.Column(
            "interval_id", position_type(), primary_key=keyed, autoincrement=False, nullable=False
        ),
        sa.Column("actor_id", sa.String(64), nullable=False),
        sa.Column("topic_id", sa.String(64), nullable=False),
        sa.Column("valid_node", position_type(), nullable=False),
        sa.Column("valid_lo", position_type(), nullable=False),
        sa.Column("valid_hi", position_type(), nullable=False),
        sa.Column("known_from_position", position_type(), nullable=False),
        sa.Column("known_until_position", position_type(), nullable=True),
        sa.Column("version_position", position_type(), nullable=False),
        sa.Column("previous_stance", sa.String(20), nullable=True),
    ]


def _version_indexes(unkeyed: _IndexSpec) -> list[_IndexSpec]:
    """The versions' indexes: the two both forms have, and the unique one on whichever of
    position or (statement, number) is not the key."""
    return [
        _IndexSpec("ix_statement_versions_open", ["statement_id"], unique=True, where=_OPEN),
        _IndexSpec("ix_statement_versions_listing", ["actor_id", "topic_id", "stated_at"]),
        unkeyed,
    ]


def _pair_indexes() -> list[_IndexSpec]:
    pair = ["actor_id", "topic_id", "valid_lo"]
    return [
        _IndexSpec("ix_stance_intervals_open", pair, unique=True, where=_OPEN),
        _IndexSpec("ix_stance_intervals_pair", pair),
    ]


def _tree_indexes(*, id_as_key: bool) -> list[_IndexSpec]:
    """The interval tree's indexes; 0010 made them with the id included on PostgreSQL (SQLite's
    entries held it as the rowid), 0012 with the id as their last column on both."""
    specs = []
    for half, where, until in (("open", _OPEN, []), ("closed", _CLOSED, ["known_until_position"])):
        for bound in ("hi", "lo"):
            columns = ["valid_node", f"valid_{bound}", "known_from_position", *until]
            specs.append(
                _IndexSpec(
                    f"ix_stance_intervals_{half}_{bound}",
                    [*columns, "interval_id"] if id_as_key else columns,
                    where=where,
                    include=[] if id_as_key else ["interval_id"],
                )
            )
    return specs
