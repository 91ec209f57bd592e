"""Feeds: what to poll, the state of each poll, and the items already seen.

``claimed_until``/``claim_token`` are the poller's lease: a worker claims a due feed by setting
both, and only the holder of the token may write the poll's outcome, so two workers never poll one
feed at once and a killed worker's claim simply runs out.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from service.store.types import UTCDateTime

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "feeds",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("url", sa.String(2048), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("name", sa.String(200), nullable=True),
        sa.Column("interval_seconds", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("stopped", sa.Boolean(), nullable=False),
        sa.Column("etag", sa.String(500), nullable=True),
        sa.Column("last_modified", sa.String(100), nullable=True),
        sa.Column("last_poll_at", UTCDateTime(), nullable=True),
        sa.Column("last_success_at", UTCDateTime(), nullable=True),
        sa.Column("last_outcome", sa.String(20), nullable=True),
        sa.Column("last_http_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(1000), nullable=True),
        sa.Column("last_warning", sa.String(1000), nullable=True),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.Column("next_poll_at", UTCDateTime(), nullable=False),
        sa.Column("schedule_reason", sa.String(300), nullable=True),
        sa.Column("claimed_until", UTCDateTime(), nullable=True),
        sa.Column("claim_token", sa.Uuid(), nullable=True),
        sa.Column("items_seen", sa.Integer(), nullable=False),
        sa.Column("statements_produced", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
    )
    op.create_index("ix_feeds_due", "feeds", ["active", "next_poll_at"])
    # One live feed per URL; a deleted feed keeps its row (and items) and frees the URL.
    op.create_index(
        "uq_feeds_active_url",
        "feeds",
        ["url"],
        unique=True,
        sqlite_where=sa.text("active"),
        postgresql_where=sa.text("active"),
    )
    op.create_index("ix_feeds_created", "feeds", ["created_at", "id"])
    op.create_table(
        "feed_items",
        sa.Column("feed_id", sa.Uuid(), sa.ForeignKey("feeds.id"), primary_key=True),
        sa.Column("guid_hash", sa.String(64), primary_key=True),
        sa.Column("link", sa.String(2048), nullable=True),
        sa.Column("title", sa.String(1000), nullable=True),
        sa.Column("first_seen_at", UTCDateTime(), nullable=False),
        sa.Column("statements", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("feed_items")
    op.drop_table("feeds")
