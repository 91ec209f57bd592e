"""Read models: the catalog, statement versions, stance pairs, current stances, stance changes.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from service.store.types import UTCDateTime, json_type, position_type

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "actors",
        sa.Column("actor_id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("country", sa.String(2), nullable=True),
        sa.Column("role", sa.String(200), nullable=True),
        sa.Column("aliases", json_type(), nullable=False),
        sa.Column("wikidata_id", sa.String(20), nullable=True),
        sa.Column("registered_at", UTCDateTime(), nullable=False),
        sa.Column("updated_position", position_type(), nullable=False),
    )
    op.create_table(
        "topics",
        sa.Column("topic_id", sa.String(64), primary_key=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("proposition", sa.String(500), nullable=False),
        sa.Column("keywords", json_type(), nullable=False),
        sa.Column("cues", json_type(), nullable=False),
        sa.Column("defined_at", UTCDateTime(), nullable=False),
        sa.Column("updated_position", position_type(), nullable=False),
    )
    op.create_table(
        "statement_versions",
        sa.Column("statement_id", sa.Uuid(), primary_key=True),
        sa.Column("version_no", sa.Integer(), primary_key=True),
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
        sa.Column("caused_by_position", position_type(), nullable=False),
        sa.Column("caused_by_type", sa.String(40), nullable=False),
        sa.Column("known_from", UTCDateTime(), nullable=False),
        sa.Column("known_until", UTCDateTime(), nullable=True),
        sa.Column("known_until_position", position_type(), nullable=True),
    )
    op.create_index(
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
    op.create_index(
        "ix_statement_versions_open",
        "statement_versions",
        ["statement_id"],
        unique=True,
        sqlite_where=sa.text("known_until_position IS NULL"),
        postgresql_where=sa.text("known_until_position IS NULL"),
    )
    op.create_index(
        "ix_statement_versions_listing", "statement_versions", ["actor_id", "topic_id", "stated_at"]
    )
    op.create_index(
        "ix_statement_versions_caused_by",
        "statement_versions",
        ["caused_by_position"],
        unique=True,
    )
    op.create_table(
        "stance_pairs",
        sa.Column("actor_id", sa.String(64), primary_key=True),
        sa.Column("topic_id", sa.String(64), primary_key=True),
    )
    op.create_table(
        "current_stances",
        sa.Column("actor_id", sa.String(64), primary_key=True),
        sa.Column("topic_id", sa.String(64), primary_key=True),
        sa.Column("stance", sa.String(20), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("since", UTCDateTime(), nullable=False),
        sa.Column("statement_id", sa.Uuid(), nullable=False),
        sa.Column("previous_stance", sa.String(20), nullable=True),
        sa.Column("flip", sa.Boolean(), nullable=False),
        sa.Column("changed_position", position_type(), nullable=False),
        sa.Column("updated_position", position_type(), nullable=False),
    )
    op.create_index("ix_current_stances_topic", "current_stances", ["topic_id", "actor_id"])
    op.create_table(
        "stance_changes",
        sa.Column("position", position_type(), primary_key=True),
        sa.Column("actor_id", sa.String(64), primary_key=True),
        sa.Column("topic_id", sa.String(64), primary_key=True),
        sa.Column("from_stance", sa.String(20), nullable=True),
        sa.Column("to_stance", sa.String(20), nullable=True),
        sa.Column("flip", sa.Boolean(), nullable=False),
        sa.Column("statement_id", sa.Uuid(), nullable=True),
        sa.Column("previous_statement_id", sa.Uuid(), nullable=True),
        sa.Column("since", UTCDateTime(), nullable=True),
        sa.Column("event_type", sa.String(40), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
    )
    op.create_index(
        "ix_stance_changes_pair", "stance_changes", ["actor_id", "topic_id", "position"]
    )


def downgrade() -> None:
    for table in (
        "stance_changes",
        "current_stances",
        "stance_pairs",
        "statement_versions",
        "topics",
        "actors",
    ):
        op.drop_table(table)
